"""Full-text search over real session files: hits, word times, staleness, corruption and leaving nothing behind."""

import json
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from bench.archive_factory import QUESTIONS, make_archive, word_times, write_session
from device.notes.archive import Archive
from device.notes.search_index import fts_query

T0 = datetime(2026, 11, 30, 9, 44, 38, tzinfo=timezone.utc)


@pytest.fixture
def archive(tmp_path):
    make_archive(tmp_path, 5, seed=11)
    write_session(
        tmp_path,
        T0,
        [["i", "feel", "safer", "there", "with", "the", "zebra"], None, ["zebra", "crossing", "café", "zebra"]],
    )
    return Archive(tmp_path)


def test_a_word_is_found_with_the_times_it_was_said(archive):
    hits = archive.search(["zebra"])
    assert [(h.session_id, h.answer) for h in hits] == [("2026-11-30_094438", 1), ("2026-11-30_094438", 3)]
    first, third = hits
    assert first.question == "How is your relationship with your therapist right now?"
    assert first.time_s == word_times(7)[6][0]
    assert third.matched == (("zebra", word_times(4)[0][0]), ("zebra", word_times(4)[3][0]))
    assert first.snippet == "with the «zebra»" or first.snippet.endswith("the «zebra»")


def test_all_words_must_match_and_prefixes_and_accents_work(archive):
    assert [(h.answer, h.time_s) for h in archive.search(["zebra", "crossing"])] == [(3, word_times(4)[0][0])]
    prefixed = archive.search(["SAF*"])
    assert prefixed == archive.search(["saf*"])
    assert ("2026-11-30_094438", 1, word_times(7)[2][0]) in [(h.session_id, h.answer, h.time_s) for h in prefixed]
    assert [h.answer for h in archive.search(["cafe"])] == [3]
    assert archive.search(["zebra", "nowhere"]) == []


@pytest.mark.parametrize(
    "query", [['"'], ["*"], ["AND", "OR", "NOT"], ["zebra)"], ["(", "NEAR("], ["col:zebra"], ["-", "^"]]
)
def test_any_user_text_is_a_plain_search_never_a_syntax_error(archive, query):
    archive.search(query)


def test_fts_query_quotes_every_word_and_keeps_a_quoted_phrase_whole():
    assert fts_query(['he said "hi there"', "safe*", "!!"]) == '"he" "said" "hi there" "safe"*'
    assert fts_query(["“strange feels”", "ok"]) == fts_query(['"strange', 'feels"', "ok"]) == '"strange feels" "ok"'
    assert fts_query(["strange feels"]) == '"strange feels"'  # one argument with a space: quoted in the shell


@pytest.fixture
def strange(tmp_path):
    write_session(
        tmp_path,
        T0,
        [
            ["it", "feels", "strange", "to", "say"],
            ["strange", "feels", "good", "now"],
            ["[unk]", "strange", "[unk]", "and", "it", "feels", "right"],
        ],
    )
    return Archive(tmp_path)


@pytest.mark.parametrize("query", [['"strange feels"'], ["strange feels"], ['"strange', 'feels"'], ["“strange feels”"]])
def test_a_quoted_phrase_matches_those_words_in_that_order_only(strange, query):
    hits = strange.search(query)
    assert [(h.answer, [w for w, _ in h.matched]) for h in hits] == [(2, ["strange", "feels"])]
    assert hits[0].time_s == word_times(4)[0][0]
    assert sorted(h.answer for h in strange.search(["strange", "feels"])) == [1, 2, 3]  # words alone: any order
    assert [h.answer for h in strange.search(['"feels strange"'])] == [1]
    assert [h.answer for h in strange.search(['"strange fee"*'])] == [2]


def test_a_hit_is_marked_so_it_cannot_be_taken_for_a_vosk_token(strange):
    hit = next(h for h in strange.search(["strange"]) if h.answer == 3)
    assert hit.snippet == "[unk] «strange» [unk] and it feels right"


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
        1 for s in archive.sessions() for a in archive.load(s.id).answers if a.words
    )


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


