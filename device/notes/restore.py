"""`reflect restore SRC`: bring back the sessions of a backup (or of any copied data dir) that the notes lack.

Nothing is written over: a session already in the notes must match the backup byte for byte, or the whole
restore is refused before anything is written. Each session is copied into a hidden folder beside the others,
verified (and checked against the SHA-256 the backup recorded), then renamed into place whole.
"""

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import BackupRefused
from common.files import fsync_dir, new_private_dir, output_dir
from device.notes import record
from device.notes.backup import Manifest, finished_or_why_not, megabytes, plural, same_bytes, session_files
from device.notes.record import DataLayout
from device.notes.verified_copy import copy_verified

TEMP_PREFIX = ".restoring-"


@dataclass
class RestoreReport:
    """What one restore did: sessions restored (id, files, bytes), already there, and skipped (with why)."""

    source: Path
    data_dir: Path
    restored: list[tuple[str, int, int]] = field(default_factory=list)
    present: int = 0
    skipped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [f"Restoring {self.source} into {self.data_dir}:"]
        lines += [f"  restored {session_id}: {plural(n, 'file')}, {megabytes(b)}" for session_id, n, b in self.restored]
        lines += [f"  skipped  {line}" for line in self.skipped]
        lines.append(
            f"Restored {plural(len(self.restored), 'session')}; each file was read back and verified "
            "(size and SHA-256)."
            if self.restored
            else "Restored nothing."
        )
        lines.append(f"Already in the notes, the same byte for byte: {plural(self.present, 'session')}.")
        return lines


def difference(folder: Path, here: Path) -> str | None:
    """The first file in which two copies of a session differ, or None if they are the same byte for byte."""
    ours, theirs = session_files(here), session_files(folder)
    for name in sorted(set(ours) ^ set(theirs)):
        return name
    return next((name for name in theirs if not same_bytes(folder / name, here / name)), None)


def restore(src: Path, data_dir: Path) -> RestoreReport:
    """Copy into `data_dir` every finished session of `src` it lacks; BackupRefused if one there differs."""
    source, target = DataLayout(Path(src)), DataLayout(Path(data_dir))
    if not source.sessions.is_dir():
        raise BackupRefused(f"{src} has no sessions folder; name the folder `reflect backup` wrote (or a data dir)")
    if source.root.resolve() == target.root.resolve():
        raise BackupRefused(f"{src} is the notes themselves; name the backup's folder")
    manifest = Manifest.read(source.root)
    report, todo, clashes = RestoreReport(source.root, target.root), [], []
    for folder in record.session_folders(source.sessions):
        why_not = finished_or_why_not(folder)
        here = target.sessions / folder.name
        if why_not:
            report.skipped.append(f"{folder.name}: {why_not}")
        elif not here.exists():
            todo.append(folder)
        elif (differs := difference(folder, here)) is not None:
            clashes.append(f"{folder.name} ({differs})")
        else:
            report.present += 1
    if clashes:
        raise BackupRefused(
            f"{plural(len(clashes), 'session')} in {target.root} differ from the backup: "
            f"{', '.join(clashes[:3])}{' ...' if len(clashes) > 3 else ''}; nothing was restored "
            "(move them out of the notes first, or restore into a new --data-dir)"
        )
    output_dir(target.sessions)
    for folder in todo:
        report.restored.append(restore_session(folder, target.sessions, manifest, len(report.restored)))
    return report


def restore_session(folder: Path, sessions: Path, manifest: Manifest, done: int) -> tuple[str, int, int]:
    """Copy one session into a hidden folder, verified, and rename it into `sessions`; (id, files, bytes)."""
    temp = sessions / f"{TEMP_PREFIX}{folder.name}"
    if temp.exists():
        shutil.rmtree(temp)  # left by a restore cut short: only a restore makes these
    new_private_dir(temp)
    size = 0
    names = session_files(folder)
    for name in names:
        copied = copy_verified(folder / name, temp / name)
        recorded = manifest.files.get(f"{folder.name}/{name}")
        if recorded and (recorded.size, recorded.sha256) != (copied.size, copied.sha256):
            shutil.rmtree(temp)
            raise BackupRefused(
                f"{folder / name} does not match the SHA-256 its backup recorded; the backup's disk "
                f"may be failing ({plural(done, 'session')} restored before it)"
            )
        size += copied.size
    os.rename(temp, sessions / folder.name)
    fsync_dir(sessions)
    return folder.name, len(names), size
