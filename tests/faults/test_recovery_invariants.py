"""Recovery's promises, whatever a crash left: a finished answer is never replaced or shortened,
and a second run changes nothing."""

import stat
from datetime import datetime
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from audio.fakes import FakeRecognizer
from device.notes.recovery import recover
from device.notes.session_notes import SessionNotes
from tests.audio.test_wavfile import assert_header_true
from tests.faults import recovery_support
from tests.faults.support import killed_part, session_records, tiny_pack

RATE = 8000


def speech(frames: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(frames) * 3000).astype(np.int16)


def begin(data: Path, packs: Path, second: int = 0) -> SessionNotes:
    return SessionNotes.begin(data, tiny_pack(packs), RATE, now=datetime(2026, 3, 1, 10, 0, second))


def finished(notes: SessionNotes, index: int, samples: np.ndarray, noted: bool = True) -> Path:
    return recovery_support.finished(notes, index, samples, noted, rate=RATE)


def stray_part(notes: SessionNotes, index: int, samples: np.ndarray, synced: int = 0) -> Path:
    return killed_part(notes.audio_path(index), samples, RATE, synced)


def tree(root: Path) -> dict[str, tuple]:
    """Every file and folder under `root`: its bytes, mode and modification time."""
    out = {}
    for path in sorted(Path(root).rglob("*")):
        info = path.stat()
        body = path.read_bytes() if path.is_file() else None
        out[str(path.relative_to(root))] = (body, stat.S_IMODE(info.st_mode), info.st_mtime_ns)
    return out


def test_a_stray_part_beside_a_finished_answer_never_replaces_it_and_is_reported(tmp_path):
    """The guard itself: a longer part beside a sealed, noted answer leaves both files as they were."""
    data = tmp_path / "data"
    notes = begin(data, tmp_path / "packs")
    answer = finished(notes, 1, speech(RATE, 1))
    part = stray_part(notes, 1, speech(3 * RATE, 2), synced=RATE)
    answer_bytes, part_bytes = answer.read_bytes(), part.read_bytes()

    report = recover(data)

    assert answer.read_bytes() == answer_bytes
    assert part.read_bytes() == part_bytes, "the part is left for a person to look at"
    assert report.problems == [f"sessions/{notes.id}/01.wav.part: 01.wav exists too; left alone"]
    assert report.repaired == [] and report.noted == []
    [(_, record)] = session_records(data)
    [entry] = record["answers"]
    assert (entry["audio"], entry["duration_s"], entry["status"]) == ("01.wav", 1.0, "answered")


def test_a_stray_part_beside_an_answer_not_yet_noted_notes_the_answer_and_keeps_both(tmp_path):
    data = tmp_path / "data"
    notes = begin(data, tmp_path / "packs")
    answer = finished(notes, 2, speech(RATE // 2, 3), noted=False)
    part = stray_part(notes, 2, speech(RATE * 2, 4))
    answer_bytes, part_bytes = answer.read_bytes(), part.read_bytes()

    report = recover(data)

    assert answer.read_bytes() == answer_bytes and part.read_bytes() == part_bytes
    assert report.problems == [f"sessions/{notes.id}/02.wav.part: 02.wav exists too; left alone"]
    assert report.noted == [f"sessions/{notes.id}/02.wav"]
    [(_, record)] = session_records(data)
    [entry] = record["answers"]
    assert (entry["audio"], entry["duration_s"], entry["status"], entry["question"]) == (
        "02.wav",
        0.5,
        "interrupted",
        "Two?",
    )


# -- any crash state ----------------------------------------------------------------------------

ANSWER_STATES = st.sampled_from(
    [
        "none",
        "finished",
        "finished_unnoted",
        "transcribed",
        "part",
        "part_synced",
        "part_odd_byte",
        "part_header_only",
        "finished_with_stray_part",
        "unnoted_with_stray_part",
    ]
)


def build_session(notes: SessionNotes, states: list[str], seed: int, temp_file: bool) -> dict[str, bytes]:
    """Leave one session as a crash would, answer by answer; return the finished answers' bytes."""
    sealed = {}
    for index, state in enumerate(states, start=1):
        samples = speech(400 + 97 * index + seed % 50, seed + index)
        if state in ("finished", "transcribed", "finished_with_stray_part"):
            sealed[f"{index:02d}.wav"] = finished(notes, index, samples).read_bytes()
            if state == "transcribed":
                notes.set_transcript(index, FakeRecognizer(RATE).finish())
        if state in ("finished_unnoted", "unnoted_with_stray_part"):
            sealed[f"{index:02d}.wav"] = finished(notes, index, samples, noted=False).read_bytes()
        if state in ("part", "finished_with_stray_part", "unnoted_with_stray_part"):
            stray_part(notes, index, speech(len(samples) + 300, seed + 50 + index))
        elif state == "part_synced":
            stray_part(notes, index, samples, synced=len(samples) // 2)
        elif state == "part_odd_byte":
            with open(stray_part(notes, index, samples), "ab") as f:
                f.write(b"\x05")
        elif state == "part_header_only":
            stray_part(notes, index, samples[:0])
    if temp_file:
        (notes.folder / ".session.json.tmp").write_text('{"half": ')
    return sealed


@given(
    sessions=st.lists(
        st.tuples(st.lists(ANSWER_STATES, min_size=1, max_size=2), st.booleans()), min_size=1, max_size=2
    ),
    transcribe=st.booleans(),
    seed=st.integers(0, 10_000),
)
@settings(max_examples=25, deadline=None)
def test_recovery_never_touches_a_finished_answer_and_a_second_run_changes_nothing(
    tmp_path_factory, sessions, transcribe, seed
):
    root = tmp_path_factory.mktemp("crash")
    data = root / "data"
    sealed = {}
    for n, (states, temp_file) in enumerate(sessions):
        notes = begin(data, root / "packs", n)
        for name, body in build_session(notes, states, seed + 10 * n, temp_file).items():
            sealed[notes.folder / name] = body
    new_recognizer = FakeRecognizer if transcribe else None

    first = recover(data, new_recognizer=new_recognizer)
    assert {path: path.read_bytes() for path in sealed} == sealed, "a finished answer is never replaced or shortened"
    for folder, record in session_records(data):
        assert record["status"] == "interrupted"
        for answer in record["answers"]:
            if answer["audio"]:
                assert_header_true(folder / answer["audio"], RATE)
        strays = sorted(p.name for p in folder.glob("*.part"))
        assert all((folder / name[: -len(".part")]) in sealed for name in strays)
        assert len([p for p in first.problems if p.startswith(f"sessions/{folder.name}/")]) == len(strays)
        assert not list(folder.glob(".*.tmp"))

    before = tree(data)
    again = recover(data, new_recognizer=new_recognizer)
    assert not again.changed
    assert again.problems == first.problems
    assert tree(data) == before
