"""A session's notes on disk: what SessionNotes writes is exactly what the archive reads back, every change is atomic,
session.json and transcript.md always agree, and a full disk is met with the space held in reserve."""

import errno
import json
import logging
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import common.files
import device.notes.record
import device.notes.session_notes
from audio.recognizer import Transcript, Word
from content.packs import Pack
from device.clock import ClockStatus
from device.notes import record
from device.notes.record import RESERVE_NAME, answer_audio_name, transcript_markdown
from device.notes.session_notes import RESERVE_BYTES, SessionNotes
from tests.faults.support import fsynced

QUESTIONS = ("How is your relationship with your therapist right now?", "What felt different?", "What next?")
PACK = Pack(
    id="therapy-relationship",
    title="Why the therapy relationship matters",
    language="en",
    greeting="Hello.",
    questions=QUESTIONS,
    closing="Goodbye.",
    voice=None,
    rate=None,
    sample_answers=(),
    source=Path("pack.toml"),
)
STARTED = datetime(2026, 11, 30, 9, 44, 38, tzinfo=timezone.utc)


def _record(notes: SessionNotes) -> dict:
    return json.loads((notes.folder / "session.json").read_text())


def _agree(notes: SessionNotes) -> None:
    """session.json is the in-memory record and transcript.md is rendered from exactly that file."""
    record = _record(notes)
    assert record == notes.record
    assert (notes.folder / "transcript.md").read_bytes().decode() == transcript_markdown(record)


def _transcript(*timed: tuple[str, float, float, float]) -> Transcript:
    words = tuple(Word(*w) for w in timed)
    return Transcript(" ".join(w.word for w in words), words)


SYNCED = ClockStatus(True, "synchronised")


@pytest.fixture
def notes(tmp_path):
    return SessionNotes.begin(tmp_path, PACK, 44100, now=STARTED, clock=SYNCED)


@pytest.fixture
def ram_notes():
    """Notes on tmpfs, where fsync costs nothing: for the tests that save hundreds of times."""
    with tempfile.TemporaryDirectory(dir="/dev/shm") as data:
        yield SessionNotes.begin(Path(data), PACK, 44100, now=STARTED)


def test_begin_writes_an_in_progress_record_the_archive_reads_back(tmp_path, notes):
    folder = tmp_path / "sessions" / "2026-11-30_094438"
    assert notes.folder == folder and notes.id == folder.name
    assert folder.stat().st_mode & 0o777 == 0o700 and (tmp_path / "sessions").stat().st_mode & 0o777 == 0o700
    assert (folder / "session.json").stat().st_mode & 0o777 == 0o600
    assert _record(notes) == {
        "version": 3,
        "id": folder.name,
        "seq": 1,
        "clock": {"trusted": True, "reason": "synchronised"},
        "pack": {"id": PACK.id, "title": PACK.title, "language": "en"},
        "started_at": "2026-11-30T09:44:38+00:00",
        "ended_at": None,
        "status": "in_progress",
        "sample_rate": 44100,
        "questions": list(QUESTIONS),
        "answers": [],
    }
    session = record.parse(folder)
    assert (session.id, session.pack_id, session.pack_title, session.language) == (
        folder.name,
        PACK.id,
        PACK.title,
        "en",
    )
    assert (session.started_at, session.ended_at, session.status) == (STARTED, None, "in_progress")
    assert (session.sample_rate, session.questions, session.answers) == (44100, QUESTIONS, ())
    _agree(notes)


def test_session_json_is_readable_text_for_a_person(tmp_path):
    """Notes in any language stay legible in the file: UTF-8 as said, two-space indents, one field a line."""
    korean = Pack(
        id="ko",
        title="관계",
        language="ko",
        greeting="안녕하세요.",
        questions=("오늘 어땠어요?",),
        closing="안녕히.",
        voice=None,
        rate=None,
        sample_answers=(),
        source=Path("ko.toml"),
    )
    notes = SessionNotes.begin(tmp_path, korean, 16000, now=STARTED)
    notes.add_answer(1, "01.wav", 1.0, "answered", "press")
    notes.set_transcript(1, _transcript(("마음이", 0.1, 0.5, 1.0), ("편해요", 0.6, 1.0, 1.0)))
    text = (notes.folder / "session.json").read_bytes().decode("utf-8")
    assert '"transcript": "마음이 편해요"' in text and "\\u" not in text
    lines = text.split("\n")
    assert lines[0] == "{" and lines[1] == '  "version": 3,' and lines[-2:] == ["}", ""]
    assert '    "title": "관계",' in lines