def test_forget_takes_one_sessions_words_out_of_the_index_file_until_the_next_sync(archive, tmp_path):
    """What sealing does just before a session's record says sealed (issue 19)."""
    folder = write_session(tmp_path, datetime(2027, 2, 2, tzinfo=timezone.utc), [["my", "secret", "quokkaword"]])
    assert len(archive.search(["quokkaword"])) == 1
    worded = set(archive.index.worded())
    assert folder.name in worded and len(worded) == 7  # every session of the archive says something
    archive.forget(folder.name)
    assert set(archive.index.worded()) == worded - {folder.name}
    assert b"quokkaword" not in (tmp_path / "index.sqlite3").read_bytes()
    assert not (tmp_path / "index.sqlite3-journal").exists()
    assert archive.index.conn.execute("SELECT count(*) FROM sessions WHERE id = ?", (folder.name,)).fetchone()[0] == 0
    archive.forget("no-such-session")  # nothing to forget is no error
    assert len(archive.search(["quokkaword"])) == 1  # files are the truth: the next sync adds it back


def test_only_sessions_whose_words_the_index_holds_are_forgotten_as_sealed_up_to_answer_999(tmp_path):
    first = write_session(tmp_path, T0, [["first"]])
    quiet = write_session(tmp_path, T0 + timedelta(days=1), [None, None])  # nothing said: no words indexed
    third = write_session(tmp_path, T0 + timedelta(days=2), [["third"]])
    last = write_session(tmp_path, T0 + timedelta(days=3), [*[None] * 998, ["lastword"]])  # words only at answer 999
    archive = Archive(tmp_path)
    assert [h.answer for h in archive.search(["lastword"])] == [999]
    assert sorted(archive.index.worded()) == [first.name, third.name, last.name]
    assert archive.forget_sealed({quiet.name, last.name}) == [last.name]
    assert sorted(archive.index.worded()) == [first.name, third.name]


def test_forgetting_in_an_index_corrupted_while_open_throws_the_index_away(archive, tmp_path, caplog):
    archive.search(["zebra"])
    index = tmp_path / "index.sqlite3"
    data = bytearray(index.read_bytes())
    data[0:100] = b"\xff" * 100
    index.write_bytes(bytes(data))
    with caplog.at_level("WARNING"):
        archive.forget("2026-11-30_094438")
    assert "search index is corrupt (file is not a database); starting a new one" in [
        r.getMessage() for r in caplog.records
    ]
    assert archive.index.counts() == (0, 0) and b"zebra" not in index.read_bytes()
    index.write_bytes(bytes(data))
    assert archive.forget_sealed({"2026-11-30_094438"}) == [] and archive.index.counts() == (0, 0)


# --- the invariants of issue #15: every matched word's time, snippets, counts, rebuilds, following the files ---------


def _words(n, **at):
    """n filler words w0..w{n-1}, with some positions replaced: _words(20, **{"10": "target"})."""
    words = [f"w{i}" for i in range(n)]
    for position, word in at.items():
        words[int(position)] = word
    return words


def test_every_matched_word_comes_with_the_time_it_was_said(tmp_path):
    write_session(tmp_path, T0, [_words(8, **{"1": "zebra", "4": "crossing", "6": "zebra"})], rate=8000)
    [hit] = Archive(tmp_path).search(["crossing", "zebra"])
    times = word_times(8)
    assert hit.matched == (("zebra", times[1][0]), ("crossing", times[4][0]), ("zebra", times[6][0]))
    assert hit.time_s == times[1][0], "replay starts at the first matched word, whatever the query's order"


