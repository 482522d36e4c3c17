"""Start-up recovery on the states a crash really leaves: unfinished parts, unnoted answers, half compressions, temp files."""
import json
import os
import logging
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from audio.compress import compress_answer, decode
from audio.fakes import FakeRecognizer
from audio.wavfile import WavWriter, wav_header
from device.archive import Archive
from device.notes import RESERVE_NAME, SessionNotes
from device.recovery import recover
from tests.faults.support import census, leftovers, session_records, tiny_pack

RATE = 16000
ROOT = Path(__file__).resolve().parents[2]


def speech(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * RATE)) * 3000).astype(np.int16)


def begin(data_dir: Path, tmp: Path, when: int = 0) -> SessionNotes:
    return SessionNotes.begin(data_dir, tiny_pack(tmp / "packs"), RATE, now=datetime(2026, 3, 1, 10, 0, when))


def unfinished(notes: SessionNotes, index: int, samples: np.ndarray, synced: int | None = None) -> Path:
    """A part as a kill leaves it: all written, header synced only up to `synced` samples (None: never)."""
    writer = WavWriter(notes.audio_path(index), RATE, sync_every_s=3600)
    if synced:
        writer.write(samples[:synced])
        writer.sync()
        writer.write(samples[synced:])
    else:
        writer.write(samples)
    os.close(writer._fd)  # the process dies here
    return writer.part_path


def finished(notes: SessionNotes, index: int, samples: np.ndarray, noted: bool = True) -> Path:
    writer = WavWriter(notes.audio_path(index), RATE)
    writer.write(samples)
    path = writer.finish()
    if noted:
        notes.add_answer(index, path.name, len(samples) / RATE, "answered", "press")
    return path


def crashed_archive(data_dir: Path, tmp: Path) -> dict:
    """Sessions left by crashes at different moments; returns what each answer held."""
    held = {}
    # 1: answer 1 done and transcribed, answer 2 cut mid-way (header never synced), odd trailing byte.
    a = begin(data_dir, tmp, 1)
    finished(a, 1, speech(1.0, 1))
    a.set_transcript(1, FakeRecognizer(RATE).finish())
    part = unfinished(a, 2, speech(2.5, 2))
    with open(part, "ab") as f:
        f.write(b"\x01")
    held[(a.id, 2)] = speech(2.5, 2)
    # 2: answer 1 sealed but not noted (killed between rename and session.json), transcript never came.
    b = begin(data_dir, tmp, 2)
    finished(b, 1, speech(1.5, 3), noted=False)
    held[(b.id, 1)] = speech(1.5, 3)
    # 3: answer 1 noted, compression cut short (.opus.part beside the WAV); answer 2 part synced once.
    c = begin(data_dir, tmp, 3)
    wav = finished(c, 1, speech(1.2, 4))
    (wav.with_name("01.opus.part")).write_bytes(b"OggS" + bytes(100))
    unfinished(c, 2, speech(2.0, 5), synced=RATE)
    held[(c.id, 2)] = speech(2.0, 5)
    # 4: compression finished its rename but the WAV was not yet removed; transcript pending.
    d = begin(data_dir, tmp, 4)
    compress_answer(finished(d, 1, speech(1.0, 6)))
    finished(d, 1, speech(1.0, 6), noted=False)  # the WAV as it still was at the kill
    # 5: a part killed right after it was opened (header only) and temp files of an atomic write.
    e = begin(data_dir, tmp, 5)
    WavWriter(e.audio_path(1), RATE)
    (e.folder / ".session.json.tmp").write_text('{"half": ')
    # 6: killed inside SessionNotes.begin: an empty folder, and one holding only a temp file.
    (data_dir / "sessions" / "2026-03-01_100006").mkdir(mode=0o700)
    (data_dir / "sessions" / "2026-03-01_100007").mkdir(mode=0o700)
    (data_dir / "sessions" / "2026-03-01_100007" / ".session.json.tmp").write_text("{}")
    return held


