"""A booted Debian root with systemd as PID 1 (systemd-nspawn), for the system test.

The root is built once by scripts/system-root.sh and kept at SYSTEM_ROOT; every boot gets a fresh
writable layer on top of it (--volatile=overlay), so a run starts from a clean system and leaves none.
The host has no systemd, hence --register=no --keep-unit; commands run inside through nsenter.
"""

import os
import subprocess
import time
from pathlib import Path

from tests.rig import ROOT

SYSTEM_ROOT = Path(os.environ.get("REFLECT_SYSTEM_ROOT", "/var/cache/reflect-system-root"))
PIP_CACHE = Path(f"{SYSTEM_ROOT}-pip")
"""Kept between runs (as the root is), so a warm run downloads no wheels."""
APT_CACHE = Path(f"{SYSTEM_ROOT}-apt")
PATH = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"


def build_root() -> None:
    """Build the cached root if it is missing (about 2 minutes)."""
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "system-root.sh"), str(SYSTEM_ROOT)],
        check=True,
        capture_output=True,
        timeout=1200,
    )


class Container:
    """One boot of the root; `binds` maps host paths to (path inside, read-only)."""

    def __init__(self, binds: dict[Path, tuple[str, bool]]):
        for cache in (PIP_CACHE, APT_CACHE):
            cache.mkdir(exist_ok=True)
        binds = {**binds, PIP_CACHE: ("/root/.cache/pip", False), APT_CACHE: ("/var/cache/apt/archives", False)}
        options = [f"--bind{'-ro' if ro else ''}={host}:{inside}" for host, (inside, ro) in binds.items()]
        self.nspawn = subprocess.Popen(
            [
                "systemd-nspawn",
                "-q",
                "-b",
                "-D",
                str(SYSTEM_ROOT),
                "--volatile=overlay",
                "--register=no",
                "--keep-unit",
                "--console=pipe",
                *options,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            self.pid = self._init_pid()
            self._wait_for_boot()
        except BaseException:
            self.nspawn.kill()
            raise

    def _wait_for_boot(self) -> None:
        deadline = time.monotonic() + 120
        while (state := self.run("systemctl", "is-system-running", "--wait", check=False).stdout.strip()) not in (
            "running",
            "degraded",
        ):
            assert time.monotonic() < deadline, f"the container did not boot: {state!r}"
            time.sleep(0.2)  # its bus is not up yet

    def _init_pid(self) -> int:
        """The host pid of the container's systemd (nspawn's child)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.nspawn.poll() is None, f"systemd-nspawn ended: {self.nspawn.stderr.read().decode()}"
            children = Path(f"/proc/{self.nspawn.pid}/task/{self.nspawn.pid}/children").read_text().split()
            for child in children:
                if Path(f"/proc/{child}/comm").read_text().strip() == "systemd":
                    return int(child)
            time.sleep(0.1)
        raise AssertionError("the container's systemd never started")

    def run(
        self,
        *command: str,
        check: bool = True,
        timeout: float = 120,
        input: str | None = None,
    ) -> subprocess.CompletedProcess:
        """`command` inside the container, as root, with a clean environment and a system's usual umask (nsenter
        would pass on the host's, and CI's may be 077)."""
        done = subprocess.run(
            ["nsenter", "-t", str(self.pid), "-a", "env", "-i", PATH, "HOME=/root", *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            umask=0o022,
        )
        if check:
            assert done.returncode == 0, (
                f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def path(self, inside: str) -> Path:
        """A path inside the container, as the host sees it."""
        return Path(f"/proc/{self.pid}/root{inside}")

    def write(self, inside: str, text: str) -> None:
        self.run("mkdir", "-p", str(Path(inside).parent))
        self.path(inside).write_text(text)
        self.path(inside).chmod(0o644)

    def poweroff(self) -> None:
        self.run("systemctl", "poweroff", "--no-block", check=False)
        try:
            self.nspawn.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.nspawn.kill()
            self.nspawn.wait()
