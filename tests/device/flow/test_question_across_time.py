"""One question across time: the answers found, oldest first with their dates in words; the replay the ready
state's double press starts (a gesture at every point of it: test_gestures_everywhere); `reflect play --question`."""

import subprocess
import sys
from datetime import date, datetime, timezone

import numpy as np
import pytest

from audio.clips import Clip
from common.errors import DateInvalid, SessionNotFound
from content.phrases import PHRASES
from device.clock import ClockStatus
from device.flow.player import Player
from device.flow.replay import ANSWER_INTRO, QUESTION_INTRO, Replay
from device.notes.across_time import across_time, parse_date
from device.notes.archive import Archive
from device.notes.opening import identities, new_identity
from device.notes.sealing import seal_due
from tests.device.flow.scripted_speaker import ClockedInbox, NamedPrompts, ScriptedSpeaker
from tests.device.notes.dated_sessions import PACK, RATE, dated_session

TODAY = date(2026, 12, 6)
Q2 = PACK.questions[1]


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 19, 30, tzinfo=timezone.utc)


def three_months(data, before_may=lambda: None):
    """Written out of date order (March, January, then May), so the order found must come from the dates."""
    dated_session(data, at(3, 4), {2: "march two"}, tag=1000)
    dated_session(data, at(1, 15), {1: "january one", 2: "january two"}, tag=2000)
    before_may()
    dated_session(data, at(5, 20), {1: "may one", 2: "may two"}, tag=3000)


def test_the_answers_to_one_question_come_oldest_first(tmp_path):
    three_months(tmp_path)
    found = across_time(Archive(tmp_path), 2)
    assert found.question == Q2 and found.sealed == 0
    assert [(h.session.started_at.month, h.answer.transcript) for h in found.answers] == [
        (1, "january two"),
        (3, "march two"),
        (5, "may two"),
    ]


def test_since_leaves_out_older_answers_and_the_default_is_the_latest_sessions_last_answer(tmp_path):
    three_months(tmp_path)
    dated_session(tmp_path, at(6, 1), {1: "june one"}, tag=4000)
    found = across_time(Archive(tmp_path), None, since=date(2026, 3, 1))
    assert found.question == PACK.questions[0]
    assert [h.answer.transcript for h in found.answers] == ["may one", "june one"]


def test_a_question_the_latest_session_does_not_have_is_refused(tmp_path):
    three_months(tmp_path)
    with pytest.raises(SessionNotFound, match="no question 99"):
        across_time(Archive(tmp_path), 99)
    with pytest.raises(DateInvalid, match="not a date"):
        parse_date("March 4")


def named(clip: Clip) -> str | None:
    """A recording by its tag (see dated_sessions.samples_for)."""
    value = int(round(float(clip.samples[0]) * 32768))
    return f"recording {value}" if len(clip.samples) == RATE // 10 and np.all(clip.samples == clip.samples[0]) else None


def replay_question(data, number=2):
    inbox = ClockedInbox()
    names = {
        QUESTION_INTRO.format(question=Q2): "intro",
        PHRASES.across_time_end: "end",
        PHRASES.sealed_left_out: "sealed",
        PHRASES.no_notes: "no notes",
    }
    prompts = NamedPrompts(names, RATE)
    speaker = ScriptedSpeaker(inbox, lambda clip: prompts.named.get(clip) or named(clip), RATE)
    events = []
    stopped = Replay(
        Archive(data), Player(speaker, prompts, inbox, hears_long_hold=True), events.append, today=lambda: TODAY
    ).question(number)
    return speaker.heard, stopped, events


def dates(*words):
    return [ANSWER_INTRO.format(date=w) for w in words]


SCRIPT = [
    "intro",
    dates("The fifteenth of January")[0],
    "recording 2002",
    dates("The fourth of March")[0],
    "recording 1002",
    dates("The twentieth of May")[0],
    "recording 3002",
    "end",
]


def test_each_answer_is_introduced_by_its_date_in_words(tmp_path):
    three_months(tmp_path)
    heard, stopped, events = replay_question(tmp_path)
    assert heard == [(name, "played") for name in SCRIPT]
    assert stopped is None
    assert {e.phase.value for e in events} == {"replaying"}  # the LED shows the replaying pattern throughout


def test_sealed_answers_are_left_out_with_one_sentence(tmp_path):
    new_identity(tmp_path / "key")
    owner = identities(tmp_path / "key")[0].to_public()
    three_months(tmp_path, lambda: seal_due(tmp_path, owner, 0))
    sealed = [s.id for s in Archive(tmp_path).sessions() if Archive(tmp_path).load(s.id).sealed]
    assert len(sealed) == 2, "the January and March sessions were sealed"
    heard, _, _ = replay_question(tmp_path)
    assert [name for name, _ in heard] == ["intro", "sealed", dates("The twentieth of May")[0], "recording 3002", "end"]


def test_a_date_from_an_unset_clock_is_said_as_about(tmp_path):
    dated_session(tmp_path, at(3, 4), {2: "guess"}, clock=ClockStatus(False, "test"))
    heard, _, _ = replay_question(tmp_path)
    assert heard[1][0] == "About the fourth of March. You said:"


def test_with_no_notes_it_says_so(tmp_path):
    heard, _, _ = replay_question(tmp_path)
    assert heard == [("no notes", "played")]


def reflect(*args, data):
    return subprocess.run(
        [sys.executable, "-m", "device.setup.cli", *args, "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args, says",
    [
        (["play", "--question", "9"], "no question 9"),
        (["play", "--question", "2", "--since", "4 March"], "not a date"),
        (["play"], "give a session to play, or --question N"),
        (["play", "latest", "--question", "2"], "give a session to play, or --question N"),
    ],
)
def test_bad_input_to_play_a_question_is_one_line_and_exit_2(tmp_path, args, says):
    three_months(tmp_path)
    done = reflect(*args, data=tmp_path)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and says in done.stderr, done.stderr
