"""Private, crash-safe file writes (directories 0700, files 0600, atomic replace with fsync), and free space."""

import errno
import os
import shutil
from itertools import takewhile
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
PART_SUFFIX = ".part"
"""Added to the name of a file while it is written (a WAV being recorded, an answer being compressed or sealed):
what recovery finds with it is unfinished."""
DISK_ERRORS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
"""errnos that mean "no room to write": what was written so far is kept."""


def private_dir(path: Path) -> Path:
    """Create `path` (and parents, as `mkdir -p`) if needed and make it 0700, whatever the umask, as is every
    folder it creates; each is synced into its parent, so a power cut cannot lose it once this returns."""
    created = list(takewhile(lambda folder: not folder.exists(), (path, *path.parents)))
    for folder in reversed(created):  # each made 0700 before its child: under umask 0777 it came out 0000
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(folder, DIR_MODE)
        fsync_dir(folder.parent)
    path.mkdir(exist_ok=True)  # a file in its place is an error
    os.chmod(path, DIR_MODE)
    return path


def output_dir(path: Path) -> Path:
    """Create `path` and its missing parents 0700 (synced) if needed; a folder already there keeps its mode."""
    return path if path.is_dir() else private_dir(path)


def new_private_dir(path: Path) -> Path:
    """Create the folder `path` (FileExistsError if it is there), 0700 whatever the umask, synced into its parent."""
    path.mkdir(mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    fsync_dir(path.parent)
    return path


def free_bytes(path: Path) -> int:
    """Free space where `path` is or would be created (its nearest existing folder)."""
    folder = Path(path)
    while not folder.exists():
        folder = folder.parent
    return shutil.disk_usage(folder).free


def fsync_dir(path: Path) -> None:
    """Make a rename or creation inside directory `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_tmp(path: Path) -> Path:
    """The file atomic_write_bytes writes first and then renames over `path`: all a kill can leave of it."""
    return path.with_name(f".{path.name}.tmp")


def atomic_write_bytes(path: Path, data: bytes, tmp: Path | None = None) -> None:
    """Replace `path` with `data` so a crash leaves either the old or the new file, never half of one.

    `tmp` names the file written first, then renamed (default atomic_tmp(path))."""
    tmp = tmp or atomic_tmp(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """Atomically replace `path` with UTF-8 `text`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def is_disk_full(error: BaseException) -> bool:
    """True for the OSErrors that mean the disk (or this process's file-size limit) is full."""
    return isinstance(error, OSError) and error.errno in DISK_ERRORS
