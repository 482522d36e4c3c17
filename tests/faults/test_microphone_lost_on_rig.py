"""The audio server killed mid-answer (`pulseaudio --kill`), then restarted: a real device process on the rig."""

import json
import subprocess
import time
from pathlib import Path

import pytest

from audio.compress import decode
from content.phrases import PHRASES
from tests.faults.rig_process import DeviceProcess, prepare_dirs
from tests.rig import espeak_wav, start_rig

DETECT_WITHIN_S = 3.0
MAX_CPU_SHARE = 0.25
LONG_ANSWER = (
    "안녕하세요 오늘은 날씨가 정말 좋습니다 저는 학교에 갑니다 그리고 친구를 만납니다 우리는 어제 함께 밥을 먹었습니다"
)


def kill_audio_server() -> None:
    subprocess.run(["pulseaudio", "--kill"], check=True)
    for _ in range(50):
        if subprocess.run(["pactl", "info"], capture_output=True).returncode != 0:
            return
        time.sleep(0.05)
    raise AssertionError("the audio server did not stop")


@pytest.fixture
def restarted_rig(audio_rig):
    yield
    start_rig()  # whatever happened, leave the rig running for the next test


def test_audio_server_killed_mid_answer_is_detected_said_and_the_next_session_works(tmp_path, restarted_rig):
    settings = prepare_dirs(tmp_path)
    settings["listening"] = {"silence_after_speech_s": 1.0, "no_speech_s": 5.0}
    data = Path(settings["data_dir"])
    answer = espeak_wav(LONG_ANSWER, tmp_path / "answer.wav")
    device = DeviceProcess(settings, tmp_path / "driver.log")
    try:
        assert device.wait_for(lambda entry: entry["kind"] == "ready", 20)
        device.press()
        assert device.event("listening", question=1, timeout=20)
        player = subprocess.Popen(["paplay", "--device=mic", str(answer)])
        # Kill the server once the answer has been recording for a good second.
        assert device.wait_for(lambda entry: entry["kind"] == "fed" and entry["written"] > 44100 * 1.2, 15), (
            "no answer recorded"
        )
        cpu_before = device.cpu_seconds()
        killed_at = time.monotonic()
        kill_audio_server()
        player.wait(10)

        lost = device.event("error", "microphone_lost", timeout=10)
        assert lost is not None, "the lost microphone was not noticed"
        detected_s = lost["at"] - killed_at
        ready = device.wait_for(
            lambda entry: entry["kind"] == "event" and entry["phase"] == "ready" and entry["at"] > lost["at"], 20
        )
        assert ready is not None, "the device did not return to ready"
        waited = time.monotonic() - killed_at
        cpu_share = (device.cpu_seconds() - cpu_before) / waited
        said = [entry["text"] for entry in device.lines if entry["kind"] == "say" and entry["at"] > lost["at"]]

        folder = next((data / "sessions").iterdir())
        record = json.loads((folder / "session.json").read_text())
        [first] = record["answers"]
        assert (first["status"], first["ended_by"]) == ("answered", "mic_lost")
        samples, rate = decode(folder / first["audio"])
        kept_s = len(samples) / rate

        # The audio server comes back; the same process takes the next press without a restart.
        start_rig()
        device.press()
        second_listening = device.wait_for(
            lambda entry: entry["kind"] == "event" and entry["phase"] == "listening" and entry["at"] > ready["at"], 30
        )
        assert second_listening is not None
        subprocess.run(["paplay", "--device=mic", str(answer)], check=True)
        saved = device.wait_for(
            lambda entry: (
                entry["kind"] == "event" and entry["phase"] == "saving" and entry["at"] > second_listening["at"]
            ),
            20,
        )
        assert saved is not None and saved["ended_by"] == "silence", saved
        device.press()  # skip the second question
        device.wait_for(
            lambda entry: entry["kind"] == "event" and entry["phase"] == "ready" and entry["at"] > saved["at"], 30
        )
        logs = [entry["message"] for entry in device.lines if entry["kind"] == "log"]
    finally:
        device.close()

    print(
        f"\nmicrophone lost: detected {detected_s:.2f} s after the audio server died; CPU {cpu_share:.1%} of a core "
        f"while waiting; partial answer kept: {kept_s:.1f} s; said afterwards: {said}"
    )
    assert detected_s <= DETECT_WITHIN_S
    assert cpu_share <= MAX_CPU_SHARE, "no busy waiting while the microphone is gone"
    assert kept_s >= 1.0
    assert PHRASES.microphone_lost in said, "the notice was attempted"
    assert "re-read the audio device list" in logs
    sessions = sorted((data / "sessions").iterdir())
    assert len(sessions) == 2
    second = json.loads((sessions[1] / "session.json").read_text())
    assert (second["answers"][0]["status"], second["answers"][0]["ended_by"]) == ("answered", "silence")
    samples, rate = decode(sessions[1] / second["answers"][0]["audio"])
    assert len(samples) / rate >= 2.0
