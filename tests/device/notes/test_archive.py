"""The archive on real generated session folders: listing, resolving, loading, replay, damage and deletion."""

import json
import logging
from datetime import datetime, timezone

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from audio.compress import compress_answer
from bench.archive_factory import damage, make_archive, tone_samples, write_session
from common.errors import AudioCorrupt, SessionAmbiguous, SessionDamaged, SessionNotFound
from device.notes import record
from device.notes.archive import Archive
from device.notes.session_notes import SessionNotes


@pytest.fixture
def folders(tmp_path):
    return make_archive(tmp_path, 6, seed=3)


def _doc(folder):
    return json.loads((folder / "session.json").read_text())


def test_listing_is_newest_first_with_counts_from_the_files(tmp_path, folders):
    listing = Archive(tmp_path).listing()
    assert listing.notices == []
    docs = sorted((_doc(f) for f in folders), key=lambda d: d["started_at"], reverse=True)
    assert [s.id for s in listing.sessions] == [d["id"] for d in docs]
    for summary, doc in zip(listing.sessions, docs):
        answered = [a for a in doc["answers"] if a["status"] != "skipped"]
        assert summary.answers == len(answered)
        assert summary.spoken_s == pytest.approx(sum(a["duration_s"] for a in answered))
        assert summary.pack_title == doc["pack"]["title"] and summary.status == "complete"
        assert summary.path == tmp_path / "sessions" / doc["id"]


def test_empty_and_missing_archives_list_nothing(tmp_path):
    for archive in (Archive(tmp_path / "never-created"), Archive(tmp_path)):
        assert archive.listing().sessions == [] and archive.listing().notices == []
        with pytest.raises(SessionNotFound, match="no saved sessions"):
            archive.resolve("latest")


def test_resolve_latest_exact_and_prefixes(tmp_path):
    first = datetime(2026, 11, 30, 9, 44, 38, tzinfo=timezone.utc)
    a = write_session(tmp_path, first, [["hello"]])
    b = write_session(tmp_path, first, [["again"]])
    c = write_session(tmp_path, datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc), [["later"]])
    archive = Archive(tmp_path)
    assert (a.name, b.name) == ("2026-11-30_094438", "2026-11-30_094438-2")
    assert archive.resolve("latest") == c.name
    assert archive.resolve(a.name) == a.name
    assert archive.resolve("2026-12") == c.name
    with pytest.raises(SessionAmbiguous, match=r"matches 2 sessions: 2026-11-30_094438, 2026-11-30_094438-2$"):
        archive.resolve("2026-11")
    for bad in ("2025", "../sessions", "", "latest-ish"):
        with pytest.raises(SessionNotFound):
            archive.resolve(bad)


@pytest.mark.parametrize("kind", ["bad_json", "unknown_version"])
def test_unreadable_sessions_are_moved_aside_whole_and_reported(tmp_path, folders, kind, caplog):
    victim = folders[2]
    damage(victim, kind)
    before = {p.name: p.read_bytes() for p in victim.iterdir()}
    archive = Archive(tmp_path)
    with caplog.at_level(logging.WARNING):
        listing = archive.listing()
    assert victim.name not in [s.id for s in listing.sessions] and len(listing.sessions) == 5
    moved = tmp_path / "damaged" / victim.name
    assert {p.name: p.read_bytes() for p in moved.iterdir()} == before
    assert (tmp_path / "damaged").stat().st_mode & 0o777 == 0o700
    assert any(victim.name in n and "moved to" in n for n in listing.notices)
    assert any(victim.name in r.getMessage() for r in caplog.records)
    assert all("feel" not in r.getMessage() for r in caplog.records)
    assert Archive(tmp_path).listing().notices == [
        f"1 damaged session folder(s) are kept aside in {tmp_path / 'damaged'}."
    ]


@pytest.mark.parametrize(
    "kind,words", [("missing_audio", "is missing"), ("truncated_wav", "is truncated"), ("garbage_wav", "is unreadable")]
)
def test_bad_audio_keeps_the_session_and_replays_the_rest(tmp_path, folders, kind, words):
    victim = next(f for f in folders if len(list(f.glob("*.wav"))) >= 2)
    damage(victim, kind)
    archive = Archive(tmp_path)
    listing = archive.listing()
    assert victim.name in [s.id for s in listing.sessions]
    assert any(n.startswith(f"Session {victim.name}: answer") and words in n for n in listing.notices)
    session = archive.load(victim.name)
    broken = next(
        a
        for a in session.answers
        if a.audio == sorted(p.name for p in victim.glob("*.wav*"))[0] or a.audio and not (victim / a.audio).exists()
    )
    with pytest.raises(AudioCorrupt):
        archive.read_answer_audio(session, broken.index)
    plays = list(archive.replay(session))
    assert [p.index for p in plays] == [a.index for a in session.answers]
    bad = next(p for p in plays if p.index == broken.index)
    assert bad.samples is None and bad.problem
    assert any(p.samples is not None and p.problem is None for p in plays)


