"""Looking back: after an answer is saved, an earlier answer to the same question from about a month before is
offered once; it plays only if pressed, a hold still ends the session, and it is never sealed, never offered
twice, and never offered while the clock is untrusted (which is logged). Dates set by the test's own clock."""

import dataclasses
import json
import logging
from datetime import datetime, timezone

import pytest

from audio.fakes import FakeRecognizer, ScriptedMicrophone, silence, speech
from audio.worker import Worker
from device.clock import ClockStatus
from device.flow.gestures import Gesture
from device.flow.parts import SessionParts
from device.flow.session import Session
from device.notes.opening import identities, new_identity
from device.notes.sealing import seal_due
from tests.device.flow.scripted_speaker import AFTER, DURING, ClockedInbox, NamedPrompts, ScriptedSpeaker, tone_names
from tests.device.flow.test_gestures_everywhere import PACK, QUESTIONS, RATE, SETTINGS, recording_name, spoken_names
from tests.device.notes.dated_sessions import dated_session

NOW = datetime(2026, 12, 6, 19, 0, tzinfo=timezone.utc)
MONTH = dataclasses.replace(SETTINGS, look_back="month", look_back_wait_s=0.3, clock_trust="yes")
OFFER = "look_back_month"
EARLIER = "The sixth of November. You said:"


def earlier(data, day=datetime(2026, 11, 6, 19, 0, tzinfo=timezone.utc), clock=ClockStatus(True, "test")):
    """A month before NOW: an answer to question 2 only (its recording: "recording 1002")."""
    dated_session(data, day, {2: "a month ago"}, tag=1000, clock=clock)


def run(data, settings=MONTH, gesture=None, moment=None, then=None):
    inbox = ClockedInbox()
    prompts = NamedPrompts(spoken_names(PACK) | {EARLIER: "earlier date"}, RATE)
    tones = tone_names(RATE)
    speaker = ScriptedSpeaker(
        inbox,
        lambda clip: prompts.named.get(clip) or tones.get(clip) or recording_name(clip),
        RATE,
        gesture,
        moment,
        then,
    )
    microphone = ScriptedMicrophone([speech(0.6, RATE) + silence(0.6, RATE) for _ in range(QUESTIONS)], rate=RATE)
    worker = Worker(FakeRecognizer)
    try:
        notes = Session(
            PACK,
            SessionParts(speaker, lambda: microphone, prompts, worker, inbox, wall_clock=lambda: NOW),
            settings,
            data,
        ).run()
        worker.drain()
    finally:
        worker.close()
    return [name for name, _ in speaker.heard], speaker.heard, notes.record["status"]


def offer_number(data) -> int:
    """Which clip to start is the offer (1-based), from a run nobody touches (its offer is then used up)."""
    names, _, _ = run(data)
    return names.index(OFFER) + 1


def test_the_offer_follows_the_saved_tone_and_nothing_plays_unless_pressed(tmp_path):
    earlier(tmp_path)
    names, heard, status = run(tmp_path)
    assert names[names.index("saved tone 2") + 1] == OFFER and names[names.index(OFFER) + 1] == "question 3"
    assert "recording 1002" not in names and "earlier date" not in names and names.count(OFFER) == 1
    assert status == "complete"
    assert json.loads((tmp_path / "look_back.json").read_text()) == {"offered": ["2026-11-06_190000/2"]}
    names, _, _ = run(tmp_path)  # the same day again: never the same answer twice
    assert OFFER not in names


@pytest.mark.parametrize("when", [DURING, AFTER])
def test_a_press_during_or_after_the_offer_plays_the_earlier_answer_after_its_date(tmp_path, when):
    earlier(tmp_path / "probe")
    number = offer_number(tmp_path / "probe")
    earlier(tmp_path / "data")
    names, heard, status = run(tmp_path / "data", gesture=Gesture.PRESS, moment=(when, number))
    offer_at = names.index(OFFER)
    assert heard[offer_at] == (OFFER, "skipped" if when == DURING else "played")
    assert names[offer_at + 1 : offer_at + 4] == ["earlier date", "recording 1002", "question 3"]
    assert status == "complete"


