"""The session flow on fakes: every way an answer and a session can end."""

import json

import pytest

from audio.compress import decode
from audio.fakes import ScriptedMicrophone, silence, speech
from device.flow.events import Phase
from tests.device.flow.session_harness import RATE


def saved(notes):
    return json.loads((notes.folder / "session.json").read_text())


def test_a_full_session_ends_answers_by_silence_press_no_speech_and_max_length(fake_device):
    answers = [
        speech(2, RATE) + silence(3, RATE) + speech(1, RATE) + silence(7.5, RATE),  # a long pause does not cut it
        speech(1.5, RATE) + [fake_device.press],
        silence(31, RATE),
        speech(301, RATE),
    ]
    record = saved(fake_device.run(answers))
    assert record["status"] == "complete"
    ended = [(a["status"], a["ended_by"]) for a in record["answers"]]
    assert ended == [
        ("answered", "silence"),
        ("answered", "press"),
        ("skipped", "no_speech"),
        ("answered", "max_length"),
    ]
    first = record["answers"][0]
    assert first["duration_s"] == pytest.approx(6.0 + 0.2, abs=0.01)  # speech from its first chunk, plus the tail
    assert first["transcript"] == " ".join(["word"] * 13)  # the recognizer heard up to the 7 s of silence
    assert record["answers"][2]["audio"] is None
    folder = fake_device.tmp / "data" / "sessions" / record["id"]
    audio = sorted(p.name for p in folder.iterdir() if p.name not in ("session.json", "transcript.md"))
    assert audio == ["01.opus", "02.opus", "04.opus"]  # compressed after recognition; no WAV, part or reserve left
    assert [a["audio"] for a in record["answers"]] == ["01.opus", "02.opus", None, "04.opus"]
    samples, rate = decode(folder / "01.opus")
    assert len(samples) / rate == pytest.approx(first["duration_s"], abs=0.02)


def test_a_hold_while_listening_ends_the_session_and_keeps_the_answer(fake_device):
    record = saved(fake_device.run([speech(2, RATE) + [fake_device.hold]]))
    assert record["status"] == "ended_early"
    assert [(a["status"], a["ended_by"]) for a in record["answers"]] == [("answered", "hold")]
    assert record["answers"][0]["transcript"] == "word word"


def test_a_press_while_listening_before_any_speech_skips_the_question(fake_device):
    record = saved(fake_device.run([[fake_device.press]] + [silence(1, RATE) + [fake_device.press]] * 3))
    assert [a["status"] for a in record["answers"]] == ["skipped"] * 4
    assert record["status"] == "complete"


def test_a_lost_microphone_keeps_the_partial_answer_and_ends_the_session(fake_device):
    record = saved(fake_device.run([speech(1, RATE) + [ScriptedMicrophone.LOSE]]))
    assert record["status"] == "ended_early"
    assert [(a["status"], a["ended_by"]) for a in record["answers"]] == [("answered", "mic_lost")]
    assert any(e.phase is Phase.ERROR for e in fake_device.events)


def test_a_microphone_that_goes_quiet_counts_as_lost(fake_device):
    record = saved(fake_device.run([speech(1, RATE)]))  # no more chunks, no error
    assert record["answers"][0]["ended_by"] == "mic_lost"


def test_events_follow_the_script(fake_device):
    fake_device.run([speech(1, RATE) + [fake_device.press]] * 4)
    phases = [(e.phase, e.question) for e in fake_device.events]
    assert phases[0] == (Phase.SPEAKING, None)
    for q in range(1, 5):
        i = phases.index((Phase.SPEAKING, q))
        assert phases[i + 1 : i + 3] == [(Phase.LISTENING, q), (Phase.SAVING, q)]
    assert phases[-2:] == [(Phase.SPEAKING, None), (Phase.READY, None)]


def test_late_chunks_from_an_earlier_sessions_capture_are_not_part_of_a_new_answer(fake_device):
    from device.flow.inbox import AudioChunk

    first_ids = []
    put = fake_device.inbox.put
    fake_device.inbox.put = lambda item: (isinstance(item, AudioChunk) and first_ids.append(item.capture), put(item))
    fake_device.run([speech(1, RATE) + [fake_device.press], [ScriptedMicrophone.LOSE]])
    fake_device.inbox.put = put
    old_capture = first_ids[0]

    def late_chunks_of_the_old_capture():
        for chunk in speech(3, RATE):
            put(AudioChunk(old_capture, chunk))

    record = saved(
        fake_device.run(
            [[late_chunks_of_the_old_capture] + speech(1, RATE) + [fake_device.press], [ScriptedMicrophone.LOSE]]
        )
    )
    first = record["answers"][0]
    assert (first["status"], first["ended_by"]) == ("answered", "press")
    assert first["duration_s"] == pytest.approx(1.0, abs=0.25)  # its own second of speech, not the old three


def test_an_answer_that_cannot_be_sealed_still_frees_its_recognizer(fake_device, monkeypatch):
    """An I/O error (not a full disk) sealing the answer fails the session, but the worker lets the recognizer go."""
    import errno

    from audio.fakes import FakeRecognizer
    from audio.worker import Worker
    from device.flow.session import AnswerCapture

    opened, ended = [], []

    class CountedRecognizer(FakeRecognizer):
        def __init__(self, rate):
            super().__init__(rate)
            opened.append(self)

        def finish(self):
            ended.append(self)
            return super().finish()

    def broken_finish(capture):
        raise OSError(errno.EIO, "Input/output error")

    fake_device.worker.close()
    fake_device.worker = Worker(CountedRecognizer)
    monkeypatch.setattr(AnswerCapture, "finish", broken_finish)
    fake_device.run([speech(1, RATE) + [fake_device.press]])
    assert len(opened) == 1, "the answer's speech never reached a recognizer"
    assert ended == opened, "the recognizer was never ended and stays on the worker"
    assert any(event.phase is Phase.ERROR for event in fake_device.events)