def test_snippets_show_six_words_around_the_first_match_and_mark_every_match(tmp_path):
    write_session(
        tmp_path,
        T0,
        [
            _words(20, **{"10": "target", "12": "target"}),
            _words(5, **{"2": "target"}),
            _words(8, **{"6": "target"}),
            _words(14, **{"0": "target"}),
        ],
        rate=8000,
    )
    hits = Archive(tmp_path).search(["target"])
    assert [h.snippet for h in hits] == [
        "… w4 w5 w6 w7 w8 w9 «target» w11 «target» w13 w14 w15 w16 …",
        "w0 w1 «target» w3 w4",
        "w0 w1 w2 w3 w4 w5 «target» w7",
        "«target» w1 w2 w3 w4 w5 w6 …",
    ]
    [(answer, time_s)] = [(h.answer, h.time_s) for h in hits if h.answer == 3]
    assert time_s == word_times(8)[6][0]


def test_an_ellipsis_marks_exactly_where_words_were_left_out(tmp_path):
    write_session(
        tmp_path,
        T0,
        [_words(13, **{"6": "target"}), _words(14, **{"7": "target"}), _words(14, **{"6": "target"})],
        rate=8000,
    )
    first, second, third = Archive(tmp_path).search(["target"])
    assert first.snippet == "w0 w1 w2 w3 w4 w5 «target» w7 w8 w9 w10 w11 w12"
    assert second.snippet == "… w1 w2 w3 w4 w5 w6 «target» w8 w9 w10 w11 w12 w13"
    assert third.snippet == "w0 w1 w2 w3 w4 w5 «target» w7 w8 w9 w10 w11 w12 …"


def test_words_the_recognizer_gave_as_phrases_or_blanks_keep_the_times_aligned(tmp_path):
    write_session(tmp_path, T0, [["ice cream", "", "  ", "later", "gelato"]], rate=8000)
    archive = Archive(tmp_path)
    times = word_times(5)
    [later] = archive.search(["later"])
    assert later.matched == (("later", times[3][0]),)
    assert later.snippet == "ice\u00a0cream _ _ «later» gelato"
    [cream] = archive.search(["cream"])
    assert cream.matched == (("ice\u00a0cream", times[0][0]),)
    assert [h.matched for h in archive.search(["gelato"])] == [(("gelato", times[4][0]),)]


def test_hits_come_newest_session_first_then_by_answer_and_stop_at_the_limit(tmp_path):
    older = write_session(tmp_path, T0, [["kiwi"], ["kiwi", "too"]], rate=8000)
    newer = write_session(tmp_path, T0 + timedelta(days=1), [["no"], ["kiwi"]], rate=8000)
    archive = Archive(tmp_path)
    assert [(h.session_id, h.answer) for h in archive.search(["kiwi"])] == [
        (newer.name, 2),
        (older.name, 1),
        (older.name, 2),
    ]
    assert [(h.session_id, h.answer) for h in archive.search(["kiwi"], limit=2)] == [(newer.name, 2), (older.name, 1)]
    hit = archive.search(["too"])[0]
    assert (hit.started_at, hit.pack_title, hit.question) == (T0, "Why the therapy relationship matters", QUESTIONS[1])


def test_a_query_of_only_punctuation_finds_nothing(archive):
    assert archive.search(["*", "!!", '"']) == [] and archive.search([]) == []


def test_counts_are_sessions_and_answers_with_words(tmp_path):
    write_session(tmp_path, T0, [["a"], None, ["b", "c"]], rate=8000)
    write_session(tmp_path, T0 + timedelta(days=1), [None], rate=8000)
    archive = Archive(tmp_path)
    assert archive.reindex() == (2, 2)
    assert archive.index.counts() == (2, 2)


def test_answers_numbered_outside_the_index_range_are_listed_but_not_searched(tmp_path):
    """Answer rows are numbered session*1000+answer; a hand-edited number out of range must not collide."""
    folder = write_session(tmp_path, T0, [["one"], ["two"]], rate=8000)
    doc = json.loads((folder / "session.json").read_text())
    doc["answers"][0]["index"], doc["answers"][1]["index"] = 1000, -1
    (folder / "session.json").write_text(json.dumps(doc))
    write_session(tmp_path, T0 + timedelta(days=1), [["three"]], rate=8000)
    archive = Archive(tmp_path)
    assert len(archive.sessions()) == 2
    assert archive.search(["one"]) == [] and archive.search(["two"]) == []
    assert len(archive.search(["three"])) == 1


