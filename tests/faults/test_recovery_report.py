"""Recovery, in detail: what it reports and prints, which sessions it touches, and how it notes each answer it finds."""

import pytest

from audio.wavfile import WavWriter
from device.notes.recovery import recover
from tests.faults.recovery_support import RATE, begin, finished, speech, unfinished
from tests.faults.support import session_records


def test_the_report_says_what_was_done_in_a_summary_without_anything_said(tmp_path):
    from device.notes.recovery import RecoveryReport

    empty = RecoveryReport()
    assert not empty.changed and empty.summary() == "recovery: nothing to do"
    seen = RecoveryReport(sessions=["a"], problems=["x", "y"])
    assert not seen.changed, "looking at sessions and finding problems changes nothing on disk"
    assert seen.summary() == "recovery: 2 problems"
    for name in ("repaired", "noted", "interrupted", "transcribed", "compressed", "removed", "set_aside", "unindexed"):
        assert RecoveryReport(**{name: ["p"]}).changed, name
    report = RecoveryReport(repaired=["a", "b"], set_aside=["c"], problems=["d"], sessions=["e"])
    assert report.summary() == "recovery: 2 repaired, 1 set aside, 1 problem"


def test_recover_command_prints_the_summary_and_fails_only_on_problems(tmp_path, capsys):
    from device.notes.recovery import recover_command

    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    unfinished(notes, 1, speech(0.5))
    (notes.folder / "03.opus.part").write_bytes(b"OggS")  # a compressed part with no source: a problem
    broken = begin(data, tmp_path, 1)
    (broken.folder / "session.json").write_text("{")
    assert recover_command(data) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "recovery: 1 repaired, 1 interrupted, 2 removed, 1 set aside, 1 problem"  # two reserves
    assert out[1] == f"  set aside: damaged/{broken.id}"
    assert out[2] == f"  problem: sessions/{notes.id}/03.opus.part: compressed part without its source; left alone"
    (notes.folder / "03.opus.part").unlink()
    assert recover_command(data) == 0
    assert capsys.readouterr().out == "recovery: nothing to do\n"


def test_recovered_keeps_answers_as_wav_unless_told_a_format(tmp_path):
    from device.notes.recovery import recovered

    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(0.5))
    notes.finish("complete")
    assert recovered(data) == (0, "recovery: nothing to do")
    [(_, record)] = session_records(data)
    assert [a["audio"] for a in record["answers"]] == ["01.wav"]
    assert sorted(p.name for p in notes.folder.glob("01.*")) == ["01.wav"]


def test_a_search_index_recovery_cannot_check_is_one_problem_and_the_notes_are_still_repaired(tmp_path, monkeypatch):
    import sqlite3

    from device.notes.archive import Archive

    def locked(self, sealed):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(Archive, "forget_sealed", locked)
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    unfinished(notes, 1, speech(0.3))
    report = recover(data)
    assert report.problems == ["index: OperationalError"] and report.repaired == [f"sessions/{notes.id}/01.wav"]


def test_recovery_of_a_missing_data_dir_does_nothing(tmp_path):
    report = recover(tmp_path / "nowhere")
    assert report.sessions == [] and not report.changed and not report.problems


def test_only_the_named_sessions_are_recovered_and_hidden_folders_and_files_are_ignored(tmp_path):
    data = tmp_path / "data"
    first, second = begin(data, tmp_path, 1), begin(data, tmp_path, 2)
    for notes in (first, second):
        unfinished(notes, 1, speech(0.3))
    hidden = data / "sessions" / ".trash"
    hidden.mkdir()
    (data / "sessions" / "stray.txt").write_text("not a session")
    report = recover(data, only={second.id})
    assert report.sessions == [second.id]
    assert (first.folder / "01.wav.part").exists() and not (second.folder / "01.wav.part").exists()
    assert hidden.exists() and (data / "sessions" / "stray.txt").exists()
    assert recover(data).sessions == [first.id, second.id]


def test_one_session_that_fails_to_recover_does_not_stop_the_others(tmp_path, caplog):
    data = tmp_path / "data"
    bad, good = begin(data, tmp_path, 1), begin(data, tmp_path, 2)
    unfinished(bad, 1, speech(0.3))
    unfinished(good, 1, speech(0.3))
    (bad.folder / "01.wav.part").unlink()
    (bad.folder / "01.wav.part").mkdir()  # a folder where the part should be: sealing it fails
    report = recover(data)
    assert report.problems == [f"{bad.id}: IsADirectoryError"]
    assert report.sessions == [bad.id, good.id]
    assert report.repaired == [f"sessions/{good.id}/01.wav"]
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        f"recovery of session {bad.id} failed"
    ]