def test_folder_without_session_json_is_left_in_place(tmp_path, folders):
    fresh = tmp_path / "sessions" / "2027-01-01_000000"
    fresh.mkdir()
    (fresh / "01.wav.part").write_bytes(b"RIFF")
    listing = Archive(tmp_path).listing()
    assert fresh.exists() and not (tmp_path / "damaged").exists()
    assert listing.notices == ["Session folder 2027-01-01_000000 has no session.json yet; left in place."]


def test_load_and_replay_give_back_what_was_written(tmp_path, folders):
    archive = Archive(tmp_path)
    session = archive.load("latest")
    doc = _doc(session.path)
    assert [a.transcript for a in session.answers] == [a["transcript"] for a in doc["answers"]]
    assert [[w.start for w in a.words] for a in session.answers] == [
        [w["start"] for w in a["words"]] for a in doc["answers"]
    ]
    for play in archive.replay(session):
        answer = session.answer(play.index)
        assert play.question == answer.question
        if answer.audio is None:
            assert play.samples is None and play.problem is None and play.status == "skipped"
        else:
            expected, rate = sf.read(str(session.path / answer.audio), dtype="int16")
            assert play.rate == rate and np.array_equal(play.samples, expected)
    one = list(archive.replay(session, only=session.answers[-1].index))
    assert len(one) == 1
    with pytest.raises(SessionNotFound, match="has no answer 9"):
        list(archive.replay(session, only=9))


def test_damaged_session_found_by_load_is_moved_and_reported(tmp_path, folders):
    archive = Archive(tmp_path)
    latest = archive.resolve("latest")
    damage(tmp_path / "sessions" / latest, "bad_json")
    with pytest.raises(SessionDamaged, match=f"session {latest} is damaged; it was set aside in"):
        archive.load(latest)
    assert (tmp_path / "damaged" / latest / "session.json").exists()


def test_damaged_session_found_by_a_review_is_left_in_place_for_reflect_recover(tmp_path, folders):
    archive = Archive(tmp_path, sets_aside=False)
    latest = archive.resolve("latest")
    damage(tmp_path / "sessions" / latest, "bad_json")
    with pytest.raises(SessionDamaged, match=rf"^session {latest} is damaged \(.+\); `reflect recover` sets it aside$"):
        archive.load(latest)
    assert (tmp_path / "sessions" / latest / "session.json").exists() and not (tmp_path / "damaged").exists()


def test_compressed_answers_replay_before_and_after_session_json_says_so(tmp_path):
    folder = write_session(
        tmp_path, datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc), [["one", "two", "three"], ["four"]]
    )
    archive = Archive(tmp_path)
    assert archive.sessions()[0].problems == ()
    new = compress_answer(folder / "01.wav")
    session = archive.load("latest")
    samples, rate = archive.read_answer_audio(session, 1)
    assert rate == 48000 and len(samples) / rate == pytest.approx(session.answers[0].duration_s, abs=0.02)
    SessionNotes(folder, record.read(folder)).set_audio(1, new.name)  # as the session does once it is compressed
    assert _doc(folder)["answers"][0]["audio"] == "01.opus"
    assert (folder / "session.json").stat().st_mode & 0o777 == 0o600
    assert archive.sessions()[0].problems == ()
    assert archive.load("latest").answers[0].audio == "01.opus"


def test_delete_removes_the_folder_and_nothing_else(tmp_path, folders):
    archive = Archive(tmp_path)
    victim = archive.resolve("latest")
    assert archive.delete(victim) == victim
    assert not (tmp_path / "sessions" / victim).exists()
    assert not [p for p in tmp_path.rglob("*") if victim in p.name]
    assert victim not in [s.id for s in archive.sessions()] and len(archive.sessions()) == 5


def test_index_file_is_private(tmp_path, folders):
    Archive(tmp_path).sessions()
    assert (tmp_path / "index.sqlite3").stat().st_mode & 0o777 == 0o600


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(
        [
            "version",
            "pack",
            "started_at",
            "status",
            "sample_rate",
            "questions",
            "answers",
            "answers.0",
            "answers.0.words",
            "answers.0.words.0",
            "answers.0.audio",
            "answers.0.index",
            "answers.0.status",
        ]
    ),
    value=json_values,
)
def test_any_malformed_field_is_damage_never_a_crash(tmp_path_factory, field, value):
    folder = write_session(tmp_path_factory.mktemp("s"), datetime(2026, 5, 5, tzinfo=timezone.utc), [["x", "y"]])
    doc = _doc(folder)
    *path, last = field.split(".")
    target = doc
    for key in path:
        target = target[int(key)] if key.isdigit() else target[key]
    target[int(last) if last.isdigit() else last] = value
    (folder / "session.json").write_text(json.dumps(doc))
    try:
        record.parse(folder)
    except SessionDamaged as exc:
        assert "\n" not in str(exc)


def test_a_real_silence_answer_has_no_problems(tmp_path):
    folder = write_session(tmp_path, datetime(2026, 6, 1, tzinfo=timezone.utc), [["a"]], rate=48000)
    samples, rate = sf.read(str(folder / "01.wav"), dtype="int16")
    assert rate == 48000 and np.array_equal(samples, tone_samples(1, 48000))
    assert Archive(tmp_path).listing().notices == []
