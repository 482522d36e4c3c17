"""The Pi twin: an emulated Pi 4 (qemu-system-aarch64, cortex-a72, TCG) booted from the cached arm64 image.

Each twin gets its own copy-on-write layer over the cached disk, so the cache never changes while reboots of
the same twin see what the last boot wrote (a power cut must be followed by a boot of the same disk). A 9p
share carries files in and out; the guest's agent (tests/twin/guest/agent.sh) runs the command files the
host drops there. `cut()` kills qemu outright: the guest's page cache is lost, as in a power cut.

Like a Pi 4, the twin has no clock that keeps time: qemu's RTC driver is never started (initcall_blacklist), so each
boot starts from the time systemd-timesyncd last saved, and nothing syncs it (no network).
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.rig import ROOT

IMAGE = Path(os.environ.get("REFLECT_PI_TWIN", "/var/cache/reflect-pi-twin"))
WHEELS = Path(os.environ.get("REFLECT_PI_TWIN_WHEELS", "/var/cache/reflect-pi-twin-wheels"))
SHARE_INSIDE = "/mnt/share"
BOOT_TIMEOUT_S = 300


def prepare_caches() -> None:
    """Build the cached image and wheelhouse if they are missing (the image takes about 20 minutes)."""
    for script, cache in (("pi-twin-image.sh", IMAGE), ("pi-twin-wheels.sh", WHEELS)):
        subprocess.run(["bash", str(ROOT / "scripts" / script), str(cache)], check=True, timeout=3600)


class Twin:
    """One emulated Pi with its own disk layer and share folder under `workdir`."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.share = workdir / "share"
        (self.share / "cmd").mkdir(parents=True)
        self.disk = workdir / "disk.qcow2"
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(IMAGE / "disk.img"), str(self.disk)],
            check=True,
        )
        shutil.copy(ROOT / "tests" / "twin" / "guest" / "agent.sh", self.share / "guest.sh")
        (self.share / "guest.sh").chmod(0o755)
        self.qemu: subprocess.Popen | None = None
        self.boots = 0
        self._next = 0

    def boot(self) -> float:
        """Power on and wait for the agent; the seconds it took."""
        assert self.qemu is None or self.qemu.poll() is not None, "the twin is already running"
        shutil.rmtree(self.share / "out", ignore_errors=True)
        self.boots += 1
        started = time.monotonic()
        self.qemu = subprocess.Popen(
            [
                "qemu-system-aarch64",
                "-M",
                "virt",
                "-cpu",
                "cortex-a72",
                "-accel",
                "tcg,thread=multi",
                "-smp",
                "2",
                "-m",
                "2048",
                "-nographic",
                "-no-reboot",
                "-kernel",
                str(IMAGE / "vmlinuz"),
                "-initrd",
                str(IMAGE / "initrd.img"),
                "-append",
                "root=/dev/vda rw console=ttyAMA0 quiet initcall_blacklist=pl031_driver_init",
                "-drive",
                f"file={self.disk},format=qcow2,if=virtio",
                "-virtfs",
                f"local,path={self.share},mount_tag=share,security_model=none,id=share",
                "-nic",
                "none",
                "-serial",
                f"file:{self.workdir}/serial-{self.boots}.log",
                "-monitor",
                "none",
                "-display",
                "none",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        while not (self.share / "out" / "booted").exists():
            assert self.qemu.poll() is None, f"qemu ended: {self.qemu.stderr.read().decode()}\n{self.serial()[-3000:]}"
            assert time.monotonic() - started < BOOT_TIMEOUT_S, f"the twin did not boot:\n{self.serial()[-3000:]}"
            time.sleep(0.2)
        return time.monotonic() - started

    def serial(self) -> str:
        return (self.workdir / f"serial-{self.boots}.log").read_text(errors="replace")

    def start(self, script: str) -> str:
        """Run `script` (bash) in the guest as root, in the background; its handle."""
        self._next += 1
        name = f"{self._next:04d}"
        new = self.share / "cmd" / f"{name}.new"
        new.write_text("set -euo pipefail\n" + script)
        new.rename(self.share / "cmd" / f"{name}.sh")
        return name

    def result(self, name: str, timeout: float) -> tuple[int, str]:
        """The exit code and output of a started script, once it has ended."""
        rc = self.share / "out" / f"{name}.rc"
        deadline = time.monotonic() + timeout
        while not rc.exists():
            assert self.qemu and self.qemu.poll() is None, f"the twin stopped while running {name}"
            assert time.monotonic() < deadline, (
                f"guest script {name} still running after {timeout} s:\n" + self.output(name)[-3000:]
            )
            time.sleep(0.1)
        return int(rc.read_text()), self.output(name)

    def output(self, name: str) -> str:
        out = self.share / "out" / f"{name}.out"
        return out.read_text(errors="replace") if out.exists() else ""

    def run(self, script: str, timeout: float = 300, check: bool = True) -> str:
        """Run `script` in the guest and wait for it; its output (a failure shows it)."""
        code, out = self.result(self.start(script), timeout)
        assert not check or code == 0, f"guest script failed ({code}):\n{script}\n---\n{out[-4000:]}"
        return out

    def running(self) -> bool:
        return self.qemu is not None and self.qemu.poll() is None

    def cut(self) -> None:
        """A power cut: qemu is killed, and whatever the guest had not yet written to its disk is lost."""
        assert self.qemu is not None
        self.qemu.kill()
        self.qemu.wait()

    def wait_off(self, timeout: float = 180) -> None:
        """Until the guest has powered itself off."""
        assert self.qemu is not None
        self.qemu.wait(timeout=timeout)

    def close(self) -> None:
        if self.qemu is not None and self.qemu.poll() is None:
            self.cut()
