"""`reflect press` and `reflect hold` reach the running service through its control socket."""

import json
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from audio.fakes import ScriptedMicrophone, speech
from common.errors import ControlRefused, ServiceUnreachable
from content.packs import find_pack
from device.flow.control import SOCKET_NAME, ControlServer, request, runtime_dir, socket_candidates
from device.flow.events import EventKind
from device.flow.gestures import Gesture
from device.flow.service import Device, ServiceLoop
from device.flow.session import SessionSettings
from tests.device.flow.session_harness import RATE, FakeDevice
from tests.rig import ROOT


def reflect(run_dir: Path, data: Path, *args: str) -> subprocess.CompletedProcess:
    """`reflect ARGS` in another process, as the service's user would run it under systemd."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(data.parent), "RUNTIME_DIRECTORY": str(run_dir)}
    return subprocess.run(
        [sys.executable, "-m", "device.setup.cli", *args, "--data-dir", str(data)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


class Inbox(list):
    def put(self, item):
        self.append(item)


def test_reflect_press_starts_a_session_in_the_running_service_and_reflect_hold_ends_it(tmp_path, run_dir):
    data = tmp_path / "data"
    fake = FakeDevice(tmp_path)
    held = []

    def hold_from_the_command_line():  # while the first answer is being said, from another process
        held.append(reflect(run_dir, data, "hold"))

    microphone = ScriptedMicrophone([speech(1, RATE) + [hold_from_the_command_line]], rate=RATE)
    saved = threading.Event()
    parts = fake.parts(microphone)
    parts.on_event = lambda event: (fake.events.append(event), event.kind is EventKind.SESSION_SAVED and saved.set())
    loop = ServiceLoop(
        Device(find_pack("therapy-relationship"), parts, SessionSettings(), model=None), data, replay=lambda: None
    )
    control = ControlServer(run_dir, parts.inbox.put)
    service = threading.Thread(target=loop.run)
    service.start()
    try:
        pressed = reflect(run_dir, data, "press")
        assert (pressed.returncode, pressed.stderr) == (0, "")
        assert saved.wait(timeout=30)
    finally:
        loop.stopping.set()
        service.join()
        control.close()
        fake.close()
    assert [(r.returncode, r.stderr) for r in held] == [(0, "")]
    [folder] = (data / "sessions").iterdir()
    record = json.loads((folder / "session.json").read_text())
    assert record["status"] == "ended_early"
    assert [(a["status"], a["ended_by"]) for a in record["answers"]] == [("answered", "hold")]
    assert not (run_dir / SOCKET_NAME).exists()  # gone with the service


def test_a_request_the_service_does_not_know_is_refused_in_one_line_and_nothing_happens(run_dir, tmp_path):
    inbox = Inbox()
    control = ControlServer(run_dir, inbox.put)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
            raw.connect(str(run_dir / SOCKET_NAME))
            raw.sendall(b"\xff\x00rm -rf /" * 20)
            raw.shutdown(socket.SHUT_WR)
            reply = raw.recv(200).decode()
        assert reply.startswith("refused: unknown request") and reply.count("\n") == 1
        with pytest.raises(ControlRefused, match="unknown request 'wiggle'"):
            request(tmp_path, "wiggle", env={"RUNTIME_DIRECTORY": str(run_dir)})
        request(tmp_path, "press", env={"RUNTIME_DIRECTORY": str(run_dir)})
    finally:
        control.close()
    assert [item.gesture for item in inbox] == [Gesture.PRESS]  # only the good request got through


def test_reflect_hold_long_is_the_button_kept_down_to_power_off(run_dir, tmp_path):
    """`reflect hold --long` gives the service what a button kept down past button.off_hold_s gives: a HOLD,
    then a LONG_HOLD (in the ready state: say it is safe to unplug, and power off)."""
    inbox = Inbox()
    control = ControlServer(run_dir, inbox.put)
    try:
        done = reflect(run_dir, tmp_path / "data", "hold", "--long")
        assert done.returncode == 0, done.stderr
        request(tmp_path, "hold", env={"RUNTIME_DIRECTORY": str(run_dir)})
    finally:
        control.close()
    assert [item.gesture for item in inbox] == [Gesture.HOLD, Gesture.LONG_HOLD, Gesture.HOLD]


def test_a_user_the_service_does_not_serve_is_refused(run_dir, tmp_path):
    inbox = Inbox()
    control = ControlServer(run_dir, inbox.put, allowed_uids=frozenset({os.getuid() + 4242}))
    try:
        with pytest.raises(ControlRefused, match="only the service's own user and root"):
            request(tmp_path, "press", env={"RUNTIME_DIRECTORY": str(run_dir)})
    finally:
        control.close()
    assert inbox == []


def test_the_socket_is_for_the_service_user_only(run_dir):
    control = ControlServer(run_dir / "reflect", Inbox().put)
    try:
        assert stat.S_IMODE((run_dir / "reflect").stat().st_mode) == 0o700
        assert stat.S_IMODE((run_dir / "reflect" / SOCKET_NAME).stat().st_mode) == 0o600
    finally:
        control.close()


def test_with_no_service_running_press_says_so_in_one_line(run_dir, tmp_path):
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # left behind by a killed service
    stale.bind(str(run_dir / SOCKET_NAME))
    stale.close()
    result = reflect(run_dir, tmp_path / "data", "press")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("reflect: The device is not running")
    with pytest.raises(ServiceUnreachable):
        request(tmp_path, "hold", env={"RUNTIME_DIRECTORY": str(run_dir / "absent")})


def test_the_runtime_dir_is_systemds_then_the_sessions_then_one_in_the_data_dir(tmp_path):
    assert runtime_dir(
        tmp_path, {"RUNTIME_DIRECTORY": "/run/reflect:/run/other", "XDG_RUNTIME_DIR": "/run/user/7"}
    ) == Path("/run/reflect")
    assert runtime_dir(tmp_path, {"XDG_RUNTIME_DIR": "/run/user/7"}) == Path("/run/user/7/reflect")
    assert runtime_dir(tmp_path, {}) == tmp_path / ".run"
    # A client started from a shell (no RUNTIME_DIRECTORY) still finds the installed service's socket.
    assert socket_candidates(tmp_path, {"XDG_RUNTIME_DIR": "/run/user/0"}) == [
        Path("/run/user/0/reflect/control.sock"),
        Path("/run/reflect/control.sock"),
        tmp_path / ".run" / "control.sock",
    ]
