"""`reflect doctor` on this machine: each finding matches reality and the exit code follows."""

import os
import subprocess
import sys

import pytest

from tests.rig import ROOT, korean_model

pytestmark = pytest.mark.usefixtures("audio_rig")


def doctor(tmp_path, *flags, netns=False, env_extra=None):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "GPIOZERO_PIN_FACTORY": "mock", **(env_extra or {})}
    command = [sys.executable, "-m", "device.setup.cli", "doctor", "--data-dir", str(tmp_path / "data"), *flags]
    result = subprocess.run(
        (["unshare", "--net"] if netns else []) + command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = {line[5:].split(":")[0]: line[:4].strip() for line in result.stdout.splitlines()}
    return result.returncode, lines, result.stdout


def test_all_good_under_no_network_exits_zero(tmp_path):
    code, lines, out = doctor(
        tmp_path, "--model", str(korean_model()), netns=True, env_extra={"REFLECT_CLOCK_TRUST": "yes"}
    )
    assert lines == {
        "microphone": "OK",
        "room": "WARN",
        "speaker": "OK",
        "speech model": "OK",
        "pack": "OK",
        "GPIO": "WARN",
        "button": "OK",
        "free space": "OK",
        "data dir": "WARN",
        "clock": "OK",
        "network": "OK",
    }, out
    assert "hears almost nothing" in out  # the rig's microphone is digital silence while nothing plays into it
    assert code == 0


@pytest.mark.parametrize(
    "dbfs, level, said", [(-44, "OK", "detection handles up to -35"), (-30, "WARN", "away from the fan")]
)
def test_the_room_check_reports_the_noise_floor_of_what_the_microphone_hears(tmp_path, dbfs, level, said):
    from bench.room_sounds import at_rms_dbfs, pink_noise, write_wav

    noise = write_wav(tmp_path / "room.wav", at_rms_dbfs(pink_noise(30, 44100), dbfs), 44100)
    player = subprocess.Popen(["paplay", "--device=mic", str(noise)])
    try:
        code, lines, out = doctor(tmp_path, "--model", str(korean_model()))
    finally:
        player.terminate()
        player.wait()
    floor = float(out.split("room noise floor ")[1].split(" dBFS")[0])
    assert lines["room"] == level and said in out and dbfs - 5 <= floor <= dbfs, out


def test_a_missing_model_is_a_fail_naming_the_fix(tmp_path):
    code, lines, out = doctor(tmp_path, "--model", str(tmp_path / "nowhere"))
    assert lines["speech model"] == "FAIL" and "reflect model install" in out
    assert code == 1


def test_a_microphone_that_is_not_there_fails(tmp_path):
    code, lines, out = doctor(
        tmp_path, "--model", str(korean_model()), env_extra={"REFLECT_AUDIO_INPUT_DEVICE": "no-such-usb-mic"}
    )
    assert lines["microphone"] == "FAIL" and "no-such-usb-mic" in out
    assert code == 1


def test_notes_readable_by_others_fail(tmp_path):
    (tmp_path / "data" / "sessions").mkdir(parents=True)
    (tmp_path / "data").chmod(0o755)
    code, lines, out = doctor(tmp_path, "--model", str(korean_model()))
    assert lines["data dir"] == "FAIL" and "755" in out
    assert code == 1


def test_without_gpio_the_pin_factory_fails(tmp_path):
    code, lines, out = doctor(tmp_path, "--model", str(korean_model()), env_extra={"GPIOZERO_PIN_FACTORY": "lgpio"})
    assert lines["GPIO"] == "FAIL" and "--keyboard" in out
    assert code == 1