def test_begin_without_a_time_uses_now_to_the_second_with_the_local_zone(tmp_path):
    before = datetime.now().astimezone().replace(microsecond=0)
    notes = SessionNotes.begin(tmp_path, PACK, 16000)
    after = datetime.now().astimezone()
    started = datetime.fromisoformat(_record(notes)["started_at"])
    assert started.tzinfo is not None and started.microsecond == 0
    assert before <= started <= after
    assert notes.id == started.strftime("%Y-%m-%d_%H%M%S")


def test_sessions_started_in_the_same_second_get_their_own_folders(tmp_path):
    ids = [SessionNotes.begin(tmp_path, PACK, 44100, now=STARTED).id for _ in range(3)]
    assert ids == ["2026-11-30_094438", "2026-11-30_094438-2", "2026-11-30_094438-3"]
    assert [record.parse(tmp_path / "sessions" / i).id for i in ids] == ids


def test_a_new_session_folder_and_the_sessions_folder_are_made_durable_in_their_parents(tmp_path, monkeypatch):
    """A power cut after begin returns cannot lose the session folder (issue 19); only what was made is synced."""
    synced = fsynced(monkeypatch)
    SessionNotes.begin(tmp_path, PACK, 44100, now=STARTED)
    # the data dir: once for the new sessions/ in it, once for the sequence counter's atomic write, and once for
    # the change token's first write (later ones replace it in place)
    assert synced.count(str(tmp_path)) == 3 and str(tmp_path / "sessions") in synced
    synced.clear()
    SessionNotes.begin(tmp_path, PACK, 44100, now=STARTED)
    assert synced.count(str(tmp_path)) == 1 and synced.count(str(tmp_path / "sessions")) == 1


def test_a_thousand_sessions_in_one_second_is_refused_without_a_new_folder(tmp_path):
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    base = "2026-11-30_094438"
    (sessions / base).mkdir()
    for n in range(2, 1000):
        (sessions / f"{base}-{n}").mkdir()
    with pytest.raises(FileExistsError, match=f"too many sessions started at {base}"):
        SessionNotes.begin(tmp_path, PACK, 44100, now=STARTED)
    assert len(list(sessions.iterdir())) == 999


def test_the_reserve_is_held_while_the_session_runs_and_released_when_it_ends(notes):
    reserve = notes.folder / RESERVE_NAME
    assert reserve.stat().st_size == RESERVE_BYTES and reserve.stat().st_mode & 0o777 == 0o600
    assert reserve.stat().st_blocks * 512 >= RESERVE_BYTES, "the space is really allocated, not a sparse file"
    notes.finish("complete")
    assert not reserve.exists()
    assert notes.release_reserve() is False


def test_release_reserve_says_whether_there_was_one(notes):
    assert notes.release_reserve() is True
    assert not (notes.folder / RESERVE_NAME).exists()
    assert notes.release_reserve() is False


def test_no_room_for_a_reserve_still_starts_the_session_and_leaves_no_file(tmp_path, monkeypatch, caplog):
    def no_room(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(device.notes.session_notes.os, "posix_fallocate", no_room)
    with caplog.at_level(logging.WARNING, logger="device.notes.session_notes"):
        notes = SessionNotes.begin(tmp_path, PACK, 44100, now=STARTED)
    assert sorted(p.name for p in notes.folder.iterdir()) == ["session.json", "transcript.md"]
    assert [r.getMessage() for r in caplog.records] == [
        "could not set space aside for the notes: No space left on device"
    ]
    assert notes.release_reserve() is False
    notes.finish("complete")
    assert record.parse(notes.folder).status == "complete"


def test_a_reserve_file_that_cannot_be_created_still_starts_the_session(tmp_path, monkeypatch, caplog):
    real_open = device.notes.session_notes.os.open

    def refuse_reserve(path, flags, mode=0o777):
        if Path(path).name == RESERVE_NAME:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, mode)

    monkeypatch.setattr(device.notes.session_notes.os, "open", refuse_reserve)
    with caplog.at_level(logging.WARNING, logger="device.notes.session_notes"):
        notes = SessionNotes.begin(tmp_path, PACK, 44100, now=STARTED)
    assert [r.getMessage() for r in caplog.records] == ["could not set space aside for the notes: Permission denied"]
    assert not (notes.folder / RESERVE_NAME).exists()
    _agree(notes)


