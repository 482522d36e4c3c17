"""A press and a hold at every point of a session and of a replay, not a sample.

The points come from the script each one plays (a guard test checks the script is what is really played):
while each sound plays, just after each sound ends (before the flow has seen it end; the sound queued
after it has started), and while listening to each answer. What the person can rely on (README, "What a
session is like"):

- A press during a sound ends that sound at once and the next one plays (during a question: its
  listening tone, then listening). A press while listening ends that answer; the session goes on.
- A hold ends the session from anywhere: the sound stops at once, every answer said so far is saved, the
  goodbye is said and the session is saved `ended_early`.
- Except once the last answer is saved: a hold during the last "saved" tone or the closing stops the
  sound at once and nothing more is said; every question was answered, so the session is `complete`.
- A gesture between two sounds counts for the sound about to start (or for the listening that follows
  a listening tone). A gesture after the closing is not the session's: it is left for the ready state.

- A double press is its first press (which does what a press does there), then the mark: the answer being
  recorded, or else the answer just recorded (until the next one begins), is marked "for my therapist", with a
  soft tone over what plays. Before any answer, after a skipped one, or once the session is over: no mark.

In a replay a press goes on to the next answer (during the opening words: to the first answer; during
a question: past that question's recording) and a hold stops at once, with nothing more said. A double press
there is two presses.

Nothing stopped is ever waited out: the player's "did not finish a clip in time" warning never shows.
"""

import json
import logging
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timezone

import numpy as np
import pytest

from audio.clips import Clip
from audio.endpointing import EndpointSettings
from audio.fakes import FakeRecognizer, ScriptedMicrophone, silence, speech
from audio.wavfile import WavWriter
from audio.worker import Worker
from content.packs import find_pack
from content.phrases import PHRASES
from device.flow.gestures import Gesture, GestureEvent
from device.flow.parts import SessionParts
from device.flow.player import Player
from device.flow.replay import QUESTION_INTRO, Replay
from device.flow.session import Session, SessionSettings
from device.notes.archive import Archive
from device.notes.session_notes import SessionNotes
from tests.device.flow.scripted_speaker import (
    AFTER,
    DURING,
    ClockedInbox,
    NamedPrompts,
    ScriptedSpeaker,
    put_gesture,
    tone_names,
)
from tests.device.notes.dated_sessions import dated_session

RATE = 16000
LISTENING = "listening"
PACK = find_pack("therapy-relationship")
QUESTIONS = len(PACK.questions)
SETTINGS = SessionSettings(endpoint=EndpointSettings(silence_after_speech_s=0.5), audio_format="wav")
SILENCE = ("answered", "silence")
"""How each answer ends when nobody touches the button: speech, then silence."""


def session_script(pack) -> list[str]:
    """The sounds a session plays, in order, when nobody touches the button."""
    sounds = ["chime", "greeting"]
    for index in range(1, len(pack.questions) + 1):
        sounds += [f"question {index}", f"listening tone {index}", f"saved tone {index}"]
    return sounds + ["closing"]


SCRIPT = session_script(PACK)
LAST_SAVED_TONE = SCRIPT.index(f"saved tone {QUESTIONS}")  # 0-based, like every index into SCRIPT below


def spoken_names(pack) -> dict[str, str]:
    names = {getattr(PHRASES, f.name): f.name for f in fields(PHRASES)}
    names[PHRASES.ended_early] = "goodbye"
    names.update({pack.greeting: "greeting", pack.closing: "closing"})
    names.update({question: f"question {i}" for i, question in enumerate(pack.questions, start=1)})
    return names


@dataclass
class Outcome:
    heard: list[tuple[str, str]]
    status: str
    answers: list[tuple[str, str]]
    gesture_left: bool = False
    marked: list[int] = field(default_factory=list)
    """The answers marked "for my therapist"."""


def played(names) -> list[tuple[str, str]]:
    return [(name, "played") for name in names]


MARK = ("marked tone 1", "overlaid")


