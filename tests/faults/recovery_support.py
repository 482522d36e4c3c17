"""Crashed sessions made on purpose, for the recovery tests: parts, finished answers, a whole crashed archive."""

from datetime import datetime
from pathlib import Path

import numpy as np

from audio.compress import compress_answer
from audio.fakes import FakeRecognizer
from audio.wavfile import WavWriter
from device.notes.session_notes import SessionNotes
from tests.faults.support import killed_part, tiny_pack

RATE = 16000
ROOT = Path(__file__).resolve().parents[2]


def speech(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * RATE)) * 3000).astype(np.int16)


def begin(data_dir: Path, tmp: Path, when: int = 0) -> SessionNotes:
    return SessionNotes.begin(data_dir, tiny_pack(tmp / "packs"), RATE, now=datetime(2026, 3, 1, 10, 0, when))


def unfinished(notes: SessionNotes, index: int, samples: np.ndarray, synced: int | None = None) -> Path:
    """A part as a kill leaves it: all written, header synced only up to `synced` samples (None: never)."""
    return killed_part(notes.audio_path(index), samples, RATE, synced or 0)


def finished(notes: SessionNotes, index: int, samples: np.ndarray, noted: bool = True, rate: int = RATE) -> Path:
    """A finished answer's WAV, noted as answered (or, with `noted=False`, as a crash before noting leaves it)."""
    writer = WavWriter(notes.audio_path(index), rate)
    writer.write(samples)
    path = writer.finish()
    if noted:
        notes.add_answer(index, path.name, len(samples) / rate, "answered", "press")
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