def test_a_session_that_cannot_save_its_first_record_leaves_no_folder(tmp_path, monkeypatch):
    def fail_after_temp_file(path, text):
        (path.parent / f".{path.name}.tmp").write_text(text[:10])
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(device.notes.record, "atomic_write_text", fail_after_temp_file)
    with pytest.raises(OSError, match="Input/output error"):
        SessionNotes.begin(tmp_path, PACK, 44100, now=STARTED)
    assert list((tmp_path / "sessions").iterdir()) == []


def test_each_answer_is_recorded_into_its_own_numbered_file_in_the_session_folder(notes):
    assert [notes.audio_path(i) for i in (1, 9, 12)] == [
        notes.folder / "01.wav",
        notes.folder / "09.wav",
        notes.folder / "12.wav",
    ]


def test_answers_transcripts_audio_and_the_end_are_read_back_exactly(notes):
    notes.add_answer(1, answer_audio_name(1), 12.34567, "answered", "press")
    answer = record.parse(notes.folder).answer(1)
    assert (answer.audio, answer.duration_s, answer.status, answer.ended_by) == ("01.wav", 12.346, "answered", "press")
    assert answer.question == QUESTIONS[0]
    assert _record(notes)["answers"][0] == {
        "index": 1,
        "question": QUESTIONS[0],
        "audio": "01.wav",
        "duration_s": 12.346,
        "transcript": None,
        "words": [],
        "status": "answered",
        "ended_by": "press",
        "for_therapist": False,
    }
    # the transcript is null until the recognizer is done: recovery transcribes what is still null
    assert "*(still being transcribed)*" in (notes.folder / "transcript.md").read_text()
    _agree(notes)

    notes.add_answer(2, None, 0.0, "skipped", "no_speech")
    assert _record(notes)["answers"][1] == {
        "index": 2,
        "question": QUESTIONS[1],
        "audio": None,
        "duration_s": 0.0,
        "transcript": "",
        "words": [],
        "status": "skipped",
        "ended_by": "no_speech",
        "for_therapist": False,
    }
    skipped = record.parse(notes.folder).answer(2)
    assert (skipped.audio, skipped.transcript, skipped.words, skipped.status) == (None, "", (), "skipped")
    assert skipped.question == QUESTIONS[1]
    _agree(notes)

    heard = _transcript(("i", 0.3, 0.5, 0.9), ("feel", 0.6, 0.9, 0.75), ("safer", 1.0, 1.4, 1.0))
    notes.set_transcript(1, heard)
    answer = record.parse(notes.folder).answer(1)
    assert (answer.transcript, answer.words) == ("i feel safer", heard.words)
    _agree(notes)

    notes.set_audio(1, "01.opus")
    assert record.parse(notes.folder).answer(1).audio == "01.opus"
    assert record.parse(notes.folder).answer(1).words == heard.words
    _agree(notes)

    before = datetime.now().astimezone().replace(microsecond=0)
    notes.finish("ended_early")
    session = record.parse(notes.folder)
    assert session.status == "ended_early"
    assert before <= session.ended_at <= datetime.now().astimezone() and session.ended_at.microsecond == 0
    assert [a.index for a in session.answers] == [1, 2]
    _agree(notes)


def test_marking_an_answer_for_the_therapist_is_saved_and_reported(notes):
    notes.add_answer(1, "01.wav", 3.0, "answered", "press")
    assert notes.mark_for_therapist(1) is True
    assert record.parse(notes.folder).answer(1).for_therapist is True
    assert _record(notes)["answers"][0]["for_therapist"] is True
    _agree(notes)


def test_marking_an_answer_not_yet_noted_says_so_and_changes_nothing(notes):
    notes.add_answer(1, "01.wav", 3.0, "answered", "press")
    before = (notes.folder / "session.json").read_bytes()
    assert notes.mark_for_therapist(2) is False
    assert (notes.folder / "session.json").read_bytes() == before
    assert [a.for_therapist for a in record.parse(notes.folder).answers] == [False]
    _agree(notes)


def test_a_failed_recognition_keeps_the_recording_with_no_words(notes):
    notes.add_answer(1, "01.wav", 3.0, "answered", "silence")
    notes.set_transcript(1, _transcript(("x", 0.1, 0.2, 1.0)))
    notes.set_transcript(1, None)
    answer = record.parse(notes.folder).answer(1)
    assert (answer.audio, answer.transcript, answer.words) == ("01.wav", "", ())
    assert "*(no words recognised; the recording is kept)*" in (notes.folder / "transcript.md").read_text()
    _agree(notes)


