"""Run inside the Pi twin (the system's python3, stdlib only): wait until a file whose name matches a pattern
is created anywhere under a folder, then stop (SIGSTOP) the given processes (or, with none still running,
every process that has a file open under that folder) and print what it froze. The host then cuts the power
with the writer frozen at that moment. It gives up after WITHIN_S seconds, so a watcher whose moment never
came cannot freeze the service in a later test.

    python3 freeze_when.py FOLDER REGEX create|transcript WITHIN_S [PID ...]

`transcript` waits instead for a session.json renamed into place that holds more transcripts than that
session's record held before: the moment a transcript is being saved (its folder not yet synced).
"""

import ctypes
import json
import os
import re
import signal
import struct
import sys

IN_CREATE, IN_MOVED_TO, IN_ISDIR = 0x100, 0x80, 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def watch(fd: int, folder: str, watches: dict[int, str]) -> None:
    for path, dirs, _ in os.walk(folder):
        wd = libc.inotify_add_watch(fd, path.encode(), IN_CREATE | IN_MOVED_TO)
        if wd >= 0:
            watches[wd] = path


def holders(folder: str) -> list[int]:
    """Every process (but this one) with a file open under `folder`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if int(pid) == os.getpid():
            continue
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if any(link.startswith(folder.rstrip("/") + "/") for link in links):
            found.append(int(pid))
    return found


def transcripts(path: str) -> int:
    try:
        with open(path) as record:
            return sum(a.get("transcript") is not None for a in json.load(record)["answers"])
    except (OSError, ValueError, KeyError):
        return 0


def is_moment(mode: str, mask: int, path: str, seen: dict[str, int]) -> bool:
    if mode == "create":
        return bool(mask & IN_CREATE)
    if not mask & IN_MOVED_TO:
        return False
    count, before = transcripts(path), seen.get(path, 0)
    seen[path] = count
    return count > before


def freeze(pids: list[int]) -> list[int]:
    """SIGSTOP each of `pids`; those stopped (one that ended meanwhile is not)."""
    frozen = []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGSTOP)
            frozen.append(pid)
        except ProcessLookupError:
            pass
    return frozen


def main(folder: str, pattern: str, mode: str, within_s: str, *pids: str) -> None:
    signal.alarm(int(within_s))
    wanted = re.compile(pattern)
    fd = libc.inotify_init()
    watches: dict[int, str] = {}
    watch(fd, folder, watches)
    seen = {
        os.path.join(path, "session.json"): transcripts(os.path.join(path, "session.json")) for path in watches.values()
    }
    print("watching", flush=True)
    while True:
        data = os.read(fd, 65536)
        offset = 0
        while offset < len(data):
            wd, mask, _, length = struct.unpack_from("iIII", data, offset)
            name = data[offset + 16 : offset + 16 + length].rstrip(b"\0").decode()
            offset += 16 + length
            path = os.path.join(watches.get(wd, folder), name)
            if mask & IN_ISDIR:
                watch(fd, path, watches)
            elif wanted.search(name) and is_moment(mode, mask, path, seen):
                frozen = freeze([int(pid) for pid in pids]) or freeze(holders(folder))
                if frozen:
                    print(f"froze {frozen} at {path}", flush=True)
                    return
                print(f"nothing left to freeze at {path}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
