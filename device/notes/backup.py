"""`reflect backup DEST`: an incremental, verified copy of the finished sessions into DEST/sessions.

DEST is laid out as a data dir, so `--data-dir DEST` reads it and `reflect restore DEST` brings it back.
Files go across as they are (sealed ones stay sealed), each read back from DEST and checked by size and
SHA-256. DEST/reflect-backup.json, the manifest, lists every file the backups wrote with its size, hash and
time: a later run copies only what changed since, and removes or replaces only files it lists.
A session being recorded is skipped; one the device no longer has stays in the backup.
"""

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import BackupRefused, SessionDamaged
from common.files import atomic_write_text, fsync_dir, new_private_dir, output_dir
from device.notes import record
from device.notes.record import RECORD_NAME, DataLayout
from device.notes.verified_copy import FileCopy, copy_verified, file_sha256

MANIFEST_NAME = "reflect-backup.json"
MANIFEST_VERSION = 1
CHANGED = "changed while being copied; the next backup finishes it"
SAVE_EVERY_S = 5.0
"""While a long first backup runs, the manifest is saved this often, so an interrupted run is resumed."""


def plural(count: int, noun: str) -> str:
    """ "1 session", "2 sessions"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


@dataclass
class Manifest:
    """What the backups in one folder wrote: "session/file" -> its size, SHA-256 and modification time."""

    path: Path
    files: dict[str, FileCopy] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> "Manifest":
        """The manifest in `folder`, or an empty one if it has none."""
        path = Path(folder) / MANIFEST_NAME
        try:
            raw = json.loads(path.read_bytes())
            return cls(path, {name: FileCopy(**entry) for name, entry in raw["files"].items()})
        except FileNotFoundError:
            return cls(path)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise BackupRefused(f"{path} is damaged; move it away and back up into a new folder") from None

    @classmethod
    def for_backup(cls, dest: Path) -> "Manifest":
        """DEST's manifest; BackupRefused for a folder with sessions no backup wrote."""
        manifest = cls.read(dest)
        if not manifest.path.exists() and DataLayout(Path(dest)).sessions.exists():
            raise BackupRefused(
                f"{dest} holds sessions that no `reflect backup` wrote; choose a new or empty folder for backups"
            )
        return manifest

    def save(self) -> None:
        entries = {name: vars(copy) for name, copy in sorted(self.files.items())}
        atomic_write_text(self.path, json.dumps({"version": MANIFEST_VERSION, "files": entries}, indent=1) + "\n")

    def of_session(self, session_id: str) -> dict[str, FileCopy]:
        """The listed files of one session, by file name."""
        prefix = session_id + "/"
        return {key[len(prefix) :]: copy for key, copy in self.files.items() if key.startswith(prefix)}

    def sessions(self) -> set[str]:
        return {key.split("/", 1)[0] for key in self.files}


@dataclass
class BackupReport:
    """What one run did: sessions copied (id, files, bytes), unchanged, skipped (with why) and kept."""

    source: Path
    dest: Path
    copied: list[tuple[str, int, int]] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        files = sum(n for _, n, _ in self.copied)
        size = sum(b for _, _, b in self.copied)
        lines = [f"Backing up {self.source} to {self.dest}:"]
        lines += [f"  copied  {session_id}: {plural(n, 'file')}, {megabytes(b)}" for session_id, n, b in self.copied]
        lines += [f"  skipped {line}" for line in self.skipped]
        lines.append(
            f"Copied {plural(files, 'file')} ({megabytes(size)}) of {plural(len(self.copied), 'session')}; "
            "each was read back from the backup and verified (size and SHA-256)."
            if files
            else "Copied nothing new."
        )
        lines.append(f"Unchanged since the last backup: {plural(self.unchanged, 'session')} (same size and time).")
        if self.skipped:
            lines.append(
                f"Skipped {plural(len(self.skipped), 'session')} (above); the next backup takes "
                f"{'it' if len(self.skipped) == 1 else 'them'} once finished."
            )
        if self.kept:
            lines.append(
                f"Kept in the backup: {plural(len(self.kept), 'session')} no longer in the notes "
                "(a backup never deletes a session)."
            )
        return lines


def session_files(folder: Path) -> list[str]:
    """A finished session's files by name, session.json last (a copy interrupted early has none: not a session yet)."""
    names = [e.name for e in os.scandir(folder) if e.is_file(follow_symlinks=False) and not e.name.startswith(".")]
    return sorted(names, key=lambda name: (name == RECORD_NAME, name))


