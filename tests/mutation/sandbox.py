"""Mutants run where they can change nothing but their own folders.

A mutant is code nobody reviewed. One of `private_dir` (every existing parent counted as created) made /,
/dev and /dev/shm 0700 when its tests ran as root, and one of the archive opener wrote `../../escaped.txt`
beside the tests' temporary folder: after that no other user could reach anything on the machine. So mutmut
runs in bubblewrap with the whole filesystem read-only, a /dev and /proc of its own, and only the mutants'
tree and the tests' temporary folder writable; it stays root (the fault tests chown and mount a tmpfs).
"""

import shutil
from collections.abc import Sequence
from pathlib import Path


def confined(command: Sequence[str], writable: Sequence[Path], cwd: Path) -> list[str]:
    """`command` run in `cwd` with nothing writable but the folders `writable` (which must exist)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SystemExit("mutation testing needs bubblewrap (bwrap) to confine the mutants; `make setup` installs it")
    binds = [arg for folder in writable for arg in ("--bind", str(folder), str(folder))]
    return [
        bwrap,
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        *binds,
        "--chdir", str(cwd),
        "--die-with-parent",
        "--",
        *command,
    ]  # fmt: skip
