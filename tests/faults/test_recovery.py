"""Start-up recovery on the states a crash really leaves: unfinished parts, unnoted answers, half compressions,
temp files."""

import json
import os
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

from audio.compress import decode
from audio.fakes import FakeRecognizer
from audio.wavfile import wav_header
from device.notes.archive import Archive
from device.notes.record import RESERVE_NAME
from device.notes.recovery import recover
from tests.faults.recovery_support import RATE, ROOT, begin, crashed_archive, finished, speech, unfinished
from tests.faults.support import census, leftovers, session_records


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
    recover(data, new_recognizer=FakeRecognizer, audio_format="opus")
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
    raw[:44] = {
        "zeros": bytes(44),
        "ffff": wav_header(RATE, 0)[:4] + b"\xff\xff\xff\xff" + wav_header(RATE, 0)[8:40] + b"\xff\xff\xff\xff",
        "garbage": bytes(random.Random(3).randrange(256) for _ in range(44)),
    }[header]
    part.write_bytes(bytes(raw))
    recover(data)
    got, rate = decode(notes.folder / "01.wav")
    assert rate == RATE and np.array_equal(got, samples)


SLOW_RECOVERY = """
import sys, time
from audio.fakes import FakeRecognizer
from device.notes.recovery import recover

class Slow(FakeRecognizer):
    def feed(self, samples):
        time.sleep(0.03)
        super().feed(samples)

recover(sys.argv[1], new_recognizer=Slow)
"""


def normalized(data: Path) -> tuple:
    """What recovery produced, ignoring nothing but file order and the change token (new at every write)."""
    records = [(f.name, r) for f, r in session_records(data)]
    audio = {k: v for k, v in census(data).items() if not k.endswith((".json", ".md")) and k != ".changes"}
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
    from audio.worker import Worker
    from device.notes.recovery import recover_at_start

    data = tmp_path / "data"
    crashed_archive(data, tmp_path)
    worker = Worker(FakeRecognizer)
    started = threading.Event()
    try:
        worker.later(started.wait)  # the worker is busy (loading the model) until the first press
        report = recover_at_start(data, worker, new_recognizer=FakeRecognizer)
        assert report.repaired
        newer = begin(data, tmp_path, 30)  # a session started after start-up is not touched by the later pass
        unfinished(newer, 1, speech(0.5))
        started.set()
        worker.drain()
    finally:
        worker.close()
    assert (newer.folder / "01.wav.part").exists()
    assert leftovers(data) == [
        f"sessions/{newer.id}/.reserve",
        f"sessions/{newer.id}/01.wav.part",
    ]  # once the worker is done
    records = dict((f.name, r) for f, r in session_records(data))
    assert records[newer.id]["status"] == "in_progress"
    old = [a for name, r in records.items() if name != newer.id for a in r["answers"] if a["audio"]]
    assert old and all(a["transcript"] is not None for a in old)


@pytest.mark.parametrize("audio_format, suffix", [("opus", ".opus"), ("flac", ".flac")])
def test_recovery_at_start_compresses_interrupted_answers_as_configured_after_transcribing_them(
    tmp_path, audio_format, suffix
):
    from audio.worker import Worker
    from device.notes.recovery import recover_at_start

    data = tmp_path / "data"
    held = crashed_archive(data, tmp_path)
    worker = Worker(FakeRecognizer)
    try:
        recover_at_start(data, worker, new_recognizer=FakeRecognizer, audio_format=audio_format)
        worker.drain()
    finally:
        worker.close()
    answers = {(f.name, a["index"]): a for f, r in session_records(data) for a in r["answers"] if a["audio"]}
    assert answers and all(a["transcript"] is not None for a in answers.values())
    assert sorted(a["audio"].rsplit(".", 1)[1] for a in answers.values()) == sorted(["opus"] + 5 * [suffix[1:]])
    assert not list(data.rglob("*.wav"))  # the one already in Opus (a compression the crash completed) stays so
    for (session, index), samples in held.items():
        decoded, rate = decode(data / "sessions" / session / answers[(session, index)]["audio"])
        assert rate == RATE and abs(len(decoded) - len(samples)) <= 0.02 * RATE


def test_recovery_at_start_keeps_wav_answers_when_wav_is_configured(tmp_path):
    from audio.worker import Worker
    from device.notes.recovery import recover_at_start

    data = tmp_path / "data"
    crashed_archive(data, tmp_path)
    worker = Worker(FakeRecognizer)
    try:
        recover_at_start(data, worker, new_recognizer=FakeRecognizer, audio_format="wav")
        worker.drain()
    finally:
        worker.close()
    audio = [a["audio"] for _, r in session_records(data) for a in r["answers"] if a["audio"]]
    assert audio and all(
        a["transcript"] is not None for _, r in session_records(data) for a in r["answers"] if a["audio"]
    )
    assert sorted(name.rsplit(".", 1)[1] for name in audio) == ["opus", "wav", "wav", "wav", "wav", "wav"]
