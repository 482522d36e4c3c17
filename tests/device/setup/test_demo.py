"""`reflect demo` on fakes: which answer the simulated person gives to which question, and no speaker is no error."""

import functools
import io

import numpy as np
import pytest
import soundfile as sf

from audio.fakes import FakeRecognizer, FakeSpeaker, speech
from audio.synthesis import PromptCache
from audio.worker import Worker
from device.config import load_config
from device.flow.inbox import Inbox
from device.flow.parts import SessionParts
from device.flow.service import Device
from device.setup import demo
from device.setup.simulated_person import SimulatedPerson
from device.setup.wiring import load_pack, session_settings

SECONDS = {"first": 0.4, "second": 0.8, "third": 1.2}
"""Each given answer is this long, so the saved answers show which was said where."""


class SilentPrompts(PromptCache):
    """Every prompt a tenth of a second of silence, without espeak."""

    def _render(self, texts):
        for text in texts:
            sf.write(self.path_for(text), np.zeros(1600, dtype=np.int16), 16000, subtype="PCM_16")


@pytest.fixture
def demo_on_fakes(tmp_path, monkeypatch):
    """run_demo with a fake speaker, prompts and recognizer, short waits, and answers as tones of known length."""
    built = {}

    def build_device(config, open_microphone, without_speaker=None):
        built["without_speaker"] = without_speaker
        parts = SessionParts(
            FakeSpeaker(), open_microphone, SilentPrompts(tmp_path / "cache"), Worker(FakeRecognizer), Inbox()
        )
        return Device(load_pack(config), parts, session_settings(config), model=None)

    def synthesize_answer(text, voice, rate):
        return np.concatenate(speech(SECONDS[text], rate))  # voice-like: a steady tone is a hum the room makes

    monkeypatch.setattr(demo, "build_device", build_device)
    monkeypatch.setattr(demo, "synthesize_answer", synthesize_answer)
    monkeypatch.setattr(demo, "DEMO_LISTENING", {"silence_after_speech_s": 0.5, "no_speech_s": 1.0})
    monkeypatch.setattr(demo, "SimulatedPerson", functools.partial(SimulatedPerson, think_s=0.1))
    config = load_config(env={}, overrides={"storage": {"data_dir": str(tmp_path / "data")}})

    def run(answers):
        record, said = demo.run_demo(config, answers, "en", (tmp_path / "timeline.txt").open("w"))
        assert said == demo.answer_script(len(record["questions"]), answers, [])
        return record, built["without_speaker"]

    return run


def test_the_given_answers_go_in_order_to_the_questions_answered(demo_on_fakes):
    record, without_speaker = demo_on_fakes(["first", "second", "third"])
    said = [(a["index"], a["status"], a["duration_s"]) for a in record["answers"]]
    assert [(index, status) for index, status, _ in said] == [
        (1, "answered"),
        (2, "answered"),
        (3, "skipped"),
        (4, "answered"),
    ]
    durations = [duration for _, status, duration in said if status == "answered"]
    kept = [SECONDS[text] + 0.3 for text in ("first", "second", "third")]  # with the 0.1 s lead and 0.2 s tail
    assert durations == pytest.approx(kept, abs=0.15)
    assert "demo runs without a speaker" in (without_speaker or "")


def test_the_summary_shows_what_was_said_beside_what_was_heard(demo_on_fakes):
    record, _ = demo_on_fakes(["first", "second", "third"])
    record["answers"][0]["transcript"] = "furst"  # what a recognizer may make of it
    out = io.StringIO()
    demo.print_summary(record, {1: "first", 2: "second", 4: "third"}, out)
    lines = out.getvalue().splitlines()
    first = lines.index("     said:  first")
    assert lines[first + 1] == "     heard: furst"
    assert "     said:  third" in lines and "     skipped (no_speech)" in lines


@pytest.mark.parametrize(
    "answers, expected",
    [
        (["a", "b", "c"], {1: "a", 2: "b", 4: "c"}),
        (["a"], {1: "a"}),
        (["a", "b", "c", "d", "e"], {1: "a", 2: "b", 4: "c"}),
    ],
)
def test_given_answers_fill_the_answered_questions_in_order_and_fewer_leave_the_rest_skipped(answers, expected):
    assert demo.answer_script(4, answers, ["sample one", "sample two", "sample three", "sample four"]) == expected


def test_without_given_answers_each_question_gets_its_own_sample_answer():
    assert demo.answer_script(4, [], ["s1", "s2", "s3", "s4"]) == {1: "s1", 2: "s2", 4: "s4"}
    assert demo.answer_script(4, [], ["s1"]) == {1: "s1"}
    assert demo.answer_script(2, [], []) == {1: demo.STOCK_ANSWER, 2: demo.STOCK_ANSWER}
