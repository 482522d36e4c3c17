"""Full-text search over real session files: hits, word times, staleness, corruption and leaving nothing behind."""
import json
import shutil
import sqlite3
from datetime import datetime, timezone

import pytest

from device.notes.archive import Archive
from device.notes.search_index import fts_query
from tests.archive_factory import make_archive, word_times, write_session

T0 = datetime(2026, 11, 30, 9, 44, 38, tzinfo=timezone.utc)


@pytest.fixture
def archive(tmp_path):
    make_archive(tmp_path, 5, seed=11)
    write_session(tmp_path, T0, [["i", "feel", "safer", "there", "with", "the", "zebra"], None,
                                 ["zebra", "crossing", "café", "zebra"]])
    return Archive(tmp_path)


def test_a_word_is_found_with_the_times_it_was_said(archive):
    hits = archive.search(["zebra"])
    assert [(h.session_id, h.answer) for h in hits] == [("2026-11-30_094438", 1), ("2026-11-30_094438", 3)]
    first, third = hits
    assert first.question == "How is your relationship with your therapist right now?"
    assert first.time_s == word_times(7)[6][0]
    assert third.matched == (("zebra", word_times(4)[0][0]), ("zebra", word_times(4)[3][0]))
    assert first.snippet == "with the [zebra]" or first.snippet.endswith("the [zebra]")


def test_all_words_must_match_and_prefixes_and_accents_work(archive):
    assert [(h.answer, h.time_s) for h in archive.search(["zebra", "crossing"])] == [(3, word_times(4)[0][0])]
    prefixed = archive.search(["SAF*"])
    assert prefixed == archive.search(["saf*"])
    assert ("2026-11-30_094438", 1, word_times(7)[2][0]) in [(h.session_id, h.answer, h.time_s) for h in prefixed]
    assert [h.answer for h in archive.search(["cafe"])] == [3]
    assert archive.search(["zebra", "nowhere"]) == []


@pytest.mark.parametrize("query", [['"'], ["*"], ["AND", "OR", "NOT"], ["zebra)"], ["(", "NEAR("], ["col:zebra"], ["-", "^"]])
def test_any_user_text_is_a_plain_search_never_a_syntax_error(archive, query):
    archive.search(query)


def test_fts_query_quotes_every_word():
    assert fts_query(['he said "hi"', "safe*", "!!"]) == '"he" "said" """hi""" "safe"*'


def test_word_times_match_every_hit_in_a_larger_archive(tmp_path):
    make_archive(tmp_path, 30, seed=5)
    archive = Archive(tmp_path)
    hits = archive.search(["grief"], limit=1000)
    expected = []
    for folder in sorted((tmp_path / "sessions").iterdir()):
        for answer in json.loads((folder / "session.json").read_text())["answers"]:
            times = [w["start"] for w in answer["words"] if w["word"] == "grief"]
            if times:
                expected.append((folder.name, answer["index"], times))
    assert sorted((h.session_id, h.answer, [t for _, t in h.matched]) for h in hits) == sorted(expected)
    assert len(expected) > 5


def test_index_follows_added_changed_and_removed_sessions(archive, tmp_path):
    assert archive.search(["walrus"]) == []
    folder = write_session(tmp_path, datetime(2027, 1, 1, tzinfo=timezone.utc), [["a", "walrus", "here"]])
    assert [h.time_s for h in archive.search(["walrus"])] == [word_times(3)[1][0]]
    doc = json.loads((folder / "session.json").read_text())
    doc["answers"][0]["words"][1]["word"] = "seal"
    (folder / "session.json").write_text(json.dumps(doc))
    assert archive.search(["walrus"]) == [] and len(archive.search(["seal"])) == 1
    shutil.rmtree(folder)
    assert archive.search(["seal"]) == []
    assert folder.name not in [s.id for s in archive.sessions()]


@pytest.mark.parametrize("breakage", ["deleted", "garbage", "scribbled", "other_schema"])
def test_a_missing_or_broken_index_is_rebuilt(archive, tmp_path, breakage):
    before = archive.search(["zebra"])
    index = tmp_path / "index.sqlite3"
    archive.index.conn.close()
    fresh = Archive(tmp_path)
    if breakage == "deleted":
        index.unlink()
    elif breakage == "garbage":
        index.write_bytes(b"this is not a database" * 500)
    elif breakage == "scribbled":
        data = bytearray(index.read_bytes())
        data[4096:] = b"\xff" * (len(data) - 4096)
        index.write_bytes(bytes(data))
    else:
        index.unlink()
        with sqlite3.connect(index) as conn:
            conn.execute("CREATE TABLE something_else(x)")
            conn.execute("PRAGMA user_version = 7")
    assert fresh.search(["zebra"]) == before
    assert index.stat().st_mode & 0o777 == 0o600
    assert len(fresh.sessions()) == 6


def test_reindex_by_hand_counts_what_it_indexed(archive):
    sessions, answers = archive.reindex()
    assert sessions == 6 and answers == sum(
        1 for s in archive.sessions() for a in archive.load(s.id).answers if a.words)


def test_delete_leaves_no_trace_in_the_index_file(archive, tmp_path):
    write_session(tmp_path, datetime(2027, 2, 2, tzinfo=timezone.utc), [["my", "secret", "quokkaword"]])
    assert len(archive.search(["quokkaword"])) == 1
    index = tmp_path / "index.sqlite3"
    assert b"quokkaword" in index.read_bytes()
    archive.delete("2027-02-02")
    assert archive.search(["quokkaword"]) == []
    rows = archive.index.conn.execute("SELECT count(*) FROM sessions WHERE id LIKE '2027-02-02%'").fetchone()[0]
    assert rows == 0
    archive.index.conn.close()
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and b"quokkaword" in p.read_bytes()]
    assert leftovers == []
