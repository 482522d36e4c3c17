"""What the archive promises about people's notes: a deleted session leaves nothing in the index file, names resolve
the way `reflect show` says, damaged sessions are set aside (never deleted) with a one-line reason, and every field
of session.json is checked before it is believed."""

import json
import logging
import os
import signal
import sqlite3
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audio.recognizer import Word
from bench.archive_factory import QUESTIONS, write_session
from common.errors import AudioCorrupt, SessionAmbiguous, SessionDamaged, SessionNotFound
from device.notes import record
from device.notes.archive import Archive, audio_problem, set_aside
from device.setup import cli

T0 = datetime(2026, 11, 30, 9, 44, 38, tzinfo=timezone.utc)


def _index_rows(data_dir: Path, sql: str, *params):
    """Query the index file through a connection of its own, as another process would see it."""
    conn = sqlite3.connect(f"file:{data_dir / 'index.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _rewrite(folder: Path, change) -> None:
    doc = json.loads((folder / "session.json").read_text())
    change(doc)
    (folder / "session.json").write_text(json.dumps(doc))


@pytest.fixture
def ram_dir():
    """A data dir on tmpfs, for the tests that build many archives."""
    with tempfile.TemporaryDirectory(dir="/dev/shm") as data:
        yield Path(data)


# --- deletion -------------------------------------------------------------------------------------------------------


def _archive_with_markers(data_dir: Path, count: int) -> list[str]:
    """`count` sessions a day apart, each with a word no other session says; returns their ids."""
    ids = []
    for k in range(count):
        folder = write_session(
            data_dir,
            T0 + timedelta(days=k),
            [["we", "talked", f"secretword{k}x"], None, [f"other{k}x", "calm"]],
            rate=8000,
        )
        ids.append(folder.name)
    return ids


def _assert_gone_from_index_file(data_dir: Path, doomed: int, kept: list[int], ids: list[str]) -> None:
    raw = (data_dir / "index.sqlite3").read_bytes()
    assert f"secretword{doomed}x".encode() not in raw and f"other{doomed}x".encode() not in raw
    assert ids[doomed].encode() not in raw
    assert not (data_dir / "index.sqlite3-journal").exists()
    assert _index_rows(data_dir, "SELECT id FROM sessions WHERE id = ?", ids[doomed]) == []
    assert (
        _index_rows(data_dir, "SELECT rowid FROM answer_text WHERE answer_text MATCH ?", f"secretword{doomed}x") == []
    )
    assert sorted(r[0] for r in _index_rows(data_dir, "SELECT id FROM sessions")) == sorted(ids[k] for k in kept)
    for k in kept:
        assert (
            len(_index_rows(data_dir, "SELECT rowid FROM answer_text WHERE answer_text MATCH ?", f"secretword{k}x"))
            == 1
        )


@settings(max_examples=8, deadline=None)
@given(count=st.integers(1, 4), data=st.data())
def test_a_deleted_sessions_words_are_gone_from_the_index_file_when_delete_returns(count, data):
    with tempfile.TemporaryDirectory(dir="/dev/shm") as tmp:
        data_dir = Path(tmp)
        ids = _archive_with_markers(data_dir, count)
        archive = Archive(data_dir)
        for k in range(count):
            assert len(archive.search([f"secretword{k}x"])) == 1
        doomed = data.draw(st.integers(0, count - 1), label="doomed")
        assert f"secretword{doomed}x".encode() in (data_dir / "index.sqlite3").read_bytes()
        assert archive.delete(ids[doomed]) == ids[doomed]
        _assert_gone_from_index_file(data_dir, doomed, [k for k in range(count) if k != doomed], ids)
        assert not (data_dir / "sessions" / ids[doomed]).exists()
        assert not list(data_dir.glob(".deleting-*"))


def test_delete_clears_every_answer_number_the_index_holds(ram_dir):
    """Answers numbered up to 999 are indexed; the last of them is wiped from the file like the first."""
    ids = _archive_with_markers(ram_dir, 2)
    folder = ram_dir / "sessions" / ids[0]
    doc = json.loads((folder / "session.json").read_text())
    doc["answers"][2]["index"] = 999
    (folder / "session.json").write_text(json.dumps(doc))
    archive = Archive(ram_dir)
    assert [h.answer for h in archive.search(["other0x"])] == [999]
    archive.delete(ids[0])
    _assert_gone_from_index_file(ram_dir, 0, [1], ids)


def test_delete_by_prefix_or_latest_removes_that_session_only(ram_dir):
    ids = _archive_with_markers(ram_dir, 3)
    archive = Archive(ram_dir)
    archive.sessions()
    assert archive.delete("latest") == ids[2]
    _assert_gone_from_index_file(ram_dir, 2, [0, 1], ids)
    assert archive.delete(ids[0][:10]) == ids[0]
    assert [s.id for s in archive.sessions()] == [ids[1]]


def test_delete_is_logged_by_id_only(ram_dir, caplog):
    ids = _archive_with_markers(ram_dir, 1)
    with caplog.at_level(logging.INFO, logger="device.notes.archive"):
        Archive(ram_dir).delete("latest")
    assert [r.getMessage() for r in caplog.records] == [f"deleted session {ids[0]}"]


def test_delete_works_while_another_session_is_being_started(ram_dir):
    """A folder without session.json yet (a session starting) is reported, not a reason to fail the delete."""
    ids = _archive_with_markers(ram_dir, 2)
    (ram_dir / "sessions" / "2027-01-01_000000").mkdir()
    assert Archive(ram_dir).delete(ids[0]) == ids[0]
    _assert_gone_from_index_file(ram_dir, 0, [1], ids)
    assert (ram_dir / "sessions" / "2027-01-01_000000").is_dir()


def test_delete_finishes_a_delete_a_crash_interrupted(ram_dir):
    ids = _archive_with_markers(ram_dir, 2)
    half_done = ram_dir / ".deleting-2026-01-01_000000"
    (half_done / "inner").mkdir(parents=True)
    (half_done / "inner" / "01.wav").write_bytes(b"RIFF")
    Archive(ram_dir).delete(ids[0])
    assert not half_done.exists()
    assert [p.name for p in (ram_dir / "sessions").iterdir()] == [ids[1]]


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """`reflect` run in-process: no config but the flags, and the process-wide settings main() changes put back."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for key in list(os.environ):
        if key.startswith("REFLECT_"):
            monkeypatch.delenv(key)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGXFSZ)}
    umask = os.umask(0o077)
    os.umask(umask)
    yield
    os.umask(umask)
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def test_reflect_delete_yes_leaves_nothing_in_the_index_file(ram_dir, cli_env, capsys):
    ids = _archive_with_markers(ram_dir, 3)
    Archive(ram_dir).sessions()
    assert cli.main(["delete", ids[1], "--yes", "--data-dir", str(ram_dir)]) == 0
    assert capsys.readouterr().out.strip() == f"Deleted session {ids[1]}."
    _assert_gone_from_index_file(ram_dir, 1, [0, 2], ids)


def test_reflect_delete_of_an_unknown_session_is_one_line_and_exit_2(ram_dir, cli_env, capsys):
    _archive_with_markers(ram_dir, 1)
    assert cli.main(["delete", "1999", "--yes", "--data-dir", str(ram_dir)]) == 2
    err = capsys.readouterr().err
    assert err == "reflect: no saved session matches '1999'; try `reflect notes` to list them\n"


# --- resolving names ------------------------------------------------------------------------------------------------


def test_resolve_lists_at_most_eight_candidates_when_ambiguous(ram_dir):
    for k in range(11):
        write_session(
            ram_dir, T0 + timedelta(hours=k // 8), [["x"]], rate=8000
        )  # eight in one second, three an hour later
    archive = Archive(ram_dir)
    ids = sorted(s.id for s in archive.sessions())
    with pytest.raises(SessionAmbiguous) as caught:
        archive.resolve("2026-11-30")
    assert str(caught.value) == f"'2026-11-30' matches 11 sessions: {', '.join(ids[:8])} and 3 more"
    with pytest.raises(SessionAmbiguous) as caught:
        archive.resolve("2026-11-30_0944")
    assert str(caught.value) == f"'2026-11-30_0944' matches 8 sessions: {', '.join(ids[:8])}"


def test_resolve_prefers_an_exact_name_over_longer_names_it_prefixes(ram_dir):
    first = write_session(ram_dir, T0, [["x"]], rate=8000)
    second = write_session(ram_dir, T0, [["y"]], rate=8000)
    archive = Archive(ram_dir)
    assert archive.resolve(first.name) == first.name
    assert archive.resolve(second.name) == second.name
    assert archive.resolve("latest") == second.name, "same second: the later folder (-2) is the latest"


def test_resolving_a_damaged_session_says_where_it_was_set_aside(ram_dir):
    good = write_session(ram_dir, T0, [["x"]], rate=8000)
    bad = write_session(ram_dir, T0 + timedelta(days=1), [["y"]], rate=8000)
    (bad / "session.json").write_text("{")
    archive = Archive(ram_dir)
    with pytest.raises(SessionDamaged) as caught:
        archive.resolve(bad.name)
    assert str(caught.value) == f"session {bad.name} is damaged; it was set aside in {ram_dir / 'damaged' / bad.name}"
    assert archive.resolve("latest") == good.name
    with pytest.raises(SessionNotFound) as caught:
        archive.resolve(bad.name[:12])
    assert not isinstance(caught.value, SessionDamaged), "only a full folder name is looked up among the damaged"
    assert str(caught.value) == f"no saved session matches {bad.name[:12]!r}; try `reflect notes` to list them"
    for odd in ("../damaged", "damaged/" + bad.name):
        with pytest.raises(SessionNotFound) as caught:
            archive.resolve(odd)
        assert not isinstance(caught.value, SessionDamaged)


def test_dot_names_are_not_mistaken_for_damaged_sessions(ram_dir):
    """`reflect show ..` once said "session .. is damaged; it was set aside in <data>/damaged/..":
    the data dir itself."""
    (ram_dir / "damaged").mkdir()
    write_session(ram_dir, T0, [["x"]], rate=8000)
    for odd in ("..", "."):
        with pytest.raises(SessionNotFound) as caught:
            Archive(ram_dir).resolve(odd)
        assert str(caught.value) == f"no saved session matches {odd!r}; try `reflect notes` to list them"


def test_resolve_an_empty_name_matches_nothing(ram_dir):
    (ram_dir / "damaged").mkdir()
    write_session(ram_dir, T0, [["x"]], rate=8000)
    with pytest.raises(SessionNotFound) as caught:
        Archive(ram_dir).resolve("")
    assert not isinstance(caught.value, (SessionAmbiguous, SessionDamaged))


def test_latest_in_an_empty_archive_says_there_are_none(ram_dir):
    with pytest.raises(SessionNotFound) as caught:
        Archive(ram_dir).resolve("latest")
    assert str(caught.value) == "there are no saved sessions yet"


# --- listing ----------------------------------------------------------------------------------------------------


def test_listing_is_newest_first_by_the_moment_not_the_text_of_the_time(ram_dir):
    """A session started at 10:00 in Berlin (09:00 UTC) is older than one at 09:30 UTC."""
    berlin = timezone(timedelta(hours=1))
    early = write_session(ram_dir, datetime(2026, 3, 1, 10, 0, tzinfo=berlin), [["a"]], rate=8000)
    later = write_session(ram_dir, datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc), [["b"]], rate=8000)
    same = write_session(ram_dir, datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc), [["c"]], rate=8000)
    listing = Archive(ram_dir).listing()
    assert [s.id for s in listing.sessions] == [same.name, later.name, early.name]
    assert listing.sessions[2].started_at == datetime(2026, 3, 1, 10, 0, tzinfo=berlin)
    assert listing.sessions[2].started_at.utcoffset() == timedelta(hours=1)


def test_listing_reports_each_audio_problem_and_the_damaged_folders(ram_dir, caplog):
    ok = write_session(ram_dir, T0, [["one", "two"], None, ["three"]], rate=8000)
    (ok / "01.wav").unlink()
    raw = (ok / "03.wav").read_bytes()
    (ok / "03.wav").write_bytes(raw[: 44 + (len(raw) - 44) // 4 // 2 * 2])
    broken = write_session(ram_dir, T0 + timedelta(days=1), [["x"]], rate=8000)
    _rewrite(broken, lambda d: d.update(status="lost"))
    with caplog.at_level(logging.WARNING, logger="device.notes.archive"):
        listing = Archive(ram_dir).listing()
    assert [r.getMessage() for r in caplog.records] == [
        f"session {broken.name} is damaged (session: unknown status); moved to {ram_dir / 'damaged' / broken.name}"
    ]
    duration = 0.3 + 0.5 + 0.2
    short = (len(raw) - 44) // 4 // 2 / 8000
    assert [s.id for s in listing.sessions] == [ok.name]
    assert listing.sessions[0].problems == (
        "answer 1: audio file 01.wav is missing",
        f"answer 3: audio file 03.wav is truncated ({short:.1f} s of {duration:.1f} s)",
    )
    assert listing.notices == [
        f"Session {broken.name} is damaged (session: unknown status); moved to {ram_dir / 'damaged' / broken.name}.",
        f"Session {ok.name}: answer 1: audio file 01.wav is missing.",
        f"Session {ok.name}: answer 3: audio file 03.wav is truncated ({short:.1f} s of {duration:.1f} s).",
        f"1 damaged session folder(s) are kept aside in {ram_dir / 'damaged'}.",
    ]


def test_an_empty_damaged_folder_is_not_mentioned(ram_dir):
    write_session(ram_dir, T0, [["a"]], rate=8000)
    (ram_dir / "damaged").mkdir()
    assert Archive(ram_dir).listing().notices == []


def test_listing_counts_answers_said_and_seconds_spoken(ram_dir):
    folder = write_session(ram_dir, T0, [["a", "b"], None, ["c"]], rate=8000)
    _rewrite(folder, lambda d: d["answers"][2].update(status="interrupted"))
    [summary] = Archive(ram_dir).sessions()
    assert summary.answers == 2
    assert summary.spoken_s == pytest.approx((0.3 + 2 * 0.5 + 0.2) + (0.3 + 0.5 + 0.2))
    assert (summary.pack_title, summary.status, summary.started_at) == (
        "Why the therapy relationship matters",
        "complete",
        T0,
    )


def test_hidden_entries_and_stray_files_in_sessions_are_not_sessions(ram_dir):
    write_session(ram_dir, T0, [["a"]], rate=8000)
    (ram_dir / "sessions" / ".deleting-x").mkdir()
    (ram_dir / "sessions" / "notes.txt").write_text("mine")
    (ram_dir / "sessions" / "link").symlink_to(ram_dir / "sessions" / "2026-11-30_094438")
    listing = Archive(ram_dir).listing()
    assert [s.id for s in listing.sessions] == ["2026-11-30_094438"] and listing.notices == []
    assert (ram_dir / "sessions" / "notes.txt").read_text() == "mine"


# --- damaged sessions are set aside, never deleted --------------------------------------------------------------------


def test_set_aside_never_overwrites_an_earlier_damaged_copy(ram_dir, caplog):
    damaged = ram_dir / "damaged"
    kept = []
    for n in range(3):
        folder = ram_dir / "sessions" / "2026-01-01_000000"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "session.json").write_text(f"copy {n}")
        with caplog.at_level(logging.WARNING, logger="device.notes.archive"):
            kept.append(set_aside(folder, damaged, "a reason"))
    assert caplog.records[-1].getMessage() == f"session 2026-01-01_000000 is damaged (a reason); moved to {kept[-1]}"
    assert [p.name for p in kept] == ["2026-01-01_000000", "2026-01-01_000000.2", "2026-01-01_000000.3"]
    assert [(p / "session.json").read_text() for p in kept] == ["copy 0", "copy 1", "copy 2"]
    assert damaged.stat().st_mode & 0o777 == 0o700


def test_loading_a_session_damaged_since_it_was_indexed_moves_it_and_says_why_in_one_line(ram_dir):
    """The index is stale when session.json changed within the same size and mtime; load still checks the file."""
    folder = write_session(ram_dir, T0, [["a"]], rate=8000)
    archive = Archive(ram_dir)
    archive.sessions()
    path = folder / "session.json"
    stat = path.stat()
    path.write_text(path.read_text().replace('"sample_rate": 8000', '"sample_rate": "80"'))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(SessionDamaged) as caught:
        archive.load("latest")
    assert str(caught.value) == (
        f"session {folder.name} is damaged (session: 'sample_rate' is missing or has the wrong type);"
        f" moved to {ram_dir / 'damaged' / folder.name}"
    )
    assert json.loads((ram_dir / "damaged" / folder.name / "session.json").read_text())["sample_rate"] == "80"
    assert (ram_dir / "damaged" / folder.name / "01.wav").exists()


def test_a_session_json_that_vanishes_while_indexing_is_left_alone(ram_dir, monkeypatch):
    """A folder whose session.json disappears between the scan and the read (a delete racing) is not set aside."""
    folder = write_session(ram_dir, T0, [["a"]], rate=8000)
    archive = Archive(ram_dir)
    real_stamps = archive._stamps

    def stamps_then_vanish(notices):
        stamps = real_stamps(notices)
        (folder / "session.json").unlink()
        return stamps

    monkeypatch.setattr(archive, "_stamps", stamps_then_vanish)
    listing = archive.listing()
    assert listing.sessions == [] and listing.notices == []
    assert folder.exists() and not (ram_dir / "damaged").exists()


# --- every field of session.json is checked ---------------------------------------------------------------------


def _first(doc):
    return doc["answers"][0]


REFUSED = {
    "only_a_version": (lambda d: d.clear() or d.update(version=1), "session: 'pack' is missing or has the wrong type"),
    "no_version": (lambda d: d.pop("version"), "session.json has unknown version None"),
    "version_4": (lambda d: d.update(version=4), "session.json has unknown version 4"),
    "long_version": (lambda d: d.update(version="v" * 40), "session.json has unknown version 'vvvvvvvvvvvvvvvvvvv"),
    "pack_missing": (lambda d: d.pop("pack"), "session: 'pack' is missing or has the wrong type"),
    "pack_list": (lambda d: d.update(pack=["a"]), "session: 'pack' is missing or has the wrong type"),
    "pack_id": (lambda d: d["pack"].pop("id"), "pack: 'id' is missing or has the wrong type"),
    "pack_title": (lambda d: d["pack"].update(title=3), "pack: 'title' is missing or has the wrong type"),
    "status_missing": (lambda d: d.pop("status"), "session: 'status' is missing or has the wrong type"),
    "status_unknown": (lambda d: d.update(status="done"), "session: unknown status"),
    "started_missing": (lambda d: d.pop("started_at"), "session: 'started_at' is missing or has the wrong type"),
    "started_garbage": (lambda d: d.update(started_at="yesterday"), "started_at: not an ISO timestamp"),
    "ended_garbage": (lambda d: d.update(ended_at="later"), "ended_at: not an ISO timestamp"),
    "rate_bool": (lambda d: d.update(sample_rate=True), "session: 'sample_rate' is missing or has the wrong type"),
    "rate_float": (lambda d: d.update(sample_rate=44100.0), "session: 'sample_rate' is missing or has the wrong type"),
    "questions_text": (lambda d: d.update(questions="why?"), "session: 'questions' is missing or has the wrong type"),
    "answers_missing": (lambda d: d.pop("answers"), "session: 'answers' is missing or has the wrong type"),
    "answer_not_object": (lambda d: d["answers"].append("yes"), "answer 3: 'status' is missing or has the wrong type"),
    "answer_status": (lambda d: _first(d).update(status="fine"), "answer 1: unknown status"),
    "answer_status_number": (
        lambda d: _first(d).update(status=1),
        "answer 1: 'status' is missing or has the wrong type",
    ),
    "audio_escapes": (lambda d: _first(d).update(audio="../../etc/passwd"), "answer 1: 'audio' is not a file name"),
    "audio_in_subfolder": (lambda d: _first(d).update(audio="sub/01.wav"), "answer 1: 'audio' is not a file name"),
    "audio_empty": (lambda d: _first(d).update(audio=""), "answer 1: 'audio' is not a file name"),
    "audio_dot": (lambda d: _first(d).update(audio="."), "answer 1: 'audio' is not a file name"),
    "audio_dotdot": (lambda d: _first(d).update(audio=".."), "answer 1: 'audio' is not a file name"),
    "audio_number": (lambda d: _first(d).update(audio=1), "answer 1: 'audio' is not a file name"),
    "words_text": (lambda d: _first(d).update(words="a b"), "answer 1: 'words' is missing or has the wrong type"),
    "word_missing": (lambda d: _first(d)["words"][0].pop("word"), "answer 1: 'word' is missing or has the wrong type"),
    "word_not_object": (
        lambda d: _first(d)["words"].append(["x", 1, 2]),
        "answer 1: 'word' is missing or has the wrong type",
    ),
    "word_start": (
        lambda d: _first(d)["words"][0].update(start="0.3"),
        "answer 1: 'start' is missing or has the wrong type",
    ),
    "word_end": (lambda d: _first(d)["words"][0].update(end=None), "answer 1: 'end' is missing or has the wrong type"),
    "word_start_bool": (
        lambda d: _first(d)["words"][0].update(start=False),
        "answer 1: 'start' is missing or has the wrong type",
    ),
    "index_missing": (lambda d: _first(d).pop("index"), "answer 1: 'index' is missing or has the wrong type"),
    "index_float": (lambda d: _first(d).update(index=1.0), "answer 1: 'index' is missing or has the wrong type"),
    "question_missing": (lambda d: _first(d).pop("question"), "answer 1: 'question' is missing or has the wrong type"),
    "duration_text": (
        lambda d: _first(d).update(duration_s="2s"),
        "answer 1: 'duration_s' is missing or has the wrong type",
    ),
    "second_answer": (
        lambda d: d["answers"][1].update(index="2"),
        "answer 2: 'index' is missing or has the wrong type",
    ),
}


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_parse_session_refuses_each_malformed_field_with_a_one_line_reason(ram_dir, kind):
    change, message = REFUSED[kind]
    folder = write_session(ram_dir, T0, [["one", "two"], None], rate=8000)
    _rewrite(folder, change)
    with pytest.raises(SessionDamaged) as caught:
        record.parse(folder)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "content,message",
    [
        (None, "session.json is missing"),
        (b'{"version": ', "session.json is not valid JSON (JSONDecodeError at byte 12)"),
        (b'{"version": "\xff"}', "session.json is not valid JSON (UnicodeDecodeError at byte 13)"),
        (b"[1, 2]", "session.json is not a JSON object"),
        (b'"hello"', "session.json is not a JSON object"),
    ],
)
def test_an_unreadable_session_json_is_refused_without_quoting_it(ram_dir, content, message):
    folder = ram_dir / "s"
    folder.mkdir()
    if content is not None:
        (folder / "session.json").write_bytes(content)
    with pytest.raises(SessionDamaged) as caught:
        record.parse(folder)
    assert str(caught.value) == message


def test_optional_fields_have_safe_defaults(ram_dir):
    folder = write_session(ram_dir, T0, [["one", "two"], ["three"]], rate=8000)

    def loosen(d):
        d["pack"].pop("language")
        d["ended_at"] = 5
        d["questions"].append(7)
        first, second = d["answers"]
        first.update(transcript=None, ended_by=3, duration_s=None, words=None)
        second["words"][0].pop("conf")
        second["words"][0].update(start=1, end=2)
        second.update(duration_s=2, ended_by="press")
        second.pop("transcript")

    _rewrite(folder, loosen)
    session = record.parse(folder)
    assert (session.language, session.ended_at, session.questions) == ("", None, QUESTIONS[:2])
    first, second = session.answers
    assert (first.transcript, first.ended_by, first.duration_s, first.words) == ("", None, 0.0, ())
    assert second.words == (Word("three", 1.0, 2.0, 1.0),)
    assert isinstance(second.words[0].start, float) and isinstance(second.duration_s, float)
    assert (second.duration_s, second.ended_by, second.transcript) == (2.0, "press", "")


def test_a_non_numeric_confidence_counts_as_certain(ram_dir):
    folder = write_session(ram_dir, T0, [["one", "two"]], rate=8000)
    _rewrite(folder, lambda d: _first(d)["words"][0].update(conf="high"))
    session = record.parse(folder)
    assert [w.conf for w in session.answers[0].words] == [1.0, 0.9]


def test_the_session_as_read_is_the_session_as_written(ram_dir):
    folder = write_session(ram_dir, T0, [["one", "two"], None], rate=8000, status="ended_early")
    doc = json.loads((folder / "session.json").read_text())
    session = record.parse(folder)
    assert (session.id, session.path, session.pack_id, session.pack_title, session.language) == (
        folder.name,
        folder,
        "therapy-relationship",
        "Why the therapy relationship matters",
        "en",
    )
    assert (session.started_at, session.ended_at, session.status, session.sample_rate) == (
        T0,
        T0 + timedelta(minutes=8),
        "ended_early",
        8000,
    )
    assert session.questions == QUESTIONS[:2]
    answered, skipped = session.answers
    assert (answered.index, answered.question, answered.audio, answered.status, answered.ended_by) == (
        1,
        QUESTIONS[0],
        "01.wav",
        "answered",
        "press",
    )
    assert answered.duration_s == doc["answers"][0]["duration_s"] and answered.transcript == "one two"
    assert answered.words == tuple(Word(w["word"], w["start"], w["end"], w["conf"]) for w in doc["answers"][0]["words"])
    assert (skipped.index, skipped.audio, skipped.status, skipped.ended_by, skipped.words) == (
        2,
        None,
        "skipped",
        "no_speech",
        (),
    )


# --- audio --------------------------------------------------------------------------------------------------------


def test_audio_problems_are_named_in_one_line(ram_dir):
    folder = write_session(ram_dir, T0, [["a", "b", "c", "d"], None, ["e"]], rate=8000)
    session = record.parse(folder)
    first, skipped, third = session.answers
    assert [audio_problem(session, a) for a in session.answers] == [None, None, None]
    raw = (folder / "01.wav").read_bytes()
    (folder / "01.wav").write_bytes(raw[: 44 + 8000 * 2])  # 1.0 s of 2.5 s
    assert audio_problem(session, first) == "answer 1: audio file 01.wav is truncated (1.0 s of 2.5 s)"
    (folder / "01.wav").write_bytes(raw[: 44 + int(8000 * 2.25) * 2])  # short by exactly the tolerance
    assert audio_problem(session, first) is None
    (folder / "03.wav").write_bytes(b"not a wav file at all")
    assert audio_problem(session, third) == "answer 3: audio file 03.wav is unreadable"
    (folder / "03.wav").unlink()
    assert audio_problem(session, third) == "answer 3: audio file 03.wav is missing"


def test_reading_audio_that_is_not_there_says_which_answer(ram_dir):
    folder = write_session(ram_dir, T0, [["a", "b", "c", "d"], None], rate=8000)
    archive = Archive(ram_dir)
    session = archive.load("latest")
    with pytest.raises(AudioCorrupt) as caught:
        archive.read_answer_audio(session, 2)
    assert str(caught.value) == f"answer 2 of session {folder.name} has no recording (skipped)"
    raw = (folder / "01.wav").read_bytes()
    (folder / "01.wav").write_bytes(raw[: 44 + 8000 * 2])
    with pytest.raises(AudioCorrupt) as caught:
        archive.read_answer_audio(session, 1)
    assert str(caught.value) == f"answer 1 of session {folder.name}: audio file 01.wav is truncated"
    (folder / "01.wav").write_bytes(raw[: 44 + int(8000 * 2.25) * 2])  # short by exactly the tolerance
    samples, rate = archive.read_answer_audio(session, 1)
    assert (rate, len(samples)) == (8000, int(8000 * 2.25))
    (folder / "01.wav").unlink()
    with pytest.raises(AudioCorrupt) as caught:
        archive.read_answer_audio(session, 1)
    assert str(caught.value) == f"answer 1 of session {folder.name}: audio file 01.wav is missing"
    with pytest.raises(SessionNotFound) as caught:
        session.answer(3)
    assert str(caught.value) == f"session {folder.name} has no answer 3 (it has 2)"


def test_replay_goes_on_past_a_broken_recording_and_logs_it_without_words(ram_dir, caplog):
    folder = write_session(ram_dir, T0, [["a", "b"], None, ["c"]], rate=8000)
    (folder / "01.wav").unlink()
    archive = Archive(ram_dir)
    session = archive.load("latest")
    with caplog.at_level(logging.WARNING, logger="device.notes.archive"):
        plays = list(archive.replay(session))
    assert [(p.index, p.question, p.status) for p in plays] == [
        (1, QUESTIONS[0], "answered"),
        (2, QUESTIONS[1], "skipped"),
        (3, QUESTIONS[2], "answered"),
    ]
    assert [(p.samples is None, p.rate, p.problem) for p in plays[:2]] == [
        (True, None, f"answer 1 of session {folder.name}: audio file 01.wav is missing"),
        (True, None, None),
    ]
    assert plays[2].rate == 8000 and len(plays[2].samples) == int(8000 * (0.3 + 0.5 + 0.2))
    assert [r.getMessage() for r in caplog.records] == [
        f"replay: answer 1 of session {folder.name}: audio file 01.wav is missing"
    ]
    [only] = archive.replay(session, only=3)
    assert only.index == 3 and only.problem is None
