"""Sessions are numbered by the device and ordered by that number, never by a clock that may have gone back;
dates from a clock that was not set show as "about"; version 1 records still read, below the numbered ones."""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from audio.recognizer import Transcript, Word
from common.errors import SessionDamaged
from device.clock import ClockStatus
from device.notes import record, review_commands
from device.notes.archive import Archive
from device.notes.export import export
from device.notes.session_notes import SessionNotes
from tests.device.notes.test_session_notes import PACK
from tests.rig import ROOT

SYNCED = ClockStatus(True, "synchronised")
UNSET = ClockStatus(False, "not synchronised: restored from the last saved time")
FRIDAY = datetime(2026, 12, 4, 19, 30, tzinfo=timezone.utc)
"""The last saved time: every session after the power-off starts from here."""


def session(data, when, clock=UNSET, word=None) -> SessionNotes:
    notes = SessionNotes.begin(data, PACK, 16000, now=when, clock=clock)
    notes.add_answer(
        1,
        None if word is None else "01.wav",
        0.0 if word is None else 1.0,
        "skipped" if word is None else "answered",
        "no_speech" if word is None else "press",
    )
    if word:
        (notes.folder / "01.wav").write_bytes(b"")  # the index never opens it
        notes.set_transcript(1, Transcript(word, (Word(word, 0.2, 0.6, 1.0),)))
    notes.finish("complete")
    return notes


def test_a_clock_that_went_back_still_numbers_and_orders_sessions_newest_first(tmp_path):
    first = session(tmp_path, FRIDAY + timedelta(days=2), SYNCED, "alpha")  # Sunday, clock right
    second = session(tmp_path, FRIDAY, UNSET, "alpha")  # Monday after a power-off: restored to Friday
    third = session(tmp_path, FRIDAY, UNSET, "alpha")  # the same second again: a folder of its own
    assert [n.record["seq"] for n in (first, second, third)] == [1, 2, 3]
    assert third.folder != second.folder and second.folder.name < first.folder.name  # the names sort wrongly...
    archive = Archive(tmp_path)
    assert [s.id for s in archive.sessions()] == [third.id, second.id, first.id]  # ...the order does not
    assert [s.seq for s in archive.sessions()] == [3, 2, 1]
    assert archive.resolve("latest") == third.id and archive.load("latest").seq == 3
    assert [h.session_id for h in archive.search(["alpha"])] == [third.id, second.id, first.id]
    assert (tmp_path / "sequence").read_text() == "3\n"


def test_the_number_is_never_given_twice_whatever_a_crash_left(tmp_path):
    session(tmp_path, FRIDAY)
    (tmp_path / "sequence").write_text("1\n")
    (tmp_path / "sequence").unlink()  # lost: the records still hold 1
    assert session(tmp_path, FRIDAY).record["seq"] == 2
    (tmp_path / "sequence").write_text("7\n")  # written, then a crash before the session's record was
    assert session(tmp_path, FRIDAY).record["seq"] == 8
    (tmp_path / "sequence").write_text("garbage")
    assert session(tmp_path, FRIDAY).record["seq"] == 9


def _as_version_1(notes: SessionNotes, started: datetime) -> None:
    raw = record.read(notes.folder)
    for key in ("seq", "clock"):
        raw.pop(key)
    record.write(notes.folder, {**raw, "version": 1, "started_at": started.isoformat()})


def test_version_1_records_still_read_below_the_numbered_ones_by_start_time(tmp_path):
    old_late, old_early = session(tmp_path, FRIDAY - timedelta(days=1)), session(tmp_path, FRIDAY - timedelta(days=2))
    _as_version_1(old_late, FRIDAY - timedelta(days=1))
    _as_version_1(old_early, FRIDAY - timedelta(days=2))
    (tmp_path / "sequence").unlink()  # as on a device updated from version 1: there was no counter
    new = session(tmp_path, FRIDAY - timedelta(days=5))  # earlier clock than both old ones
    assert new.record["seq"] == 3  # above the two old ones, counted as 1 and 2
    old = record.parse(old_late.folder)
    assert (old.seq, old.clock_trusted) == (0, True)
    assert [s.id for s in Archive(tmp_path).sessions()] == [new.id, old_late.id, old_early.id]


@pytest.mark.parametrize("seq", [None, 0, "3", True, 1.5])
def test_a_version_2_record_without_a_good_number_is_damaged(tmp_path, seq):
    notes = session(tmp_path, FRIDAY)
    raw = record.read(notes.folder)
    record.write(notes.folder, {**raw, "seq": seq})
    with pytest.raises(SessionDamaged, match="^session: 'seq' is missing or has the wrong type$"):
        record.parse(notes.folder)


def test_dates_from_an_unset_clock_show_as_about_in_notes_show_transcript_and_export(tmp_path):
    data = tmp_path / "data"
    right = session(data, FRIDAY + timedelta(days=2), SYNCED, "alpha")
    guessed = session(data, FRIDAY, UNSET, "beta")
    local = FRIDAY.astimezone()
    about = f"about {local:%a} {local.day} {local:%b %Y, %H:%M} (clock not set)"
    exact = f"{(FRIDAY + timedelta(days=2)).astimezone():%Y-%m-%d %H:%M}"
    archive = Archive(data)
    listed = review_commands.notes(archive, as_json=False).splitlines()
    assert about in listed[1] and guessed.id in listed[1] and exact in listed[2] and "about" not in listed[2]
    rows = json.loads(review_commands.notes(archive, as_json=True))["sessions"]
    assert [(r["seq"], r["clock_trusted"]) for r in rows] == [(2, False), (1, True)]
    assert about in review_commands.show(archive, guessed.id).splitlines()[0]
    assert "about" not in review_commands.show(archive, right.id)
    in_words = f"about {FRIDAY:%A %d %B %Y, %H:%M} (clock not set)"
    assert (guessed.folder / "transcript.md").read_text().splitlines()[2] == in_words
    pages = export([archive.load(s.id) for s in archive.sessions()], tmp_path / "out", "html")
    assert [p.parent.name for p in pages] == [guessed.id, right.id]
    assert in_words in pages[0].read_text() and "about" not in pages[1].read_text()  # as transcript.md says it
    contents = (tmp_path / "out" / "index.html").read_text()
    assert contents.index(guessed.id) < contents.index(right.id)  # newest by number first, not by date


BEGIN_AND_FINISH = """
import sys
from pathlib import Path
from device.clock import ClockStatus
from device.notes.session_notes import SessionNotes
from tests.device.notes.test_session_notes import PACK
notes = SessionNotes.begin(Path(sys.argv[1]), PACK, 16000, clock=ClockStatus(False, "restored"))
notes.add_answer(1, None, 0.0, "skipped", "no_speech")
notes.finish("complete")
print(notes.id)
"""


def test_a_session_started_by_a_process_whose_wall_clock_went_back_three_days_is_the_latest(tmp_path):
    """The real wall clock moved back with libfaketime (the boot clock left alone), as after a power-off."""

    def begin(*faketime: str) -> str:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
        done = subprocess.run(
            [*faketime, sys.executable, "-c", BEGIN_AND_FINISH, str(tmp_path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout.strip()

    before = begin()
    after = begin("faketime", "-f", "-3d")
    assert after < before  # named by a start time three days earlier...
    archive = Archive(tmp_path)
    assert archive.resolve("latest") == after and [s.seq for s in archive.sessions()] == [2, 1]  # ...yet the latest
    assert archive.load(after).started_at < archive.load(before).started_at