def test_an_answer_numbered_zero_is_searchable(tmp_path):
    folder = write_session(tmp_path, T0, [["nought"]], rate=8000)
    doc = json.loads((folder / "session.json").read_text())
    doc["answers"][0]["index"] = 0
    (folder / "session.json").write_text(json.dumps(doc))
    assert [h.answer for h in Archive(tmp_path).search(["nought"])] == [0]


def test_an_index_corrupted_while_open_is_rebuilt_and_the_search_still_answers(archive, tmp_path, caplog):
    before = archive.search(["zebra"])
    index = tmp_path / "index.sqlite3"
    data = bytearray(index.read_bytes())
    data[0:100] = b"\xff" * 100
    index.write_bytes(bytes(data))
    with caplog.at_level("WARNING"):
        assert archive.search(["zebra"]) == before
    assert "search index is corrupt (file is not a database); rebuilding it from the session files" in [
        r.getMessage() for r in caplog.records
    ]
    assert archive.index.counts()[0] == 6


def test_a_busy_index_is_an_error_not_a_rebuild(archive, tmp_path, monkeypatch):
    """Only a broken file is thrown away; any other database error reaches the caller and the cache is kept."""
    archive.sessions()
    calls = []

    def busy(stamps, load):
        calls.append(1)
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(archive.index, "sync", busy)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        archive.search(["zebra"])
    assert calls == [1]
    monkeypatch.undo()
    assert archive.index.counts()[0] == 6


def test_an_index_that_stays_corrupt_is_reported_after_one_rebuild(archive, monkeypatch):
    calls = []

    def corrupt(stamps, load):
        calls.append(1)
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(type(archive.index), "sync", lambda self, stamps, load: corrupt(stamps, load))
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        archive.search(["zebra"])
    assert calls == [1, 1]


def test_a_failed_sync_leaves_the_cache_as_it_was(tmp_path):
    """A loader failing half way through (an unreadable file) rolls the whole update back."""
    write_session(tmp_path, T0, [["first"]], rate=8000)
    archive = Archive(tmp_path)
    assert archive.index.counts() == (0, 0)
    archive.sessions()
    write_session(tmp_path, T0 + timedelta(days=1), [["second"]], rate=8000)
    write_session(tmp_path, T0 + timedelta(days=2), [["third"]], rate=8000)
    stamps = archive._stamps([])
    loaded = []

    def load_then_fail(session_id):
        if loaded:
            raise OSError("read error")
        loaded.append(session_id)
        return archive._load_for_index(session_id, [])

    with pytest.raises(OSError):
        archive.index.sync(stamps, load_then_fail)
    assert not archive.index.conn.in_transaction
    assert archive.index.counts() == (1, 1)
    assert len(archive.search(["third"])) == 1 and archive.index.counts() == (3, 3)


def test_nothing_changed_means_nothing_written(archive, tmp_path):
    archive.sessions()
    index = tmp_path / "index.sqlite3"
    before = (index.stat().st_mtime_ns, index.read_bytes())
    archive.sessions()
    archive.search(["zebra"])
    assert (index.stat().st_mtime_ns, index.read_bytes()) == before


def test_a_session_that_changes_is_reindexed_with_its_new_summary(archive, tmp_path):
    folder = tmp_path / "sessions" / "2026-11-30_094438"
    doc = json.loads((folder / "session.json").read_text())
    doc["status"], doc["pack"]["title"] = "ended_early", "Another pack"
    doc["answers"][2]["words"][0]["word"] = "horse"
    (folder / "session.json").write_text(json.dumps(doc))
    summary = next(s for s in archive.sessions() if s.id == folder.name)
    assert (summary.status, summary.pack_title) == ("ended_early", "Another pack")
    assert [h.matched for h in archive.search(["horse"])] == [(("horse", word_times(4)[0][0]),)]
    assert [h.answer for h in archive.search(["crossing"])] == [3]
    assert archive.index.counts() == (6, archive.index.counts()[1])


