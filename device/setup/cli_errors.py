"""How the `reflect` command reports what went wrong: one line on stderr with the path and the fix, exit 2."""

import errno
import os
import sys

from common.errors import ReflectError

FIXES: dict[int | None, str] = {
    errno.EACCES: "check its permissions, or run as the user who owns it (e.g. sudo -u reflect reflect ...)",
    errno.EPERM: "check its owner and permissions, or run as the user who owns it",
    errno.ENOENT: "check the path",
    errno.EEXIST: "choose another name, or move it away first",
    errno.ENOTDIR: "check the path: a file stands where a folder belongs",
    errno.EISDIR: "check the path: a folder stands where a file belongs",
    errno.EROFS: "the filesystem is read-only; choose another place",
    errno.ENOSPC: "free some space and try again",
    errno.EDQUOT: "free some space and try again",
}


def one_line(error: BaseException) -> str:
    """The line `reflect` prints for an error: what happened, to which path, and what to do about it."""
    if isinstance(error, ReflectError):
        text = str(error)
    elif isinstance(error, OSError):
        where = " -> ".join(str(p) for p in (error.filename, error.filename2) if p is not None)
        what = error.strerror or type(error).__name__
        fix = FIXES.get(error.errno, "run again with -v for the detail")
        text = f"{where}: {what} ({fix})" if where else f"{what} ({fix})"
    elif isinstance(error, UnicodeError):
        text = f"a file that should be UTF-8 text is not ({error}); save it as UTF-8, or run again with -v"
    else:
        text = f"unexpected {type(error).__name__}: {error} (run again with -v for the detail; please report it)"
    return "reflect: " + " ".join(text.split())


def end_quietly_on_broken_pipe() -> int:
    """The reader of our output went away (`reflect notes | head -1`): stop quietly, as Unix tools do.

    Python's docs: point stdout at /dev/null so the flush at exit cannot raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141