def test_recovery_repairs_every_crash_state_and_a_second_run_changes_nothing(tmp_path):
    data = tmp_path / "data"
    held = crashed_archive(data, tmp_path)
    report = recover(data, new_recognizer=FakeRecognizer)
    assert not report.problems
    assert leftovers(data) == []
    records = {folder.name: record for folder, record in session_records(data)}
    assert sorted(records) == [f"2026-03-01_10000{n}" for n in range(1, 6)]  # the empty ones are gone
    for folder, record in session_records(data):
        assert record["status"] == "interrupted"
        assert record["ended_at"]
        for answer in record["answers"]:
            if answer["audio"] is None:
                continue
            path = folder / answer["audio"]
            samples, rate = decode(path)
            assert len(samples) / rate == pytest.approx(answer["duration_s"], abs=0.02)
            assert answer["transcript"] is not None, (folder.name, answer["index"])
            assert answer["question"] == ("One?", "Two?")[answer["index"] - 1]
            if (folder.name, answer["index"]) in held:
                expected = held[(folder.name, answer["index"])]
                assert answer["status"] == "interrupted"
                assert np.array_equal(samples, expected), "every sample written before the kill is kept"
        markdown = (folder / "transcript.md").read_text()
        assert "(still being transcribed)" not in markdown
    assert [a["audio"] for a in records["2026-03-01_100004"]["answers"]] == ["01.opus"]
    assert not (data / "sessions" / "2026-03-01_100004" / "01.wav").exists()
    assert [(a["status"], a["audio"]) for a in records["2026-03-01_100005"]["answers"]] == [("interrupted", None)]
    assert [a["status"] for a in records["2026-03-01_100002"]["answers"]] == ["interrupted"]
    assert Archive(data).listing().notices == []

    before = census(data)
    again = recover(data, new_recognizer=FakeRecognizer)
    assert not again.changed and not again.problems
    assert census(data) == before


def test_without_a_model_transcripts_stay_null_for_a_later_pass(tmp_path):
    data = tmp_path / "data"
    crashed_archive(data, tmp_path)
    recover(data)
    pending = [a for _, r in session_records(data) for a in r["answers"] if a["audio"] and a["transcript"] is None]
    assert len(pending) >= 3
    report = recover(data, new_recognizer=FakeRecognizer)
    assert len(report.transcribed) == len(pending)
    assert all(a["transcript"] is not None for _, r in session_records(data) for a in r["answers"])


def test_recovery_can_compress_what_a_crash_left_as_wav(tmp_path):
    data = tmp_path / "data"
    crashed_archive(data, tmp_path)
    recover(data, new_recognizer=FakeRecognizer, compress=True)
    audio = [a["audio"] for _, r in session_records(data) for a in r["answers"] if a["audio"]]
    assert audio and all(name.endswith(".opus") for name in audio)
    assert not list(data.rglob("*.wav"))


