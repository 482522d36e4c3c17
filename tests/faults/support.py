"""Shared pieces for the fault tests: a tiny pack, archive checks and a file census."""

import gc
import hashlib
import json
import os
import stat
import subprocess
from contextlib import contextmanager
from pathlib import Path

import soundfile as sf

from audio.wavfile import WavWriter
from content.packs import find_pack
from device.notes.record import DataLayout

TINY_PACK = """
id = "tiny"
title = "Tiny"
language = "en"
rate = 300
greeting = "Hi."
questions = ["One?", "Two?"]
closing = "Bye."
"""
SOAK_FULL = os.environ.get("SOAK") == "full"
"""`make soak` sets SOAK=full: the long-haul tests run every round. Otherwise (`make test`) they run a
sample: their first rounds, which are the full run's first rounds, as every round is seeded or cycles."""


def rounds(full: int, sample: int) -> int:
    """How many rounds a long-haul test runs: `full` under `make soak`, else `sample`."""
    return full if SOAK_FULL else sample


def tiny_pack_dir(folder: Path) -> Path:
    """A packs folder holding the tiny two-question pack (id "tiny") with very short prompts."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.toml").write_text(TINY_PACK)
    return folder


def tiny_pack(folder: Path):
    return find_pack("tiny", [tiny_pack_dir(folder)])


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def census(root: Path) -> dict[str, str]:
    """Every file under `root` (relative path -> sha256)."""
    return {str(p.relative_to(root)): sha256(p) for p in sorted(Path(root).rglob("*")) if p.is_file()}


def leftovers(data_dir: Path) -> list[str]:
    """Files that must never be left behind: parts, temp files, reserves, empty files.

    An empty search index is not one: a kill just after SQLite creates it leaves 0 bytes, which SQLite reads
    as an empty database and the next command fills from the session files. Nor is an empty journal of it
    (a kill just after SQLite opened one for a write, as sealing makes): SQLite ignores it and replaces it."""
    bad = []
    index = DataLayout(Path(data_dir)).index
    sqlite_files = {index, index.with_name(index.name + "-journal")}
    for path in Path(data_dir).rglob("*"):
        if not path.is_file():
            continue
        name = path.name
        empty = path.stat().st_size == 0 and path not in sqlite_files
        if name.endswith(".part") or name.endswith(".tmp") or name == ".reserve" or empty:
            bad.append(str(path.relative_to(data_dir)))
    return sorted(bad)


def session_records(data_dir: Path) -> list[tuple[Path, dict]]:
    """Every session folder with its parsed session.json (fails the test on unparsable JSON)."""
    out = []
    for folder in sorted((Path(data_dir) / "sessions").iterdir()):
        if folder.is_dir():
            out.append((folder, json.loads((folder / "session.json").read_text())))
    return out


def audio_seconds(path: Path) -> float:
    info = sf.info(str(path))
    return info.frames / info.samplerate


def private_modes(data_dir: Path) -> list[str]:
    """Paths under (and including) `data_dir` whose mode is not 0700 (dirs) or 0600 (files)."""
    wrong = []
    for path in [Path(data_dir), *Path(data_dir).rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode != want:
            wrong.append(f"{path.relative_to(data_dir.parent)} {oct(mode)}")
    return wrong


def fsynced(monkeypatch) -> list[str]:
    """From now on, the path of everything os.fsync is called on, in order (the real fsync still runs)."""
    synced = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def descriptors() -> dict[int, str]:
    """This process's open descriptors and what each points at."""
    held = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            held[int(fd)] = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:  # closed since the listing (the listing's own descriptor, say)
            continue
    return held


@contextmanager
def descriptors_kept():
    """Asserts the block leaves this process's descriptors as they were; the garbage collector is paused meanwhile,
    so nothing but the block opens or closes one."""
    held = descriptors()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
    assert descriptors() == held


def open_under(folder: Path) -> list[str]:
    """What this process holds open under `folder` (unlinked files too): unlike a count of all its descriptors,
    untouched by another thread or the garbage collector closing something of its own meanwhile."""
    return [target for target in descriptors().values() if target.startswith(f"{folder}/")]


def proc_status(field: str) -> int:
    """A number from /proc/self/status (VmRSS in kB, Threads)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def killed_part(final_path: Path, samples, rate: int, synced: int = 0) -> Path:
    """The `.part` a kill -9 leaves: every sample written, the header synced only up to `synced` samples."""
    writer = WavWriter(final_path, rate, sync_every_s=3600)
    writer.write(samples[:synced])
    if synced:
        writer.sync()
    writer.write(samples[synced:])
    os.close(writer._fd)  # the process dies here
    return writer.part_path


@contextmanager
def small_tmpfs(mount: Path, size: str):
    """A real size-limited tmpfs at `mount` (e.g. size "64k"); fails, never skips, where it cannot be mounted."""
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mount)], capture_output=True, text=True
    )
    assert result.returncode == 0, f"cannot mount a size-limited tmpfs here: {result.stderr.strip()}"
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)
