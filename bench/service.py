"""`reflect run` started as systemd starts it: how long until it says READY=1 over $NOTIFY_SOCKET."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from bench.probes import ROOT, now

START = "import sys; from device.setup.cli import main; sys.exit(main())"


def service_start(
    model: Path, work: Path, cache_dir: Path, packs_dir: Path, pack: str, pin: bool, timeout_s: float = 60.0
) -> dict:
    """Seconds from spawning `reflect run --keyboard` to its READY=1 and to its first "ready" status."""
    work.mkdir(parents=True)
    address = work / "notify.sock"
    config = work / "config.toml"  # only this (empty) config file: no /etc/reflect or ~/.config/reflect
    config.write_text("")
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(address),
        "REFLECT_STORAGE_CACHE_DIR": str(cache_dir),
        "REFLECT_CONTENT_PACKS_DIR": str(packs_dir),
    }
    env.pop("WATCHDOG_USEC", None)
    command = [
        sys.executable,
        "-c",
        START,
        "run",
        "--keyboard",
        "--config",
        str(config),
        "--model",
        str(model),
        "--data-dir",
        str(work / "data"),
        "--pack",
        pack,
    ]
    if pin:
        command = ["taskset", "-c", "0", *command]
    marks: dict[str, float] = {}
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, open(work / "service.log", "wb") as log:
        sock.bind(str(address))
        sock.settimeout(0.2)
        spawned_at = now()
        service = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            while ("status_ready_at" not in marks or "ready_at" not in marks) and service.poll() is None:
                try:
                    message = sock.recv(4096).decode()
                except TimeoutError:
                    if now() - spawned_at > timeout_s:
                        break
                    continue
                at = now()
                if message == "READY=1":
                    marks.setdefault("ready_at", at)
                elif message.startswith("STATUS=ready"):
                    marks.setdefault("status_ready_at", at)
        finally:
            service.stdin.close()  # end of input: the service stops
            try:
                service.wait(timeout=15)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait()
    if "ready_at" not in marks:
        raise RuntimeError(f"reflect run never said READY=1:\n{(work / 'service.log').read_text()[-2000:]}")
    return {
        "ready_s": marks["ready_at"] - spawned_at,
        "status_ready_s": marks.get("status_ready_at", float("nan")) - spawned_at,
        "exit_code": service.returncode,
    }