def test_a_session_that_was_recording_is_interrupted_and_its_reserve_removed(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    assert (notes.folder / RESERVE_NAME).exists()
    unfinished(notes, 1, speech(0.5))
    recover(data)
    assert not (notes.folder / RESERVE_NAME).exists()
    [(_, record)] = session_records(data)
    assert record["status"] == "interrupted"


@pytest.mark.parametrize("header", ["zeros", "ffff", "garbage"])
def test_a_part_with_a_broken_header_is_rebuilt_from_the_session_rate(tmp_path, header):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    samples = speech(1.0)
    part = unfinished(notes, 1, samples)
    raw = bytearray(part.read_bytes())
    raw[:44] = {"zeros": bytes(44), "ffff": wav_header(RATE, 0)[:4] + b"\xff\xff\xff\xff" + wav_header(RATE, 0)[8:40] + b"\xff\xff\xff\xff",
                "garbage": bytes(random.Random(3).randrange(256) for _ in range(44))}[header]
    part.write_bytes(bytes(raw))
    recover(data)
    got, rate = decode(notes.folder / "01.wav")
    assert rate == RATE and np.array_equal(got, samples)


SLOW_RECOVERY = """
import sys, time
from audio.fakes import FakeRecognizer
from device.recovery import recover

class Slow(FakeRecognizer):
    def feed(self, samples):
        time.sleep(0.03)
        super().feed(samples)

recover(sys.argv[1], new_recognizer=Slow)
"""


def normalized(data: Path) -> tuple:
    """What recovery produced, ignoring nothing but file order."""
    records = [(f.name, r) for f, r in session_records(data)]
    audio = {k: v for k, v in census(data).items() if not k.endswith((".json", ".md"))}
    return records, audio


def test_recovery_killed_at_random_moments_ends_as_if_it_ran_once(tmp_path):
    original = tmp_path / "original"
    for n in range(10):
        notes = begin(original, tmp_path, n)
        finished(notes, 1, speech(1.0, n))
        unfinished(notes, 2, speech(3.0, 10 + n), synced=RATE)
    reference = tmp_path / "reference"
    shutil.copytree(original, reference)
    recover(reference, new_recognizer=FakeRecognizer)

    victim = tmp_path / "victim"
    shutil.copytree(original, victim)
    rng = random.Random(11)
    kills = 0
    for _ in range(12):
        child = subprocess.Popen([sys.executable, "-c", SLOW_RECOVERY, str(victim)], cwd=ROOT)
        time.sleep(rng.uniform(0.4, 1.0))
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait()
        for path in victim.rglob("session.json"):
            json.loads(path.read_text())  # never unparsable, whenever the kill came
    assert kills >= 6
    recover(victim, new_recognizer=FakeRecognizer)
    assert leftovers(victim) == []
    assert normalized(victim) == normalized(reference)


def test_ended_at_is_when_the_session_last_wrote(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    part = unfinished(notes, 1, speech(0.5))
    old = time.time() - 3600
    for n, path in enumerate(sorted(notes.folder.iterdir(), key=lambda p: p.name != part.name)):
        os.utime(path, (old - 600 * n, old - 600 * n))  # the part was written last
    recover(data)
    [(_, record)] = session_records(data)
    ended = datetime.fromisoformat(record["ended_at"])
    assert ended.timestamp() == pytest.approx(old, abs=2)
    assert ended.utcoffset() is not None, "a time that says its zone"
    assert not part.exists()



def test_recover_at_start_repairs_now_and_transcribes_later_on_the_worker(tmp_path):
    from audio.transcriber import Transcriber
    from device.recovery import recover_at_start

    data = tmp_path / "data"
    crashed_archive(data, tmp_path)
    transcriber = Transcriber(FakeRecognizer)
    started = threading.Event()
    try:
        transcriber.later(started.wait)  # the worker is busy (loading the model) until the first press
        report = recover_at_start(data, transcriber, new_recognizer=FakeRecognizer)
        assert report.repaired
        newer = begin(data, tmp_path, 30)  # a session started after start-up is not touched by the later pass
        unfinished(newer, 1, speech(0.5))
        started.set()
        transcriber.drain()
    finally:
        transcriber.close()
    assert (newer.folder / "01.wav.part").exists()
    assert leftovers(data) == [f"sessions/{newer.id}/.reserve", f"sessions/{newer.id}/01.wav.part"]  # once the worker is done
    records = dict((f.name, r) for f, r in session_records(data))
    assert records[newer.id]["status"] == "in_progress"
    old = [a for name, r in records.items() if name != newer.id for a in r["answers"] if a["audio"]]
    assert old and all(a["transcript"] is not None for a in old)


# -- what recovery reports, and the details of each repair ------------------------------------


def test_the_report_says_what_was_done_in_a_summary_without_anything_said(tmp_path):
    from device.recovery import RecoveryReport

    empty = RecoveryReport()
    assert not empty.changed and empty.summary() == "recovery: nothing to do"
    seen = RecoveryReport(sessions=["a"], problems=["x", "y"])
    assert not seen.changed, "looking at sessions and finding problems changes nothing on disk"
    assert seen.summary() == "recovery: 2 problem(s)"
    for name in ("repaired", "noted", "interrupted", "transcribed", "compressed", "removed", "set_aside"):
        assert RecoveryReport(**{name: ["p"]}).changed, name
    report = RecoveryReport(repaired=["a", "b"], set_aside=["c"], problems=["d"], sessions=["e"])
    assert report.summary() == "recovery: 2 repaired, 1 set aside, 1 problem(s)"


def test_recover_command_prints_the_summary_and_fails_only_on_problems(tmp_path, capsys):
    from device.recovery import recover_command

    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    unfinished(notes, 1, speech(0.5))
    (notes.folder / "03.opus.part").write_bytes(b"OggS")  # a compressed part with no source: a problem
    broken = begin(data, tmp_path, 1)
    (broken.folder / "session.json").write_text("{")
    assert recover_command(data) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "recovery: 1 repaired, 1 interrupted, 2 removed, 1 set aside, 1 problem(s)"  # two reserves
    assert out[1] == f"  set aside: damaged/{broken.id}"
    assert out[2] == f"  problem: sessions/{notes.id}/03.opus.part: compressed part without its source; left alone"
    (notes.folder / "03.opus.part").unlink()
    assert recover_command(data) == 0
    assert capsys.readouterr().out == "recovery: nothing to do\n"


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
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [f"recovery of session {bad.id} failed"]


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
        "index": 2, "question": "Two?", "audio": "02.wav", "duration_s": 1.234, "transcript": None, "words": [],
        "status": "interrupted", "ended_by": "interrupted",
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
    assert (answer["audio"], answer["status"], answer["duration_s"], answer["ended_by"]) == ("01.wav", "interrupted", 0.75, "press")
    assert not part.exists()


def test_a_part_with_no_audio_is_removed_and_noted_as_an_answer_with_nothing_recorded(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    unfinished(notes, 2, speech(0))
    report = recover(data)
    assert report.removed == [f"sessions/{notes.id}/.reserve", f"sessions/{notes.id}/02.wav.part"]
    [(_, record)] = session_records(data)
    assert record["answers"] == [{
        "index": 2, "question": "Two?", "audio": None, "duration_s": 0.0, "transcript": "", "words": [],
        "status": "interrupted", "ended_by": "interrupted",
    }]


def test_an_empty_part_of_an_answer_already_noted_leaves_its_entry_alone(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    notes.add_answer(1, None, 0.0, "skipped", "press")
    WavWriter(notes.audio_path(1), RATE)  # killed straight after opening
    notes.finish("completed")
    report = recover(data)
    assert not report.interrupted and report.removed == [f"sessions/{notes.id}/01.wav.part"]
    [(_, record)] = session_records(data)
    assert [(a["status"], a["audio"]) for a in record["answers"]] == [("skipped", None)]
    assert record["status"] == "completed"


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
    notes.finish("completed")
    ended = notes.record["ended_at"]
    report = recover(data)
    assert not report.changed
    [(_, record)] = session_records(data)
    assert (record["status"], record["ended_at"]) == ("completed", ended)


def test_an_interrupted_session_that_already_had_an_end_time_keeps_it(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    notes.record["ended_at"] = "2026-03-01T10:30:00+00:00"
    notes.save()
    recover(data)
    [(_, record)] = session_records(data)
    assert (record["status"], record["ended_at"]) == ("interrupted", "2026-03-01T10:30:00+00:00")


def test_leftovers_are_removed_but_a_compressed_part_without_its_source_is_kept_and_reported(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(0.25))
    (notes.folder / "01.opus.part").write_bytes(b"OggS")
    (notes.folder / "02.flac.part").write_bytes(b"fLaC")
    notes.finish("completed")
    (notes.folder / ".transcript.md.tmp").write_text("half")
    (notes.folder / ".cache.tmp").mkdir()  # a folder is never removed
    (notes.folder / "notes.tmp").write_text("not one of ours")
    report = recover(data)
    rel = f"sessions/{notes.id}"
    assert sorted(report.removed) == [f"{rel}/.transcript.md.tmp", f"{rel}/01.opus.part"]
    assert report.problems == [f"{rel}/02.flac.part: compressed part without its source; left alone"]
    assert sorted(p.name for p in notes.folder.iterdir()) == [
        ".cache.tmp", "01.wav", "02.flac.part", "notes.tmp", "session.json", "transcript.md"]


def test_a_compressed_part_beside_its_finished_copy_is_removed(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    compressed = compress_answer(finished(notes, 1, speech(0.5)))
    notes.set_audio(1, compressed.name)
    (notes.folder / (compressed.name + ".part")).write_bytes(b"cut short")
    notes.finish("completed")
    report = recover(data)
    assert report.removed == [f"sessions/{notes.id}/{compressed.name}.part"]
    assert not report.problems


def test_an_incomplete_compressed_copy_is_removed_and_the_wav_kept(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    samples = speech(1.0)
    wav = finished(notes, 1, samples)
    short = WavWriter(notes.folder / "short.wav", RATE)
    short.write(samples[:RATE * 9 // 10])  # 0.1 s short
    copy = compress_answer(short.finish())
    os.replace(copy, notes.folder / f"01{copy.suffix}")
    notes.set_audio(1, f"01{copy.suffix}")  # noted before the check found it short (or it was cut)
    notes.finish("completed")
    report = recover(data)
    assert report.removed == [f"sessions/{notes.id}/01{copy.suffix}"]
    [(_, record)] = session_records(data)
    assert record["answers"][0]["audio"] == "01.wav"
    got, _ = decode(wav)
    assert np.array_equal(got, samples)
    assert not recover(data).changed


def test_an_unreadable_compressed_copy_is_never_trusted_over_the_wav(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    wav = finished(notes, 1, speech(0.5))
    (notes.folder / "01.flac").write_bytes(b"fLaC but nothing else")
    notes.finish("completed")
    recover(data)
    assert wav.exists() and not (notes.folder / "01.flac").exists()
    [(_, record)] = session_records(data)
    assert record["answers"][0]["audio"] == "01.wav"


def test_a_noted_compressed_answer_whose_wav_is_gone_stays_as_it_is(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    compressed = compress_answer(finished(notes, 1, speech(0.5)))
    notes.set_audio(1, compressed.name)
    notes.finish("completed")
    before = census(data)
    assert not recover(data).changed
    assert census(data) == before


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
    notes.finish("completed")
    Recording.fed = []
    report = recover(data, new_recognizer=Recording)
    assert report.transcribed == [f"sessions/{notes.id}/01.wav"]
    assert [len(chunk) for chunk in Recording.fed] == [int(RATE * 0.2)] * 12 + [RATE // 10]
    assert np.array_equal(np.concatenate(Recording.fed), samples)
    [(folder, record)] = session_records(data)
    assert record["answers"][0]["transcript"] == "word word"
    assert record["answers"][0]["words"] == [{"word": "word", "start": 0.0, "end": 0.5, "conf": 1.0},
                                             {"word": "word", "start": 1.0, "end": 1.5, "conf": 1.0}]
    assert "word word" in (folder / "transcript.md").read_text()


def test_an_answer_that_cannot_be_transcribed_is_reported_and_the_others_still_are(tmp_path, caplog):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(1.0))
    finished(notes, 2, speech(1.0, 2))
    (notes.folder / "01.wav").write_bytes(b"garbage")
    notes.finish("completed")
    report = recover(data, new_recognizer=FakeRecognizer)
    assert report.transcribed == [f"sessions/{notes.id}/02.wav"]
    [problem] = report.problems
    assert problem.startswith(f"sessions/{notes.id}/01.wav: not transcribed (")
    [(_, record)] = session_records(data)
    assert [a["transcript"] for a in record["answers"]] == [None, "word"]
    assert any("could not transcribe answer 1" in r.getMessage() for r in caplog.records)


def test_a_model_is_used_through_its_loader_for_missing_transcripts(tmp_path, monkeypatch):
    import device.recovery as recovery

    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(1.0))
    notes.finish("completed")
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
    notes.finish("completed")
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
    notes.record["status"] = "completed"
    (notes.folder / "session.json").write_text(json.dumps(notes.record))
    report = recover(data)
    assert report.problems == [f"{notes.id}: transcript.md not rebuilt (KeyError)"]
    assert report.set_aside == []


def test_a_folder_without_session_json_is_removed_only_when_empty(tmp_path, caplog):
    data = tmp_path / "data"
    empty = data / "sessions" / "2026-03-01_100000"
    kept = data / "sessions" / "2026-03-01_100001"
    empty.mkdir(parents=True)
    kept.mkdir()
    (kept / "01.wav").write_bytes(b"RIFF")
    with caplog.at_level(logging.INFO):
        report = recover(data)
    assert report.removed == ["sessions/2026-03-01_100000"]
    assert report.set_aside == ["damaged/2026-03-01_100001"]
    assert not empty.exists() and (data / "damaged" / "2026-03-01_100001" / "01.wav").read_bytes() == b"RIFF"
    assert any("removed empty session folder 2026-03-01_100000" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("change,reason", [
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
    (lambda r: r.update(version=2), "unknown version 2"),
    (lambda r: r.update(version="1" * 40), "unknown version '1111111111111111111"),
])
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
    notes.record["answers"] = [{"index": 1, "question": "One?", "audio": None, "duration_s": 0.0, "transcript": "",
                                "words": [], "status": "skipped", "ended_by": "press"}]
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
    c.finish("completed")
    (data / "sessions" / "2026-03-01_100004").mkdir()
    (c.folder / "02.opus.part").write_bytes(b"OggS")
    with caplog.at_level(logging.INFO, logger="device.recovery"):
        report = recover(data)
    messages = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "device.recovery"]
    assert messages == [
        ("INFO", f"answer 1 of session {a.id} was interrupted; sealed 2.5 s of audio"),
        ("INFO", f"answer 2 of session {a.id} was interrupted before any audio was written"),
        ("INFO", f"session {a.id} was interrupted; marked so"),
        ("INFO", f"answer 1 of session {b.id} was saved but not noted; noted as interrupted"),
        ("INFO", f"session {b.id} was interrupted; marked so"),
        ("WARNING", f"answer 01 of session {c.id}: the compressed copy is incomplete; keeping the WAV"),
        ("INFO", "removed empty session folder 2026-03-01_100004"),
        ("WARNING", f"recovery: sessions/{c.id}/02.opus.part: compressed part without its source; left alone"),
        ("INFO", report.summary()),
    ]
    assert report.summary() == "recovery: 1 repaired, 1 noted, 2 interrupted, 5 removed, 1 problem(s)"


def test_every_removal_is_made_durable_in_its_folder(tmp_path, monkeypatch):
    import device.recovery as recovery

    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(1.0))
    (notes.folder / "01.flac").write_bytes(b"fLaC cut short")
    (notes.folder / ".session.json.tmp").write_text("{")
    empty = data / "sessions" / "2026-03-01_100009"
    empty.mkdir()
    synced = []
    real = recovery.fsync_dir
    monkeypatch.setattr(recovery, "fsync_dir", lambda path: (synced.append((path, sorted(p.name for p in path.iterdir()))), real(path)))
    recover(data)
    assert synced == [
        (notes.folder, ["01.flac", "01.wav", "session.json", "transcript.md"]),  # the temp file and reserve are gone
        (notes.folder, ["01.wav", "session.json", "transcript.md"]),  # the cut-short copy is gone
        (data / "sessions", [notes.id]),  # the empty folder is gone
    ]


def test_recover_at_start_transcribes_later_with_the_model_it_is_given(tmp_path, monkeypatch):
    import device.recovery as recovery
    from audio.transcriber import Transcriber
    from device.recovery import recover_at_start

    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(1.0))
    made = []

    class Loader:
        def get(self):
            return "the model"

    monkeypatch.setattr(recovery, "AnswerRecognizer", lambda model, rate: made.append((model, rate)) or FakeRecognizer(rate))
    transcriber = Transcriber(FakeRecognizer)
    try:
        report = recover_at_start(data, transcriber, model=Loader())
        assert made == [], "start-up itself never waits for the model"
        transcriber.drain()
    finally:
        transcriber.close()
    assert report.interrupted == [f"sessions/{notes.id}"]
    assert made == [("the model", RATE)]
    [(_, record)] = session_records(data)
    assert record["answers"][0]["transcript"] == "word"


def test_recover_at_start_without_a_model_or_sessions_queues_nothing(tmp_path):
    from device.recovery import recover_at_start

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
    with caplog.at_level(logging.INFO, logger="device.recovery"):
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
    short.write(samples[:len(samples) - RATE // 50])  # exactly 20 ms shorter
    os.replace(compress_answer(short.finish(), codec="flac"), notes.folder / "01.flac")
    notes.finish("completed")
    report = recover(data)
    assert report.removed == [f"sessions/{notes.id}/01.wav"] and not wav.exists()
    [(_, record)] = session_records(data)
    assert record["answers"][0]["audio"] == "01.flac"


def test_recover_command_transcribes_with_the_model_it_is_given(tmp_path, monkeypatch, capsys):
    import device.recovery as recovery
    from device.recovery import recover_command

    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(1.0))
    notes.finish("completed")

    class Loader:
        def get(self):
            return "the model"
    monkeypatch.setattr(recovery, "AnswerRecognizer", lambda model, rate: FakeRecognizer(rate))
    assert recover_command(data, Loader()) == 0
    assert capsys.readouterr().out == "recovery: 1 transcribed\n"
