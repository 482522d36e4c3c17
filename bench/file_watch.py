"""When files land in the notes folders: Linux inotify through ctypes, read on a thread that sleeps until
something happens.

The session's notes are written atomically (temp file, fsync, rename), so a file
"moved to" its final name is a finished write. This sees that without touching the
project's code and without polling (no CPU while nothing happens).
"""

import ctypes
import ctypes.util
import os
import struct
import threading
import time

IN_CREATE = 0x100
IN_MOVED_TO = 0x80
IN_ISDIR = 0x40000000
_EVENT = struct.Struct("iIII")


class FolderWatch:
    """Records (monotonic time, folder, event mask, name) for `root` and every folder created in it."""

    def __init__(self, root):
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._fd = self._libc.inotify_init1(os.O_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self._folders: dict[int, str] = {}
        self.events: list[tuple[float, str, int, str]] = []
        self._add(str(root))
        threading.Thread(target=self._read, name="file-watch", daemon=True).start()

    def _add(self, folder: str) -> None:
        wd = self._libc.inotify_add_watch(self._fd, folder.encode(), IN_CREATE | IN_MOVED_TO)
        if wd >= 0:
            self._folders[wd] = folder

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 65536)
            except OSError:
                return
            at = time.monotonic()
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size : offset + _EVENT.size + length].rstrip(b"\0").decode()
                offset += _EVENT.size + length
                folder = self._folders.get(wd, "?")
                self.events.append((at, folder, mask, name))
                if mask & IN_CREATE and mask & IN_ISDIR:
                    self._add(os.path.join(folder, name))

    def landed(self, name: str, after: float) -> float | None:
        """When a file called `name` was first renamed into place (or created) after `after`."""
        return next(
            (
                at
                for at, _, mask, file in self.events
                if file == name and at >= after and mask & (IN_MOVED_TO | IN_CREATE)
            ),
            None,
        )

    def close(self) -> None:
        os.close(self._fd)