def test_transcript_markdown_reads_question_by_question(notes):
    notes.add_answer(1, "01.wav", 4.25, "answered", "press")
    notes.set_transcript(1, _transcript(("calmer", 0.3, 0.6, 1.0), ("now", 0.7, 0.9, 1.0)))
    notes.add_answer(2, None, 0.0, "skipped", "no_speech")
    assert (notes.folder / "transcript.md").read_text() == "\n".join(
        [
            "# Why the therapy relationship matters",
            "",
            "Monday 30 November 2026, 09:44",
            "",
            f"## 1. {QUESTIONS[0]}",
            "",
            "calmer now",
            "",
            "Recording: 01.wav (4.2 s)",
            "",
            f"## 2. {QUESTIONS[1]}",
            "",
            "*(skipped)*",
            "",
            f"## 3. {QUESTIONS[2]}",
            "",
            "*(not reached)*",
            "",
        ]
    )


def test_an_interrupted_answer_with_audio_but_no_transcript_yet_says_so(notes):
    notes.add_answer(1, "01.wav", 2.0, "interrupted", "hold")
    text = (notes.folder / "transcript.md").read_text()
    assert f"## 1. {QUESTIONS[0]}\n\n*(still being transcribed)*\n\nRecording: 01.wav (2.0 s)\n" in text


def test_a_full_disk_frees_the_reserve_and_saves_the_answer(notes, monkeypatch, caplog):
    real_write = device.notes.record.atomic_write_text
    failures = []

    def full_once(path, text):
        if not failures:
            failures.append(path.name)
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, text)

    monkeypatch.setattr(device.notes.record, "atomic_write_text", full_once)
    with caplog.at_level(logging.WARNING, logger="device.notes.session_notes"):
        notes.add_answer(1, "01.wav", 5.0, "answered", "press")
    assert failures == ["session.json"]
    assert not (notes.folder / RESERVE_NAME).exists()
    assert [r.getMessage() for r in caplog.records] == [
        f"disk full: using the space set aside to save session {notes.id}"
    ]
    assert record.parse(notes.folder).answer(1).audio == "01.wav"
    _agree(notes)


def test_a_full_disk_with_the_reserve_already_used_is_reported(notes, monkeypatch):
    notes.release_reserve()

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(device.notes.record, "atomic_write_text", full)
    with pytest.raises(OSError) as caught:
        notes.add_answer(1, "01.wav", 5.0, "answered", "press")
    assert caught.value.errno == errno.ENOSPC


def test_a_disk_that_stays_full_after_the_reserve_is_freed_is_reported(notes, monkeypatch):
    calls = []

    def full(path, text):
        calls.append(path.name)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(device.notes.record, "atomic_write_text", full)
    with pytest.raises(OSError):
        notes.add_answer(1, "01.wav", 5.0, "answered", "press")
    assert calls == ["session.json", "session.json"], "retried once, not forever"
    assert not (notes.folder / RESERVE_NAME).exists()


def test_other_write_errors_keep_the_reserve(notes, monkeypatch):
    def broken(path, text):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(device.notes.record, "atomic_write_text", broken)
    with pytest.raises(OSError, match="Input/output error"):
        notes.add_answer(1, "01.wav", 5.0, "answered", "press")
    assert (notes.folder / RESERVE_NAME).exists()


def test_finish_releases_the_reserve_even_when_the_last_write_fails(notes, monkeypatch):
    def broken(path, text):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(device.notes.record, "atomic_write_text", broken)
    with pytest.raises(OSError):
        notes.finish("complete")
    assert not (notes.folder / RESERVE_NAME).exists()