def finished_or_why_not(folder: Path) -> str | None:
    """None if a session folder is finished and readable, else why it is left out of a backup."""
    try:
        raw = record.read(folder)
        if record.being_written(folder, raw):
            return "being recorded (or cut short: `reflect recover` finishes it)"
    except SessionDamaged as exc:
        return f"damaged ({exc}; `reflect recover` sets it aside)"
    except OSError as exc:
        return f"cannot be read ({exc.strerror}: {exc.filename})"
    return None


def refuse_overlap(data_dir: Path, dest: Path) -> None:
    """A backup inside the notes, or notes inside the backup's sessions, would copy itself."""
    notes, target = Path(data_dir).resolve(), Path(dest).resolve()
    if target == notes or notes in target.parents or DataLayout(target).sessions in (notes, *notes.parents):
        raise BackupRefused(f"{dest} overlaps the notes at {data_dir}; back up to another folder or disk")


def backup(data_dir: Path, dest: Path, clock: Callable[[], float] = time.monotonic) -> BackupReport:
    """Copy what changed of every finished session under `data_dir` into `dest` (see the module's docstring)."""
    source, target = DataLayout(Path(data_dir)), DataLayout(Path(dest))
    refuse_overlap(source.root, target.root)
    manifest = Manifest.for_backup(target.root)
    output_dir(target.root)  # a folder already there keeps its mode
    output_dir(target.sessions)
    report = BackupReport(source.root, target.root)
    saved_at = clock()
    present = set()
    for folder in record.session_folders(source.sessions):
        present.add(folder.name)
        why_not = finished_or_why_not(folder)
        if why_not:
            report.skipped.append(f"{folder.name}: {why_not}")
            continue
        copied = back_up_session(folder, target.sessions / folder.name, manifest, report)
        if copied:
            report.copied.append(copied)
            if clock() - saved_at > SAVE_EVERY_S:
                manifest.save()
                saved_at = clock()
        elif copied is not None:
            report.unchanged += 1
    report.kept = sorted(manifest.sessions() - present)
    manifest.save()
    return report


def back_up_session(
    folder: Path, backed: Path, manifest: Manifest, report: BackupReport
) -> tuple[str, int, int] | tuple[()] | None:
    """Bring one session's copy up to date: (id, files, bytes) copied, () if nothing changed, None if skipped."""
    listed = manifest.of_session(folder.name)
    before = os.stat(folder / RECORD_NAME)
    if not backed.exists():
        new_private_dir(backed)
    names = session_files(folder)
    strangers = [
        name
        for name in names
        if name not in listed and (backed / name).exists() and not same_bytes(folder / name, backed / name)
    ]
    if strangers:
        report.skipped.append(
            f"{folder.name}: the backup holds a different {strangers[0]} that no backup wrote; left alone"
        )
        return None
    count = size = 0
    try:
        for name in names:
            key, st = f"{folder.name}/{name}", os.stat(folder / name)
            entry = manifest.files.get(key)
            if entry is None and (backed / name).exists():  # copied by a run cut short before its manifest was saved
                manifest.files[key] = FileCopy(st.st_size, file_sha256(backed / name), st.st_mtime_ns)
            elif not (
                entry
                and (entry.size, entry.mtime_ns) == (st.st_size, st.st_mtime_ns)
                and _size(backed / name) == entry.size
            ):
                manifest.files[key] = copy_verified(folder / name, backed / name)
                count, size = count + 1, size + manifest.files[key].size
    except FileNotFoundError as exc:
        if not str(exc.filename).startswith(str(folder)):
            raise
        report.skipped.append(f"{folder.name}: {CHANGED}")
        return None
    gone = set(listed) - set(names)
    for name in gone:  # the device replaced it (compressed, sealed): only a file the backups wrote goes
        (backed / name).unlink(missing_ok=True)
        del manifest.files[f"{folder.name}/{name}"]
    if count or gone:
        fsync_dir(backed)
    after = os.stat(folder / RECORD_NAME)
    if (after.st_mtime_ns, after.st_ino) != (before.st_mtime_ns, before.st_ino):
        manifest.files.pop(f"{folder.name}/{RECORD_NAME}", None)
        report.skipped.append(f"{folder.name}: {CHANGED}")
        return None
    return (folder.name, count, size) if count or gone else ()


def same_bytes(a: Path, b: Path) -> bool:
    return os.stat(a).st_size == os.stat(b).st_size and file_sha256(a) == file_sha256(b)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None
