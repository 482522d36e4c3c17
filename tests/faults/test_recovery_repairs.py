"""Recovery, in detail: the leftovers it removes and the compressed copies it trusts or not."""

import logging
import os

import numpy as np

from audio.compress import compress_answer, decode
from audio.wavfile import WavWriter
from device.notes.recovery import recover
from tests.faults.recovery_support import RATE, begin, finished, speech
from tests.faults.support import census, session_records


def test_leftovers_are_removed_but_a_compressed_part_without_its_source_is_kept_and_reported(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(0.25))
    (notes.folder / "01.opus.part").write_bytes(b"OggS")
    (notes.folder / "02.flac.part").write_bytes(b"fLaC")
    notes.finish("complete")
    (notes.folder / ".transcript.md.tmp").write_text("half")
    (notes.folder / ".cache.tmp").mkdir()  # a folder is never removed
    (notes.folder / "notes.tmp").write_text("not one of ours")
    report = recover(data)
    rel = f"sessions/{notes.id}"
    assert sorted(report.removed) == [f"{rel}/.transcript.md.tmp", f"{rel}/01.opus.part"]
    assert report.problems == [f"{rel}/02.flac.part: compressed part without its source; left alone"]
    assert sorted(p.name for p in notes.folder.iterdir()) == [
        ".cache.tmp",
        "01.wav",
        "02.flac.part",
        "notes.tmp",
        "session.json",
        "transcript.md",
    ]


def test_a_compressed_part_beside_its_finished_copy_is_removed(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    compressed = compress_answer(finished(notes, 1, speech(0.5)))
    notes.set_audio(1, compressed.name)
    (notes.folder / (compressed.name + ".part")).write_bytes(b"cut short")
    notes.finish("complete")
    report = recover(data)
    assert report.removed == [f"sessions/{notes.id}/{compressed.name}.part"]
    assert not report.problems


def test_an_incomplete_compressed_copy_is_removed_and_the_wav_kept(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    samples = speech(1.0)
    wav = finished(notes, 1, samples)
    short = WavWriter(notes.folder / "short.wav", RATE)
    short.write(samples[: RATE * 9 // 10])  # 0.1 s short
    copy = compress_answer(short.finish())
    os.replace(copy, notes.folder / f"01{copy.suffix}")
    notes.set_audio(1, f"01{copy.suffix}")  # noted before the check found it short (or it was cut)
    notes.finish("complete")
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
    notes.finish("complete")
    recover(data)
    assert wav.exists() and not (notes.folder / "01.flac").exists()
    [(_, record)] = session_records(data)
    assert record["answers"][0]["audio"] == "01.wav"


def test_a_noted_compressed_answer_whose_wav_is_gone_stays_as_it_is(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    compressed = compress_answer(finished(notes, 1, speech(0.5)))
    notes.set_audio(1, compressed.name)
    notes.finish("complete")
    before = census(data)
    assert not recover(data).changed
    assert census(data) == before


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


def test_recovery_compresses_each_wav_answer_it_can_and_reports_the_one_it_cannot(tmp_path):
    """A skipped answer and an unreadable WAV do not stop the answers after them from being compressed."""
    data = tmp_path / "data"
    skipped_first = begin(data, tmp_path, 1)
    skipped_first.add_answer(1, None, 0.0, "skipped", "no_speech")
    finished(skipped_first, 2, speech(0.5))
    broken_first = begin(data, tmp_path, 2)
    (broken_first.folder / "01.wav").write_bytes(b"RIFF, but not really")
    broken_first.add_answer(1, "01.wav", 1.0, "answered", "press")
    finished(broken_first, 2, speech(0.5))
    for notes in (skipped_first, broken_first):
        notes.finish("complete")
    report = recover(data, audio_format="flac")
    assert report.problems == [f"{broken_first.id}/01.wav: not compressed (AudioCorrupt)"]
    assert report.compressed == [f"sessions/{skipped_first.id}/02.flac", f"sessions/{broken_first.id}/02.flac"]
    records = [record for _, record in session_records(data)]
    assert [[a["audio"] for a in record["answers"]] for record in records] == [[None, "02.flac"], ["01.wav", "02.flac"]]
    assert (broken_first.folder / "01.wav").exists() and not (broken_first.folder / "02.wav").exists()


def test_reflect_recover_compresses_to_the_configured_format(tmp_path, capsys):
    from device.notes.recovery import recover_command

    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(0.5))
    notes.finish("complete")
    assert recover_command(data, None, "flac") == 0
    assert capsys.readouterr().out == "recovery: 1 compressed\n"
    assert (notes.folder / "01.flac").exists() and not (notes.folder / "01.wav").exists()


def test_the_data_dirs_own_atomic_write_leftovers_are_removed_and_nothing_else(tmp_path):
    """A kill inside the first write of the change token (or the sequence counter, the seal clock, what looking
    back offered) leaves its temp file beside the sessions; recovery removes only those, and only files."""
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(0.25))
    notes.finish("complete")
    ours = ["..changes.tmp", ".sequence.tmp", "..seal-clock.json.tmp", ".look_back.json.tmp"]
    for name in ours:
        (data / name).write_text("half")
    (data / ".notes.tmp").write_text("not one of ours")
    (data / ".briefs.json.tmp").mkdir()  # a folder is never removed
    assert recover(data, only=[notes.id]).removed == []  # with a session being recorded beside it
    assert all((data / name).exists() for name in ours)
    assert sorted(recover(data).removed) == sorted(ours)
    assert sorted(p.name for p in data.iterdir() if p.name.endswith(".tmp")) == [".briefs.json.tmp", ".notes.tmp"]
    assert recover(data).removed == []