def expected_session(gesture: Gesture, kind: str, number: int) -> Outcome:
    """What the person should hear and find saved after `gesture` at one point of the session."""
    if gesture is Gesture.DOUBLE_PRESS:
        return _double_press(expected_session(Gesture.PRESS, kind, number), kind, number)
    if kind == AFTER and number == len(SCRIPT):  # after the closing: the session is over
        return Outcome(played(SCRIPT), "complete", [SILENCE] * QUESTIONS, gesture_left=True)
    if kind == AFTER and SCRIPT[number - 1].startswith("listening tone"):  # before any speech
        return _listening(gesture, int(SCRIPT[number - 1].split()[-1]), "skipped")
    if kind == LISTENING:
        return _listening(gesture, number, "answered")
    at = number - 1 if kind == DURING else number  # after a sound: the one already started after it
    if gesture is Gesture.PRESS:
        heard = played(SCRIPT)
        heard[at] = (SCRIPT[at], "skipped")
        return Outcome(heard, "complete", [SILENCE] * QUESTIONS)
    heard = played(SCRIPT[:at]) + [(SCRIPT[at], "stopped")]
    if at >= LAST_SAVED_TONE:
        return Outcome(heard, "complete", [SILENCE] * QUESTIONS)
    saved = sum(name.startswith("saved tone") for name in SCRIPT[: at + 1])
    return Outcome(heard + played(["goodbye"]), "ended_early", [SILENCE] * saved)


def _double_press(pressed: Outcome, kind: str, number: int) -> Outcome:
    """A press there, then the mark of the answer being given or just given, its tone heard at once."""
    if pressed.gesture_left:
        return pressed
    if kind == LISTENING:  # the press ended this answer; the mark is read while its saved tone plays
        return Outcome(
            _after(pressed.heard, f"listening tone {number}", "played"),
            pressed.status,
            pressed.answers,
            marked=[number],
        )
    if kind == AFTER and SCRIPT[number - 1].startswith("listening tone"):  # the press skipped that answer
        return pressed
    at = number - 1 if kind == DURING else number
    sound = SCRIPT[at]
    if sound == "closing":  # the press ended the session: the double press is left for the ready state
        return Outcome(pressed.heard, pressed.status, pressed.answers, gesture_left=True)
    if sound.startswith("listening tone"):  # the press began this answer: the one being given is marked
        marked = int(sound.split()[-1])
    else:
        given = [int(name.split()[-1]) for name in SCRIPT[: at + 1] if name.startswith("saved tone")]
        if not given:
            return pressed  # before any answer
        marked = given[-1]
    return Outcome(_after(pressed.heard, sound, "skipped"), pressed.status, pressed.answers, marked=[marked])


def _after(heard: list[tuple[str, str]], name: str, how: str) -> list[tuple[str, str]]:
    at = heard.index((name, how)) + 1
    return heard[:at] + [MARK] + heard[at:]


def _listening(gesture: Gesture, index: int, status: str) -> Outcome:
    answers = [SILENCE] * QUESTIONS
    answers[index - 1] = (status, gesture.value)
    if gesture is Gesture.PRESS:
        return Outcome(played(SCRIPT), "complete", answers)
    tone = SCRIPT.index(f"listening tone {index}")
    return Outcome(played(SCRIPT[: tone + 1] + ["goodbye"]), "ended_early", answers[:index])


def session_points():
    points = [(DURING, n) for n in range(1, len(SCRIPT) + 1)]
    points += [(LISTENING, i) for i in range(1, QUESTIONS + 1)]
    points += [(AFTER, n) for n in range(1, len(SCRIPT) + 1)]
    return points


def point_id(point) -> str:
    kind, number = point
    return f"{kind}-{number:02d}" + (f"-{SCRIPT[number - 1].replace(' ', '')}" if kind != LISTENING else "")