def test_problems_found_while_indexing_are_kept_with_the_summary(tmp_path):
    folder = write_session(tmp_path, T0, [["a"], ["b"]], rate=8000)
    (folder / "02.wav").unlink()
    archive = Archive(tmp_path)
    assert archive.sessions()[0].problems == ("answer 2: audio file 02.wav is missing",)
    assert Archive(tmp_path).sessions()[0].problems == ("answer 2: audio file 02.wav is missing",)


def test_a_reset_index_removes_its_journal_too(archive, tmp_path):
    archive.sessions()
    journal = tmp_path / "index.sqlite3-journal"
    journal.write_bytes(b"stale")
    archive.index.reset()
    assert not journal.exists()
    assert archive.index.counts() == (0, 0)
    assert (tmp_path / "index.sqlite3").stat().st_mode & 0o777 == 0o600


def test_an_existing_index_file_is_made_private(tmp_path):
    write_session(tmp_path, T0, [["a"]], rate=8000)
    index = tmp_path / "index.sqlite3"
    index.touch(mode=0o644)
    index.chmod(0o644)
    assert len(Archive(tmp_path).sessions()) == 1
    assert index.stat().st_mode & 0o777 == 0o600


def test_changing_an_older_session_keeps_the_newer_ones_searchable(tmp_path):
    """Each session's answer rows are a range of their own: replacing one range leaves its neighbours alone."""
    older = write_session(tmp_path, T0, [["apple"], ["banana"]], rate=8000)
    write_session(tmp_path, T0 + timedelta(days=1), [["cherry"], ["damson"]], rate=8000)
    archive = Archive(tmp_path)
    assert archive.index.counts() == (0, 0) and archive.reindex() == (2, 4)
    doc = json.loads((older / "session.json").read_text())
    doc["answers"][0]["words"][0]["word"] = "apricot"
    (older / "session.json").write_text(json.dumps(doc, indent=1))
    assert [h.answer for h in archive.search(["apricot"])] == [1]
    assert [h.answer for h in archive.search(["cherry"])] == [1] and [h.answer for h in archive.search(["damson"])] == [
        2
    ]
    assert archive.search(["apple"]) == [] and archive.index.counts() == (2, 4)


def test_a_capitalised_word_ending_in_x_is_searched_whole(tmp_path):
    assert fts_query(["BOX", "FAX*"]) == '"BOX" "FAX"*'
    write_session(tmp_path, T0, [["a", "box", "of", "letters"], ["bold"]], rate=8000)
    assert [h.answer for h in Archive(tmp_path).search(["BOX"])] == [1]


def test_search_works_while_a_session_is_being_started(archive, tmp_path):
    """A session folder without its session.json yet does not stop a search."""
    (tmp_path / "sessions" / "2027-01-01_000000").mkdir()
    assert [h.answer for h in archive.search(["crossing"])] == [3]


def test_an_unusable_index_file_is_replaced_and_says_so_once(tmp_path, caplog):
    write_session(tmp_path, T0, [["a"]], rate=8000)
    (tmp_path / "index.sqlite3").write_bytes(b"this is not a database" * 500)
    with caplog.at_level("WARNING", logger="device.notes.search_index"):
        assert len(Archive(tmp_path).sessions()) == 1
    [message] = [r.getMessage() for r in caplog.records]
    assert message == "search index index.sqlite3 is unusable (file is not a database); starting a new one"


def test_an_index_of_another_version_is_replaced(tmp_path, caplog):
    write_session(tmp_path, T0, [["walrus"]], rate=8000)
    with sqlite3.connect(tmp_path / "index.sqlite3") as conn:
        conn.execute("CREATE TABLE sessions(id)")
        conn.execute("PRAGMA user_version = 1")
    with caplog.at_level("WARNING", logger="device.notes.search_index"):
        assert len(Archive(tmp_path).search(["walrus"])) == 1
    assert [r.getMessage() for r in caplog.records] == [
        "search index index.sqlite3 is unusable (the index was made by another version); starting a new one"
    ]