@pytest.mark.parametrize("when", [DURING, AFTER])
def test_a_hold_at_the_offer_still_ends_the_session(tmp_path, when):
    earlier(tmp_path / "probe")
    number = offer_number(tmp_path / "probe")
    earlier(tmp_path / "data")
    names, _, status = run(tmp_path / "data", gesture=Gesture.HOLD, moment=(when, number))
    assert status == "ended_early" and names[-1] == "goodbye" and "recording 1002" not in names


def test_silent_and_logged_when_the_clock_is_untrusted(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    earlier(tmp_path)
    names, _, _ = run(tmp_path, dataclasses.replace(MONTH, clock_trust="no"))
    assert OFFER not in names
    assert "looking back stays silent: the clock was not set" in caplog.text
    assert not (tmp_path / "look_back.json").exists()


def test_never_a_sealed_answer_one_from_an_unset_clock_or_one_not_a_month_ago(tmp_path):
    earlier(tmp_path / "sealed")
    new_identity(tmp_path / "key")
    seal_due(tmp_path / "sealed", identities(tmp_path / "key")[0].to_public(), 0)
    earlier(tmp_path / "unset", clock=ClockStatus(False, "test"))
    earlier(tmp_path / "long ago", day=datetime(2026, 9, 6, 19, 0, tzinfo=timezone.utc))
    earlier(tmp_path / "off")
    for data, settings in [
        ("sealed", MONTH),
        ("unset", MONTH),
        ("long ago", MONTH),
        ("off", dataclasses.replace(MONTH, look_back="off")),
    ]:
        names, _, status = run(tmp_path / data, settings)
        assert OFFER not in names and status == "complete", data


@pytest.mark.parametrize("when", [DURING, AFTER])
def test_a_double_press_at_the_offer_plays_it_and_marks_the_answer_just_given(tmp_path, when):
    earlier(tmp_path / "probe")
    number = offer_number(tmp_path / "probe")
    earlier(tmp_path / "data")
    names, heard, status = run(tmp_path / "data", gesture=Gesture.DOUBLE_PRESS, moment=(when, number))
    offer_at = names.index(OFFER)
    assert heard[offer_at + 1] == ("marked tone 1", "overlaid")
    assert names[offer_at + 2 : offer_at + 5] == ["earlier date", "recording 1002", "question 3"]
    [folder] = [p for p in (tmp_path / "data" / "sessions").iterdir() if p.name.startswith("2026-12-06")]
    marked = [a["index"] for a in json.loads((folder / "session.json").read_text())["answers"] if a["for_therapist"]]
    assert marked == [2] and status == "complete"


@pytest.mark.parametrize("clip", ["earlier date", "recording 1002"])
@pytest.mark.parametrize("gesture", [Gesture.PRESS, Gesture.HOLD])
def test_while_the_earlier_answer_plays_a_press_skips_on_and_a_hold_ends_the_session(tmp_path, clip, gesture):
    earlier(tmp_path / "probe")
    number = offer_number(tmp_path / "probe")
    earlier(tmp_path / "data")
    during = number + (1 if clip == "earlier date" else 2)  # after the offer: its date, then the recording
    names, heard, status = run(
        tmp_path / "data", gesture=Gesture.PRESS, moment=(DURING, number), then=(gesture, (DURING, during))
    )
    at = names.index(clip)
    if gesture is Gesture.PRESS:
        assert heard[at] == (clip, "skipped") and names[at + 1] == "question 3" and status == "complete"
    else:
        assert heard[at] == (clip, "stopped") and status == "ended_early" and names[-1] == "goodbye"
    assert "recording 1002" not in names[at + 1 :]
