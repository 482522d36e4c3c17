"""A real session: PortAudio on the PulseAudio rig, real espeak-ng prompts, real Vosk, gpiozero's MockFactory button."""
import json
import stat

import pytest

from audio.recognizer import decode_wav
from device.app import build_device
from device.config import load_config
from device.demo import MockButton
from device.service import ServiceLoop
from device.simulated_person import Ending, SimulatedPerson
from tests.rig import (espeak_wav, korean_model, play_into_mic, read_int16, similarity, start_rig,
                       word_error_rate)

ANSWERS = [
    "안녕하세요 오늘은 날씨가 정말 좋습니다",
    "저는 학교에 갑니다 그리고 친구를 만납니다",
    "",  # this question is left unanswered
    "우리는 어제 함께 밥을 먹었습니다",
]
PLAN = (Ending.PRESS, Ending.SILENCE, Ending.SKIP, Ending.PRESS)


@pytest.fixture(scope="module")
def finished_session(tmp_path_factory):
    """Runs one whole session on the rig; returns (session.json, its folder, the answer WAVs played, the device)."""
    start_rig()
    tmp = tmp_path_factory.mktemp("rig-session")
    wavs = [espeak_wav(text, tmp / f"answer{n}.wav") if text else None for n, text in enumerate(ANSWERS, 1)]
    config = load_config(env={}, overrides={
        "storage": {"data_dir": str(tmp / "data"), "cache_dir": str(tmp / "cache")},
        "model": {"path": str(korean_model())},
        "listening": {"silence_after_speech_s": 2.5, "no_speech_s": 5.0},
    })
    device = build_device(config)
    button = MockButton(config, device.parts.inbox.put)
    person = SimulatedPerson(lambda question: play_into_mic(wavs[question - 1]), button.press, button.hold, PLAN)
    device.parts.on_event = person.on_event
    try:
        button.press()
        notes = ServiceLoop(device, config.data_dir, replay=lambda: None).handle(device.parts.inbox.get(timeout=5))
        device.parts.transcriber.drain()
        model = device.model.get()
    finally:
        person.close()
        button.close()
        device.close()
    record = json.loads((notes.folder / "session.json").read_text())
    return record, notes.folder, wavs, model


def test_every_answer_ends_the_way_the_person_ended_it(finished_session):
    record, *_ = finished_session
    assert record["status"] == "complete"
    assert [(a["status"], a["ended_by"]) for a in record["answers"]] == [
        ("answered", "press"), ("answered", "silence"), ("skipped", "no_speech"), ("answered", "press")]


def test_saved_audio_holds_what_was_played(finished_session):
    record, folder, wavs, _ = finished_session
    for answer in record["answers"]:
        if answer["status"] != "answered":
            continue
        saved, rate = read_int16(folder / answer["audio"])
        played, played_rate = read_int16(wavs[answer["index"] - 1])
        assert len(saved) / rate == pytest.approx(answer["duration_s"], abs=0.01)
        assert abs(len(saved) / rate - len(played) / played_rate) <= 0.25, answer["index"]
        assert similarity(played, played_rate, saved, rate) >= 0.8, answer["index"]


def test_live_transcript_matches_a_direct_decode_of_the_saved_file(finished_session):
    record, folder, _, model = finished_session
    for answer in record["answers"]:
        if answer["status"] != "answered":
            continue
        direct = decode_wav(model, folder / answer["audio"])
        assert direct.text, "the recognizer heard nothing in the saved answer"
        assert word_error_rate(direct.text, answer["transcript"]) <= 0.25, (direct.text, answer["transcript"])
        assert answer["words"] and all(0 <= w["start"] <= w["end"] <= answer["duration_s"] + 0.5 for w in answer["words"])


def test_notes_are_private_and_complete(finished_session):
    record, folder, _, _ = finished_session
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["01.wav", "02.wav", "04.wav", "session.json", "transcript.md"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())
    markdown = (folder / "transcript.md").read_text()
    assert "*(skipped)*" in markdown and record["answers"][0]["transcript"] in markdown