def test_a_write_that_fails_half_way_leaves_the_previous_notes_whole(notes, monkeypatch):
    notes.add_answer(1, "01.wav", 5.0, "answered", "press")
    before = {name: (notes.folder / name).read_bytes() for name in ("session.json", "transcript.md")}
    real_write = common.files.os.write

    def half_then_fail(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(common.files.os, "write", half_then_fail)
    with pytest.raises(OSError, match="Input/output error"):
        notes.set_transcript(1, _transcript(("half", 0.1, 0.4, 1.0), ("written", 0.5, 0.9, 1.0)))
    monkeypatch.undo()
    assert {name: (notes.folder / name).read_bytes() for name in before} == before
    assert record.parse(notes.folder).answer(1).transcript == ""
    assert sorted(p.name for p in notes.folder.iterdir()) == [RESERVE_NAME, "session.json", "transcript.md"]


def test_a_reader_never_sees_half_written_notes(ram_notes):
    """A reader thread (like `reflect show` during a session) reads session.json while answers keep arriving."""
    seen, problems = [], []
    first_read, stop = threading.Event(), threading.Event()

    def reader():
        while not stop.is_set():
            try:
                seen.append(len(record.parse(ram_notes.folder).answers))
            except Exception as exc:  # noqa: BLE001 - any failure is what the test reports
                problems.append(repr(exc))
            first_read.set()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert first_read.wait(10)
        for round_ in range(15):
            for index in range(1, len(QUESTIONS) + 1):
                ram_notes.add_answer(index, f"{index:02d}.wav", 1.5 + round_, "answered", "press")
                ram_notes.set_transcript(
                    index, _transcript(*[(f"w{round_}x{i}", i * 0.5, i * 0.5 + 0.3, 0.8) for i in range(30)])
                )
    finally:
        stop.set()
        thread.join()
    assert problems == []
    assert seen == sorted(seen), "the reader only ever sees the answers grow"
    assert len(seen) > 1
    _agree(ram_notes)


def test_two_threads_updating_lose_no_answer(ram_notes):
    """The recognizer thread fills in transcripts while the session thread records the next answers."""
    ram_notes.add_answer(1, "01.wav", 1.0, "answered", "press")
    started = threading.Event()

    def transcribe():
        started.set()
        for n in range(30):
            ram_notes.set_transcript(1, _transcript((f"word{n}", 0.1, 0.2, 1.0)))

    thread = threading.Thread(target=transcribe)
    thread.start()
    assert started.wait(10)
    for index in range(2, 200):
        ram_notes.add_answer(min(index, len(QUESTIONS)), None, 0.0, "skipped", "no_speech")
    thread.join()
    record = _record(ram_notes)
    assert len(record["answers"]) == 199
    assert record["answers"][0]["transcript"] == "word29"
    _agree(ram_notes)


answer_ops = st.lists(
    st.tuples(
        st.sampled_from(["answered", "skipped", "interrupted"]),
        st.floats(min_value=0, max_value=600, allow_nan=False),
        st.sampled_from(["press", "silence", "no_speech", "hold", "max_length", "disk_full"]),
        st.one_of(
            st.none(),
            st.lists(st.tuples(st.text(min_size=1, max_size=8), st.floats(0, 300), st.floats(0, 1)), max_size=5),
        ),
        st.booleans(),
    ),
    max_size=len(QUESTIONS),
)


@settings(max_examples=25, deadline=None)
@given(
    ops=answer_ops,
    status=st.sampled_from(["complete", "ended_early", "interrupted"]),
    rate=st.sampled_from([16000, 44100, 48000]),
)
def test_whatever_a_session_records_reads_back_the_same(ops, status, rate):
    with tempfile.TemporaryDirectory(dir="/dev/shm") as data:
        _record_and_read_back(Path(data), ops, status, rate)


def _record_and_read_back(data, ops, status, rate):
    notes = SessionNotes.begin(data, PACK, rate, now=STARTED + timedelta(seconds=len(ops)))
    expected = []
    for index, (answer_status, duration, ended_by, heard, compressed) in enumerate(ops, 1):
        audio = None if answer_status == "skipped" else answer_audio_name(index)
        notes.add_answer(index, audio, duration, answer_status, ended_by)
        words = ()
        if audio is not None:
            transcript = None if heard is None else _transcript(*[(w, s, s + 0.1, c) for w, s, c in heard])
            notes.set_transcript(index, transcript)
            words = transcript.words if transcript else ()
            if compressed:
                audio = f"{index:02d}.opus"
                notes.set_audio(index, audio)
        expected.append(
            (
                index,
                QUESTIONS[index - 1],
                audio,
                round(duration, 3),
                " ".join(w.word for w in words),
                tuple(words),
                answer_status,
                ended_by,
            )
        )
        _agree(notes)
    notes.finish(status)
    session = record.parse(notes.folder)
    assert (session.status, session.sample_rate) == (status, rate)
    assert [
        (a.index, a.question, a.audio, a.duration_s, a.transcript, a.words, a.status, a.ended_by)
        for a in session.answers
    ] == expected
    _agree(notes)
