"""Recovery, in detail: transcribing what is missing (at once or later on the worker), transcript.md, the
records it sets aside, what it logs, and that every removal is durable."""

import json
import logging
import os

import numpy as np
import pytest

from audio.compress import compress_answer
from audio.fakes import FakeRecognizer
from audio.wavfile import WavWriter
from device.notes.recovery import recover
from tests.faults.recovery_support import RATE, begin, finished, speech, unfinished
from tests.faults.support import session_records


class Recording(FakeRecognizer):
    fed = []

    def feed(self, samples):
        Recording.fed.append(samples.copy())
        super().feed(samples)


def test_recovery_feeds_the_recognizer_every_sample_in_short_steps_and_saves_each_transcript(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    samples = speech(2.5)
    finished(notes, 1, samples)
    finished(notes, 2, speech(1.0, 3))
    notes.set_transcript(2, FakeRecognizer(RATE).finish())
    notes.finish("complete")
    Recording.fed = []
    report = recover(data, new_recognizer=Recording)
    assert report.transcribed == [f"sessions/{notes.id}/01.wav"]
    assert [len(chunk) for chunk in Recording.fed] == [int(RATE * 0.2)] * 12 + [RATE // 10]
    assert np.array_equal(np.concatenate(Recording.fed), samples)
    [(folder, record)] = session_records(data)
    assert record["answers"][0]["transcript"] == "word word"
    assert record["answers"][0]["words"] == [
        {"word": "word", "start": 0.0, "end": 0.5, "conf": 1.0},
        {"word": "word", "start": 1.0, "end": 1.5, "conf": 1.0},
    ]
    assert "word word" in (folder / "transcript.md").read_text()


def test_an_answer_that_cannot_be_transcribed_is_reported_and_the_others_still_are(tmp_path, caplog):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(1.0))
    finished(notes, 2, speech(1.0, 2))
    (notes.folder / "01.wav").write_bytes(b"garbage")
    notes.finish("complete")
    report = recover(data, new_recognizer=FakeRecognizer)
    assert report.transcribed == [f"sessions/{notes.id}/02.wav"]
    [problem] = report.problems
    assert problem.startswith(f"sessions/{notes.id}/01.wav: not transcribed (")
    [(_, record)] = session_records(data)
    assert [a["transcript"] for a in record["answers"]] == [None, "word"]
    assert any("could not transcribe answer 1" in r.getMessage() for r in caplog.records)


def test_a_model_is_used_through_its_loader_for_missing_transcripts(tmp_path, monkeypatch):
    import device.notes.recovery as recovery

    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(1.0))
    notes.finish("complete")
    made = []

    class Loader:
        def get(self):
            return "the model"

    def answer_recognizer(model, rate):
        made.append((model, rate))
        return FakeRecognizer(rate)

    monkeypatch.setattr(recovery, "AnswerRecognizer", answer_recognizer)
    report = recover(data, Loader())
    assert made == [("the model", RATE)]
    assert report.transcribed == [f"sessions/{notes.id}/01.wav"]


def test_a_lost_transcript_md_is_rebuilt_from_session_json(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(0.5))
    notes.finish("complete")
    expected = (notes.folder / "transcript.md").read_text()
    (notes.folder / "transcript.md").write_bytes(b"\xff\xfe half written")
    recover(data)
    assert (notes.folder / "transcript.md").read_text() == expected
    (notes.folder / "transcript.md").unlink()
    recover(data)
    assert (notes.folder / "transcript.md").read_text() == expected


