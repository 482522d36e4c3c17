"""`reflect doctor` and `reflect devices` beside the running service, whose raw ALSA (hw:) devices admit one
process at a time: one line saying the service has them, never a PortAudio error or a traceback."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from audio.fakes import FakePortAudio, portaudio_device
from common.errors import AudioDeviceBusy, AudioDeviceMissing
from device.config import load_config
from device.flow.control import ControlServer, service_running
from device.setup.doctor import SERVICE_HAS_AUDIO, audio_finding, devices_report, findings, room_finding
from tests.rig import ROOT

USB = [
    portaudio_device(0, "USB Audio Device: - (hw:1,0)", 1, 0, 48000.0),
    portaudio_device(1, "bcm2835 Headphones: - (hw:0,0)", 0, 8),
]
IN_USE = (
    "microphone 'USB Audio Device: - (hw:1,0)' is in use by the Reflect service (it has the microphone while "
    "it runs); stop it with `sudo systemctl stop reflect` to test it"
)


@pytest.fixture
def run_dir():
    """A short private folder (an AF_UNIX path must fit in 108 bytes), as systemd's RuntimeDirectory."""
    folder = Path(tempfile.mkdtemp(prefix="rfd-"))
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def config(tmp_path):
    (tmp_path / "config.toml").write_text('[audio]\ninput_device = "hw:1,0"\n')
    return load_config(path=tmp_path / "config.toml", env={"REFLECT_STORAGE_DATA_DIR": str(tmp_path / "data")})


def test_a_busy_microphone_beside_the_service_is_one_warn_line_saying_the_service_has_it(config):
    finding = audio_finding(config, "input", FakePortAudio(USB, busy=True), service_running=lambda: True)
    assert (finding.level, finding.what, finding.detail) == ("WARN", "microphone", IN_USE)


def test_a_busy_speaker_beside_the_service_says_the_same_of_the_speaker(config):
    finding = audio_finding(config, "output", FakePortAudio(USB, default=(0, 1), busy=True), lambda: True)
    assert finding.level == "WARN" and finding.detail.startswith(
        "speaker 'bcm2835 Headphones: - (hw:0,0)' is in use by the Reflect service (it has the speaker while it runs)"
    )


def test_a_microphone_left_out_of_the_list_beside_the_service_is_the_same_warn_line(config):
    """PortAudio lists no hw: device that another process holds when it reads the list (a USB microphone with no
    outputs is then not there at all): with the service running, that is the service having it."""
    headphones_only = FakePortAudio(USB[1:])
    finding = audio_finding(config, "input", headphones_only, service_running=lambda: True)
    assert (finding.level, finding.detail) == ("WARN", IN_USE.replace("'USB Audio Device: - (hw:1,0)'", "'hw:1,0'"))
    finding = audio_finding(config, "input", headphones_only, service_running=lambda: False)
    assert finding.level == "FAIL" and finding.detail.startswith("No microphone is ALSA's 'hw:1,0'")


def test_a_busy_microphone_with_no_service_is_a_fail_naming_the_other_program(config):
    finding = audio_finding(config, "input", FakePortAudio(USB, busy=True), service_running=lambda: False)
    assert finding.level == "FAIL" and "in use by another program (" in finding.detail and "-9985" in finding.detail


def test_a_free_microphone_lists_the_rates_it_accepts(config):
    finding = audio_finding(config, "input", FakePortAudio(USB, refuses={16000, 22050}), lambda: True)
    assert (finding.level, finding.detail) == (
        "OK",
        "'USB Audio Device: - (hw:1,0)', native 48000 Hz, accepts 44100, 48000",
    )


def test_the_room_check_is_not_measured_when_the_service_has_the_microphone(config):
    def busy_microphone():
        raise AudioDeviceBusy("The microphone is in use by another program (Device unavailable [PaErrorCode -9985]).")

    assert room_finding(config, busy_microphone, lambda: True).detail == "not measured: " + IN_USE.replace(
        "'USB Audio Device: - (hw:1,0)'", "'hw:1,0'"
    )
    assert room_finding(config, busy_microphone, lambda: False).level == "FAIL"

    def unlisted_microphone():
        raise AudioDeviceMissing("No microphone is ALSA's 'hw:1,0' (available: none).")

    assert room_finding(config, unlisted_microphone, lambda: True).detail == "not measured: " + IN_USE.replace(
        "'USB Audio Device: - (hw:1,0)'", "'hw:1,0'"
    )
    assert room_finding(config, unlisted_microphone, lambda: False).detail == (
        "not measured: No microphone is ALSA's 'hw:1,0' (available: none)."
    )


def test_the_service_is_seen_running_by_its_live_control_socket_and_not_once_it_closed(tmp_path, run_dir):
    env = {"RUNTIME_DIRECTORY": str(run_dir)}
    assert not service_running(tmp_path, env)
    server = ControlServer(run_dir, on_gesture=lambda gesture: pytest.fail("a look is not a gesture"))
    try:
        assert service_running(tmp_path, env)
    finally:
        server.close()
    assert not service_running(tmp_path, env)
    (run_dir / "control.sock").touch()  # left by a killed `reflect run`: nobody answers there
    assert not service_running(tmp_path, env)


def test_doctor_beside_a_live_service_says_in_use_for_microphone_room_and_speaker(config, run_dir):
    env = {"RUNTIME_DIRECTORY": str(run_dir)}

    def open_microphone():
        raise AudioDeviceBusy("The microphone is in use by another program (Device unavailable [PaErrorCode -9985]).")

    server = ControlServer(run_dir, on_gesture=lambda gesture: None)
    try:
        found = list(
            findings(
                config,
                FakePortAudio(USB, default=(0, 1), busy=True),
                open_microphone,
                lambda: service_running(config.data_dir, env),
            )
        )
    finally:
        server.close()
    audio = {f.what: (f.level, f.detail) for f in found if f.what in ("microphone", "room", "speaker")}
    assert audio["microphone"] == ("WARN", IN_USE)
    assert audio["room"][0] == "WARN" and "in use by the Reflect service" in audio["room"][1]
    assert audio["speaker"][0] == "WARN" and "in use by the Reflect service" in audio["speaker"][1]


def test_devices_adds_one_line_only_while_the_service_runs():
    assert devices_report(FakePortAudio(USB), lambda: False) == str(USB)
    assert devices_report(FakePortAudio(USB), lambda: True) == f"{USB}\n{SERVICE_HAS_AUDIO}"
    assert "\n" not in SERVICE_HAS_AUDIO


def test_reflect_devices_beside_a_live_service_ends_with_that_line(tmp_path, run_dir):
    server = ControlServer(run_dir, on_gesture=lambda gesture: None)
    try:
        env = {**os.environ, "RUNTIME_DIRECTORY": str(run_dir), "XDG_CONFIG_HOME": str(tmp_path)}
        result = subprocess.run(
            [sys.executable, "-m", "device.setup.cli", "devices", "--data-dir", str(tmp_path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.close()
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.rstrip("\n").splitlines()[-1] == SERVICE_HAS_AUDIO
