"""One owner of the notes: the process that may write a data dir holds an flock on its lock file.

The service (`reflect run`), `reflect session` and `reflect demo` own the data dir for their whole life;
`reflect recover`, `delete` and `reindex` own it for their work (beside the running service, they ask it to do
the work instead: device.flow.owner_jobs). The lock file also says who holds it
(role and pid), so a process that cannot have it can say why. The kernel drops the lock when its holder
exits, however it exits (kill -9 included), so a stale lock cannot outlive its process.
"""

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

from common.errors import NotesBusy
from common.files import FILE_MODE, output_dir, private_dir
from device.notes.record import DataLayout

DEVICE_ROLES = frozenset({"service", "session", "demo"})
"""Owners that keep the notes for as long as they run: waiting for them is pointless."""
RECORDING = "The device is recording; try again when it is idle."
COMMAND_WAIT_S = 5.0
"""How long a command waits for another command (recover, delete, reindex) to finish its work."""
POLL_S = 0.05


def busy_message(holder: str) -> str:
    """The one line said to a process that cannot own the notes, given the holder's role ('' if unknown)."""
    if holder in DEVICE_ROLES:
        return RECORDING
    doing = f"`reflect {holder}` is working on them" if holder else "another reflect command is working on them"
    return f"The notes are busy ({doing}); try again in a moment."


class Owner:
    """The held lock; `release` (or leaving the `with` block) gives the notes up."""

    def __init__(self, fd: int, role: str):
        self._fd: int | None = fd
        self.role = role

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None

    def __enter__(self) -> "Owner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(fd: int) -> str:
    """The role written by the current holder, or '' if it has not written it yet."""
    words = os.pread(fd, 64, 0).decode("ascii", "replace").split()
    return words[0] if words else ""


def own(
    data_dir: Path,
    role: str,
    wait_s: float = COMMAND_WAIT_S,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Owner:
    """Take the data dir for `role` ("service", "session", "demo" or a command's name) or raise NotesBusy.

    The device (service, session, demo) is refused at once; another command is waited for up to `wait_s`."""
    layout = DataLayout(Path(data_dir))
    (private_dir if role in DEVICE_ROLES else output_dir)(layout.root)  # a command keeps the folder's mode
    fd = os.open(layout.owner_lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    deadline = clock() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            holder = _holder(fd)
            if holder in DEVICE_ROLES or clock() >= deadline:
                os.close(fd)
                raise NotesBusy(busy_message(holder), holder) from None
            sleep(POLL_S)
    stamp = f"{role} {os.getpid()}\n".encode("ascii")
    os.pwrite(fd, stamp, 0)
    os.ftruncate(fd, len(stamp))
    return Owner(fd, role)