def test_a_record_transcript_md_cannot_be_made_from_is_reported_and_left(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    del notes.record["pack"]
    notes.record["status"] = "complete"
    (notes.folder / "session.json").write_text(json.dumps(notes.record))
    report = recover(data)
    assert report.problems == [f"{notes.id}: transcript.md not rebuilt (KeyError)"]
    assert report.set_aside == []


@pytest.mark.parametrize(
    "change,reason",
    [
        (lambda r: r.update(sample_rate=0), "'sample_rate' is not positive"),
        (lambda r: r.update(sample_rate=-8000), "'sample_rate' is not positive"),
        (lambda r: r.update(sample_rate=True), "'sample_rate' is missing or has the wrong type"),
        (lambda r: r.update(questions="One?"), "'questions' is missing or has the wrong type"),
        (lambda r: r.pop("answers"), "'answers' is missing or has the wrong type"),
        (lambda r: r.update(answers=[{"index": True}]), "an answer has no index"),
        (lambda r: r.update(answers=[{"index": "1"}]), "an answer has no index"),
        (lambda r: r.update(answers=[{"audio": "01.wav"}]), "an answer has no index"),
        (lambda r: r.update(answers=[{"index": 1, "audio": ""}]), "answer 1's audio is not a file name"),
        (lambda r: r.update(answers=[{"index": 2, "audio": ".."}]), "answer 2's audio is not a file name"),
        (lambda r: r.update(answers=[{"index": 1, "audio": "."}]), "answer 1's audio is not a file name"),
        (lambda r: r.update(answers=[{"index": 1, "audio": "a/01.wav"}]), "answer 1's audio is not a file name"),
        (lambda r: r.update(answers=[{"index": 1, "audio": 7}]), "answer 1's audio is not a file name"),
        (lambda r: r.update(version=4), "unknown version 4"),
        (lambda r: r.update(version="1" * 40), "unknown version '1111111111111111111"),
    ],
)
def test_a_session_json_recovery_cannot_trust_is_set_aside_with_the_reason_logged(tmp_path, caplog, change, reason):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    change(notes.record)
    (notes.folder / "session.json").write_text(json.dumps(notes.record))
    report = recover(data)
    assert report.set_aside == [f"damaged/{notes.id}"]
    [message] = [r.getMessage() for r in caplog.records if "is damaged" in r.getMessage()]
    assert reason in message


def test_a_session_json_with_odd_but_valid_answers_is_recovered(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    notes.record["answers"] = [
        {
            "index": 1,
            "question": "One?",
            "audio": None,
            "duration_s": 0.0,
            "transcript": "",
            "words": [],
            "status": "skipped",
            "ended_by": "press",
        }
    ]
    notes.save()
    report = recover(data)
    assert report.set_aside == [] and report.interrupted == [f"sessions/{notes.id}"]


def test_recovery_tells_the_log_what_it_repaired_and_never_what_was_said(tmp_path, caplog):
    data = tmp_path / "data"
    a = begin(data, tmp_path, 1)
    unfinished(a, 1, speech(2.5))
    WavWriter(a.audio_path(2), RATE)  # killed straight after opening
    b = begin(data, tmp_path, 2)
    finished(b, 1, speech(0.5), noted=False)
    c = begin(data, tmp_path, 3)
    finished(c, 1, speech(1.0))
    (c.folder / "01.flac").write_bytes(b"fLaC cut short")
    c.finish("complete")
    (data / "sessions" / "2026-03-01_100004").mkdir()
    (c.folder / "02.opus.part").write_bytes(b"OggS")
    with caplog.at_level(logging.INFO, logger="device.notes.recovery"):
        report = recover(data)
    messages = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "device.notes.recovery"]
    assert messages == [
        ("INFO", f"answer 1 of session {a.id} was interrupted; finalized 2.5 s of audio"),
        ("INFO", f"answer 2 of session {a.id} was interrupted before any audio was written"),
        ("INFO", f"session {a.id} was interrupted; marked so"),
        ("INFO", f"answer 1 of session {b.id} was saved but not noted; noted as interrupted"),
        ("INFO", f"session {b.id} was interrupted; marked so"),
        ("WARNING", f"answer 01 of session {c.id}: the compressed copy is incomplete; keeping the WAV"),
        ("INFO", "removed empty session folder 2026-03-01_100004"),
        ("WARNING", f"recovery: sessions/{c.id}/02.opus.part: compressed part without its source; left alone"),
        ("INFO", report.summary()),
    ]
    assert report.summary() == "recovery: 1 repaired, 1 noted, 2 interrupted, 5 removed, 1 problem"


def test_every_removal_is_made_durable_in_its_folder(tmp_path, monkeypatch):
    import device.notes.session_repair as recovery

    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(1.0))
    (notes.folder / "01.flac").write_bytes(b"fLaC cut short")
    (notes.folder / ".session.json.tmp").write_text("{")
    empty = data / "sessions" / "2026-03-01_100009"
    empty.mkdir()
    synced = []
    real = recovery.fsync_dir
    monkeypatch.setattr(
        recovery, "fsync_dir", lambda path: (synced.append((path, sorted(p.name for p in path.iterdir()))), real(path))
    )
    recover(data)
    assert synced == [
        (notes.folder, ["01.flac", "01.wav", "session.json", "transcript.md"]),  # the temp file and reserve are gone
        (notes.folder, ["01.wav", "session.json", "transcript.md"]),  # the cut-short copy is gone
        (data / "sessions", [notes.id]),  # the empty folder is gone
    ]


