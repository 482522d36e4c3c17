"""Copy one file so that a crash leaves the old target or the whole new one, then prove the copy by reading it back."""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from common.errors import BackupRefused
from common.files import FILE_MODE, fsync_dir

CHUNK = 1 << 20
TEMP_PREFIX = ".copying-"
"""A copy is written as `.copying-NAME` beside its target and renamed into place once synced."""


@dataclass(frozen=True)
class FileCopy:
    """What a copied (or checked) file holds: its size, SHA-256 and the modification time it was given."""

    size: int
    sha256: str
    mtime_ns: int


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def copy_verified(source: Path, target: Path) -> FileCopy:
    """Copy `source` to `target` (0600, its modification time kept), then read the copy back from the disk and
    check its size and SHA-256 against the bytes read from `source`; BackupRefused if they differ."""
    temp = target.with_name(TEMP_PREFIX + target.name)
    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as reader:
        mtime_ns = os.fstat(reader.fileno()).st_mtime_ns
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            os.fsync(fd)
            os.utime(fd, ns=(mtime_ns, mtime_ns))
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # the check below reads the disk, not the cache
        except BaseException:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        os.close(fd)
    os.replace(temp, target)
    fsync_dir(target.parent)
    copied = FileCopy(size, digest.hexdigest(), mtime_ns)
    check(target, copied, f"the copy of {source}")
    return copied


def check(path: Path, expected: FileCopy, what: str) -> None:
    """Raise BackupRefused unless `path` has the size and SHA-256 of `expected` (`what` names it in the error)."""
    size = path.stat().st_size
    if size != expected.size:
        raise BackupRefused(f"{what} at {path} has {size} bytes, not {expected.size}; the disk may be failing")
    if file_sha256(path) != expected.sha256:
        raise BackupRefused(f"{what} at {path} does not match its SHA-256; the disk may be failing")
