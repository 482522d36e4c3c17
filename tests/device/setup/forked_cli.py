"""`reflect ...` in a process of its own, forked from a server that has imported the command line once.

A fresh `python -m device.setup.cli` spends about 0.27 s importing before it starts; the bad-input table runs
hundreds of commands. Each still runs in its own process (its own uid, umask, signals, environment, working
folder, stdin, stdout and stderr), as `reflect` would, through `main` and its exit code. What a fork cannot show,
the interpreter's own start and its flush at exit into a closed pipe, the pipe test runs as real processes.
"""

import multiprocessing
import os
import sys
from pathlib import Path

from device.setup.cli import build_parser, main

build_parser()  # in the server: every command's module is imported once, before the forks

_server = multiprocessing.get_context("forkserver")
_server.set_forkserver_preload([__name__])


def _as_reflect(argv: list[str], env: dict[str, str], cwd: Path, out: Path, err: Path) -> None:
    """The child: `reflect argv` with this environment, folder and output files; exits with its code."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, out, os.O_WRONLY), (2, err, os.O_WRONLY)):
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    try:
        code = main(argv)
    except SystemExit as stop:  # what `sys.exit(main())` would end with
        code = stop.code if isinstance(stop.code, int) else 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_reflect(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `reflect argv` run in `cwd` with only `env`."""
    out, err = cwd / ".reflect-stdout", cwd / ".reflect-stderr"
    out.write_bytes(b"")
    err.write_bytes(b"")
    child = _server.Process(target=_as_reflect, args=(argv, env, cwd, out, err))
    child.start()
    child.join(timeout)
    if child.exitcode is None:
        child.kill()
        raise TimeoutError(f"reflect {' '.join(argv)} ran over {timeout} s")
    try:
        return child.exitcode, out.read_text(), err.read_text()
    finally:
        out.unlink()
        err.unlink()
