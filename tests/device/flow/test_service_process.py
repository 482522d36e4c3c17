"""`reflect run` as systemd runs it: READY=1 once the button is armed, watchdog pings while healthy, clean stop."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.rig import ROOT, korean_model, pass_on_stalls

pytestmark = pytest.mark.usefixtures("audio_rig")


def test_reflect_run_tells_systemd_it_is_ready_and_alive(tmp_path):
    address = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(address))
    listener.settimeout(30)
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(address),
        "WATCHDOG_USEC": "1000000",
        "GPIOZERO_PIN_FACTORY": "mock",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    started = time.monotonic()
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "device.setup.cli",
            "run",
            "--data-dir",
            str(tmp_path / "data"),
            "--model",
            str(korean_model()),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        received = []
        while received.count("WATCHDOG=1") < 3:
            received += listener.recv(4096).decode().splitlines()
        ready_index = received.index("READY=1")
        assert ready_index < received.index("WATCHDOG=1")
        print(f"READY=1 {time.monotonic() - started:.2f} s after start (interpreter start-up included)")
        service.send_signal(signal.SIGTERM)
        code = service.wait(timeout=15)
        errors = pass_on_stalls(service.stderr.read())
        assert code == 0, errors[-2000:]
        while "STOPPING=1" not in received:
            received += listener.recv(4096).decode().splitlines()
    finally:
        service.kill()
        listener.close()
    assert any(line.startswith("STATUS=ready") for line in received)