def run_session(tmp_path, gesture: Gesture | None = None, kind: str | None = None, number: int = 0) -> Outcome:
    inbox = ClockedInbox()
    prompts = NamedPrompts(spoken_names(PACK), RATE)
    tones = tone_names(RATE)
    moment = (kind, number) if kind in (DURING, AFTER) else None
    speaker = ScriptedSpeaker(inbox, lambda clip: prompts.named.get(clip) or tones.get(clip), RATE, gesture, moment)
    answers = [speech(0.6, RATE) + silence(0.6, RATE) for _ in range(QUESTIONS)]
    if kind == LISTENING:
        answers[number - 1] = speech(0.6, RATE) + [lambda: put_gesture(inbox, gesture)] + silence(0.6, RATE)
    microphone = ScriptedMicrophone(answers, rate=RATE)
    worker = Worker(FakeRecognizer)
    try:
        notes = Session(
            PACK, SessionParts(speaker, lambda: microphone, prompts, worker, inbox), SETTINGS, tmp_path / "data"
        ).run()
        worker.drain()
    finally:
        worker.close()
    record = json.loads((notes.folder / "session.json").read_text())
    left = any(isinstance(item, GestureEvent) for item in inbox.leftovers())
    return Outcome(
        speaker.heard,
        record["status"],
        [(a["status"], a["ended_by"]) for a in record["answers"]],
        left,
        [a["index"] for a in record["answers"] if a["for_therapist"]],
    )


def never_waited_out_a_sound(caplog) -> bool:
    return not [r for r in caplog.records if "did not finish a clip in time" in r.getMessage()]


def test_the_points_are_every_sound_a_session_plays(tmp_path, caplog):
    outcome = run_session(tmp_path)
    assert outcome == Outcome(played(SCRIPT), "complete", [SILENCE] * QUESTIONS)
    assert len(session_points()) == 2 * len(SCRIPT) + QUESTIONS == 34
    assert never_waited_out_a_sound(caplog)


@pytest.mark.parametrize("gesture", [Gesture.PRESS, Gesture.HOLD, Gesture.DOUBLE_PRESS], ids=lambda g: g.value)
@pytest.mark.parametrize("point", session_points(), ids=point_id)
def test_a_gesture_at_any_point_of_a_session_is_honoured(tmp_path, caplog, point, gesture):
    caplog.set_level(logging.WARNING)
    outcome = run_session(tmp_path, gesture, *point)
    assert outcome == expected_session(gesture, *point)
    assert never_waited_out_a_sound(caplog), "waited for a sound that was no longer playing"


# Replay

REPLAYED = [(1, "answered"), (2, "skipped"), (3, "answered")]
"""The saved session replayed: two recordings and a skipped answer between them (nothing to play)."""


def replay_script() -> list[str]:
    sounds = ["replay_start"]
    for index, status in REPLAYED:
        sounds += [f"question {index}"] + ([f"answer {index}"] if status == "answered" else [])
    return sounds + ["replay_end"]


REPLAY_SCRIPT = replay_script()