def test_an_answer_sealed_by_recovery_is_noted_with_its_question_length_and_no_transcript_yet(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(0.5, 1))
    unfinished(notes, 2, speech(1.2345, 2), synced=RATE // 2)
    report = recover(data)
    assert report.repaired == [f"sessions/{notes.id}/02.wav"]
    assert report.noted == [] and report.interrupted == [f"sessions/{notes.id}"]
    [(_, record)] = session_records(data)
    assert record["answers"][1] == {
        "index": 2,
        "question": "Two?",
        "audio": "02.wav",
        "duration_s": 1.234,
        "transcript": None,
        "words": [],
        "status": "interrupted",
        "ended_by": "interrupted",
        "for_therapist": False,
    }
    assert "(still being transcribed)" in (notes.folder / "transcript.md").read_text()


def test_a_part_already_noted_keeps_its_entry_but_is_marked_interrupted_with_its_sealed_length(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    part = unfinished(notes, 1, speech(0.75))
    notes.add_answer(1, "01.wav", 9.0, "answered", "press")  # noted, then killed before the rename
    recover(data)
    [(_, record)] = session_records(data)
    [answer] = record["answers"]
    assert (answer["audio"], answer["status"], answer["duration_s"], answer["ended_by"]) == (
        "01.wav",
        "interrupted",
        0.75,
        "press",
    )
    assert not part.exists()


def test_a_part_of_an_answer_noted_without_audio_is_pointed_at_with_its_length_to_the_millisecond(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    part = unfinished(notes, 1, speech(1.0)[:12345])  # 0.7715625 s
    notes.add_answer(1, None, 0.0, "skipped", "press")  # noted, then killed with its part still there
    recover(data)
    [(_, record)] = session_records(data)
    [answer] = record["answers"]
    assert (answer["audio"], answer["status"], answer["duration_s"]) == ("01.wav", "interrupted", 0.772)
    assert (notes.folder / "01.wav").exists() and not part.exists()


def test_a_part_with_no_audio_is_removed_and_noted_as_an_answer_with_nothing_recorded(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    unfinished(notes, 2, speech(0))
    report = recover(data)
    assert report.removed == [f"sessions/{notes.id}/.reserve", f"sessions/{notes.id}/02.wav.part"]
    [(_, record)] = session_records(data)
    assert record["answers"] == [
        {
            "index": 2,
            "question": "Two?",
            "audio": None,
            "duration_s": 0.0,
            "transcript": "",
            "words": [],
            "status": "interrupted",
            "ended_by": "interrupted",
            "for_therapist": False,
        }
    ]


def test_an_empty_part_of_an_answer_already_noted_leaves_its_entry_alone(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    notes.add_answer(1, None, 0.0, "skipped", "press")
    WavWriter(notes.audio_path(1), RATE)  # killed straight after opening
    notes.finish("complete")
    report = recover(data)
    assert not report.interrupted and report.removed == [f"sessions/{notes.id}/01.wav.part"]
    [(_, record)] = session_records(data)
    assert [(a["status"], a["audio"]) for a in record["answers"]] == [("skipped", None)]
    assert record["status"] == "complete"


@pytest.mark.parametrize("index,question", [(1, "One?"), (2, "Two?"), (3, ""), (99, "")])
def test_an_unnoted_answer_gets_its_question_or_none_past_the_last(tmp_path, index, question):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    writer = WavWriter(notes.folder / f"{index:02d}.wav", RATE)
    writer.write(speech(0.25))
    writer.finish()
    report = recover(data)
    assert report.noted == [f"sessions/{notes.id}/{index:02d}.wav"]
    [(_, record)] = session_records(data)
    [answer] = record["answers"]
    assert (answer["index"], answer["question"], answer["duration_s"]) == (index, question, 0.25)


def test_an_answer_numbered_zero_gets_no_question(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    notes.record["questions"][1] = 7  # a damaged question list
    notes.save()
    for index in (0, 2):
        writer = WavWriter(notes.folder / f"{index:02d}.wav", RATE)
        writer.write(speech(0.25))
        writer.finish()
    recover(data)
    [(_, record)] = session_records(data)
    assert [(a["index"], a["question"]) for a in record["answers"]] == [(0, ""), (2, "")]


def test_an_unreadable_unnoted_answer_is_noted_with_no_length_and_never_deleted(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    (notes.folder / "01.flac").write_bytes(b"not flac at all")
    report = recover(data)
    assert report.noted == [f"sessions/{notes.id}/01.flac"]
    [(_, record)] = session_records(data)
    assert [(a["audio"], a["duration_s"]) for a in record["answers"]] == [("01.flac", 0.0)]
    assert (notes.folder / "01.flac").read_bytes() == b"not flac at all"


def test_several_unnoted_answers_are_each_noted_once_in_order(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    for index in (2, 1):
        finished(notes, index, speech(0.25, index), noted=False)
    (notes.folder / "1.wav").write_bytes(b"x")  # not an answer's name
    recover(data)
    [(_, record)] = session_records(data)
    assert [a["audio"] for a in record["answers"]] == ["01.wav", "02.wav"]


def test_a_finished_session_keeps_its_status_and_end_time(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(0.25))
    notes.finish("complete")
    ended = notes.record["ended_at"]
    report = recover(data)
    assert not report.changed
    [(_, record)] = session_records(data)
    assert (record["status"], record["ended_at"]) == ("complete", ended)


def test_an_interrupted_session_that_already_had_an_end_time_keeps_it(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    notes.record["ended_at"] = "2026-03-01T10:30:00+00:00"
    notes.save()
    recover(data)
    [(_, record)] = session_records(data)
    assert (record["status"], record["ended_at"]) == ("interrupted", "2026-03-01T10:30:00+00:00")