def test_recover_at_start_transcribes_later_with_the_model_it_is_given(tmp_path, monkeypatch):
    import device.notes.recovery as recovery
    from audio.worker import Worker
    from device.notes.recovery import recover_at_start

    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(1.0))
    made = []

    class Loader:
        def get(self):
            return "the model"

    monkeypatch.setattr(
        recovery, "AnswerRecognizer", lambda model, rate: made.append((model, rate)) or FakeRecognizer(rate)
    )
    worker = Worker(FakeRecognizer)
    try:
        report = recover_at_start(data, worker, model=Loader())
        assert made == [], "start-up itself never waits for the model"
        worker.drain()
    finally:
        worker.close()
    assert report.interrupted == [f"sessions/{notes.id}"]
    assert made == [("the model", RATE)]
    [(_, record)] = session_records(data)
    assert record["answers"][0]["transcript"] == "word"


def test_recover_at_start_without_a_model_or_sessions_queues_nothing(tmp_path):
    from device.notes.recovery import recover_at_start

    class Worker:
        queued = []

        def later(self, work):
            self.queued.append(work)

    data = tmp_path / "data"
    recover_at_start(data, Worker(), model=object())  # no sessions yet
    begin(data, tmp_path)
    recover_at_start(data, Worker())  # no model
    recover_at_start(data, None, new_recognizer=FakeRecognizer)  # no worker
    assert Worker.queued == []
    recover_at_start(data, Worker(), new_recognizer=FakeRecognizer)
    assert len(Worker.queued) == 1


def test_recovery_logs_a_summary_only_when_it_changed_something_or_found_a_problem(tmp_path, caplog):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    unfinished(notes, 1, speech(0.5))
    with caplog.at_level(logging.INFO, logger="device.notes.recovery"):
        report = recover(data)
        assert not report.problems
        assert caplog.records[-1].getMessage() == report.summary()
        caplog.clear()
        recover(data)
    assert caplog.records == []


def test_a_compressed_copy_within_20_ms_of_its_wav_counts_as_complete_and_replaces_it(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    samples = speech(0.04)
    wav = finished(notes, 1, samples)
    short = WavWriter(notes.folder / "short.wav", RATE)
    short.write(samples[: len(samples) - RATE // 50])  # exactly 20 ms shorter
    os.replace(compress_answer(short.finish(), codec="flac"), notes.folder / "01.flac")
    notes.finish("complete")
    report = recover(data)
    assert report.removed == [f"sessions/{notes.id}/01.wav"] and not wav.exists()
    [(_, record)] = session_records(data)
    assert record["answers"][0]["audio"] == "01.flac"


def test_recover_command_transcribes_with_the_model_it_is_given(tmp_path, monkeypatch, capsys):
    import device.notes.recovery as recovery
    from device.notes.recovery import recover_command

    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(1.0))
    notes.finish("complete")

    class Loader:
        def get(self):
            return "the model"

    monkeypatch.setattr(recovery, "AnswerRecognizer", lambda model, rate: FakeRecognizer(rate))
    assert recover_command(data, Loader()) == 0
    assert capsys.readouterr().out == "recovery: 1 transcribed\n"