def answer_samples(index: int) -> np.ndarray:
    return np.full(RATE // 10, 1000 * index, dtype=np.int16)


def saved_session(data_dir):
    notes = SessionNotes.begin(data_dir, PACK, RATE)
    for index, status in REPLAYED:
        if status == "skipped":
            notes.add_answer(index, None, 0.0, "skipped", "no_speech")
            continue
        writer = WavWriter(notes.audio_path(index), RATE)
        writer.write(answer_samples(index))
        writer.finish()
        notes.add_answer(index, notes.audio_path(index).name, 0.1, "answered", "silence")
    notes.finish("ended_early")


def answer_name(clip: Clip) -> str | None:
    for index, _ in REPLAYED:
        if len(clip.samples) == RATE // 10 and np.allclose(clip.samples, 1000 * index / 32768.0):
            return f"answer {index}"
    return None


def run_replay(
    tmp_path, gesture: Gesture | None = None, kind: str | None = None, number: int = 0, stopped: list | None = None
) -> Outcome:
    """The replay a hold in the ready state starts (its player hears a long hold); `stopped` gets what it returned."""
    saved_session(tmp_path / "data")
    inbox = ClockedInbox()
    prompts = NamedPrompts(spoken_names(PACK), RATE)
    speaker = ScriptedSpeaker(
        inbox,
        lambda clip: prompts.named.get(clip) or answer_name(clip),
        RATE,
        gesture,
        (kind, number) if kind else None,
    )
    returned = Replay(Archive(tmp_path / "data"), Player(speaker, prompts, inbox, hears_long_hold=True)).latest()
    if stopped is not None:
        stopped.append(returned)
    left = any(isinstance(item, GestureEvent) for item in inbox.leftovers())
    return Outcome(speaker.heard, "", [], left)


def expected_replay(gesture: Gesture, kind: str, number: int, script: list[str] | None = None) -> Outcome:
    """What a replay playing `script` (by default REPLAY_SCRIPT) should sound like after `gesture` at one point."""
    script = script or REPLAY_SCRIPT
    if kind == AFTER and number == len(script):  # after the end words: the replay is over
        return Outcome(played(script), "", [], gesture_left=True)
    at = number - 1 if kind == DURING else number  # between two sounds: counts for the one about to start
    if gesture is Gesture.HOLD:
        return Outcome(played(script[:at]) + [(script[at], "stopped")], "", [])
    heard = played(script[:at])
    for _ in range(2 if gesture is Gesture.DOUBLE_PRESS else 1):  # a double press: two presses
        if at == len(script):  # the first press ended the replay: the second is left for the ready state
            return Outcome(heard, "", [], gesture_left=True)
        heard.append((script[at], "skipped"))
        intro, at = script[at], at + 1
        if (
            not intro.startswith(("replay_", "intro", "sealed", "end"))
            and at < len(script)
            and script[at].startswith(("answer", "recording"))
        ):
            at += 1  # a press while an answer is introduced goes on past its recording, to the next answer
    return Outcome(heard + played(script[at:]), "", [])


def replay_points():
    return [(DURING, n) for n in range(1, len(REPLAY_SCRIPT) + 1)] + [
        (AFTER, n) for n in range(1, len(REPLAY_SCRIPT) + 1)
    ]


def replay_point_id(point) -> str:
    kind, number = point
    return f"{kind}-{number:02d}-{REPLAY_SCRIPT[number - 1].replace(' ', '')}"


def test_the_points_are_every_sound_a_replay_plays(tmp_path, caplog):
    assert run_replay(tmp_path) == Outcome(played(REPLAY_SCRIPT), "", [])
    assert len(replay_points()) == 2 * len(REPLAY_SCRIPT) == 14
    assert never_waited_out_a_sound(caplog)


@pytest.mark.parametrize("gesture", [Gesture.PRESS, Gesture.HOLD, Gesture.DOUBLE_PRESS], ids=lambda g: g.value)
@pytest.mark.parametrize("point", replay_points(), ids=replay_point_id)
def test_a_gesture_at_any_point_of_a_replay_is_honoured(tmp_path, caplog, point, gesture):
    caplog.set_level(logging.WARNING)
    assert run_replay(tmp_path, gesture, *point) == expected_replay(gesture, *point)
    assert never_waited_out_a_sound(caplog), "waited for a sound that was no longer playing"


# The long hold (the button kept down to button.off_hold_s) means something only in the ready state.


@pytest.mark.parametrize("point", session_points(), ids=point_id)
def test_a_long_hold_at_any_point_of_a_session_is_passed_over(tmp_path, caplog, point):
    """It can reach a session only as the tail of a hold that already ended it, so it must change nothing."""
    caplog.set_level(logging.WARNING)
    after_the_end = point == (AFTER, len(SCRIPT))
    assert run_session(tmp_path, Gesture.LONG_HOLD, *point) == Outcome(
        played(SCRIPT), "complete", [SILENCE] * QUESTIONS, gesture_left=after_the_end
    )
    assert never_waited_out_a_sound(caplog)


@pytest.mark.parametrize("point", replay_points(), ids=replay_point_id)
def test_a_long_hold_at_any_point_of_a_replay_stops_it_as_a_hold_does_and_is_returned(tmp_path, caplog, point):
    caplog.set_level(logging.WARNING)
    stopped = []
    outcome = run_replay(tmp_path, Gesture.LONG_HOLD, *point, stopped=stopped)
    assert outcome == expected_replay(Gesture.HOLD, *point)
    assert stopped == [None if outcome.gesture_left else Gesture.LONG_HOLD]
    assert never_waited_out_a_sound(caplog)


def test_a_replay_stopped_by_a_hold_returns_the_hold_and_one_played_out_returns_nothing(tmp_path):
    stopped = []
    run_replay(tmp_path / "held", Gesture.HOLD, DURING, 2, stopped=stopped)
    run_replay(tmp_path / "played", stopped=stopped)
    assert stopped == [Gesture.HOLD, None]


# One question across time (the ready state's double press): the same rules as a replay, a date in words in the
# place of each question.


def across_time_data(data_dir):
    """Two dated answers to question 2, a month apart, and one skipped."""
    dated_session(data_dir, datetime(2026, 4, 4, 19, 30, tzinfo=timezone.utc), {1: "april one"}, tag=2000)
    dated_session(data_dir, datetime(2026, 3, 4, 19, 30, tzinfo=timezone.utc), {2: "march"}, tag=1000)
    dated_session(data_dir, datetime(2026, 5, 4, 19, 30, tzinfo=timezone.utc), {1: "may one", 2: "may"}, tag=3000)


ACROSS_TIME_SCRIPT = [
    "intro",
    "The fourth of March. You said:",
    "recording 1002",
    "The fourth of May. You said:",
    "recording 3002",
    "end",
]


def recording_name(clip: Clip) -> str | None:
    """A dated_sessions recording, by its tag."""
    first = int(round(float(clip.samples[0]) * 32768))
    return f"recording {first}" if len(clip.samples) == 800 and np.all(clip.samples == clip.samples[0]) else None


def run_across_time(tmp_path, gesture: Gesture | None = None, kind: str | None = None, number: int = 0) -> Outcome:
    across_time_data(tmp_path / "data")
    inbox = ClockedInbox()
    prompts = NamedPrompts(
        {QUESTION_INTRO.format(question=PACK.questions[1]): "intro", PHRASES.across_time_end: "end"}, RATE
    )
    speaker = ScriptedSpeaker(
        inbox,
        lambda clip: prompts.named.get(clip) or recording_name(clip),
        RATE,
        gesture,
        (kind, number) if kind else None,
    )
    Replay(
        Archive(tmp_path / "data"),
        Player(speaker, prompts, inbox, hears_long_hold=True),
        today=lambda: date(2026, 12, 6),
    ).question(2)
    left = any(isinstance(item, GestureEvent) for item in inbox.leftovers())
    return Outcome(speaker.heard, "", [], left)


def test_the_points_are_every_sound_a_question_across_time_plays(tmp_path, caplog):
    assert run_across_time(tmp_path) == Outcome(played(ACROSS_TIME_SCRIPT), "", [])
    assert never_waited_out_a_sound(caplog)


@pytest.mark.parametrize("gesture", [Gesture.PRESS, Gesture.HOLD, Gesture.DOUBLE_PRESS], ids=lambda g: g.value)
@pytest.mark.parametrize(
    "point",
    [(k, n) for k in (DURING, AFTER) for n in range(1, len(ACROSS_TIME_SCRIPT) + 1)],
    ids=lambda p: f"{p[0]}-{p[1]:02d}",
)
def test_a_gesture_at_any_point_of_a_question_across_time_is_honoured(tmp_path, caplog, point, gesture):
    caplog.set_level(logging.WARNING)
    assert run_across_time(tmp_path, gesture, *point) == expected_replay(gesture, *point, ACROSS_TIME_SCRIPT)
    assert never_waited_out_a_sound(caplog), "waited for a sound that was no longer playing"
