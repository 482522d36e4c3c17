"""Hearing saved notes again through the device's own speaker: each question, then the person's recording; or
one question across time, each answer introduced by its date in words."""

import logging
from collections.abc import Callable, Iterable
from datetime import date

from audio.clips import Clip, int16_to_float
from common.errors import ReflectError, SessionNotFound
from content.phrases import PHRASES
from device.flow.events import Event, EventKind
from device.flow.gestures import Gesture
from device.flow.player import Player
from device.notes.across_time import across_time
from device.notes.archive import Archive, Playback
from device.notes.spoken_date import date_in_words

log = logging.getLogger(__name__)

QUESTION_INTRO = "Your answers over time to: {question}"
"""What a question-across-time replay opens with."""
ANSWER_INTRO = "{date}. You said:"
"""What comes before each answer in a question-across-time replay: "The fourth of March. You said:"."""


class Replay:
    """Replays on the flow thread: a press skips to the next answer, a hold stops."""

    def __init__(
        self,
        archive: Archive,
        player: Player,
        on_event: Callable[[Event], None] = lambda event: None,
        today: Callable[[], date] = date.today,
    ):
        self.archive = archive
        self.player = player
        self.on_event = on_event
        self.today = today
        """Today's date, against which an answer's year is said only when it is another year's."""

    def latest(self) -> Gesture | None:
        """The idle hold: replay the latest session, or say plainly that there is none. Returns the hold or long
        hold that stopped it (None if it played out)."""
        self.on_event(Event(EventKind.REPLAY_SESSION))
        try:
            session = self.archive.load("latest")
        except SessionNotFound:
            return _stopped(self.player.say(PHRASES.no_notes))
        except ReflectError as error:
            log.error("cannot replay the latest session: %s", error)
            self.on_event(Event(EventKind.REPLAY_UNREADABLE))
            return _stopped(self.player.say(PHRASES.something_went_wrong))
        if session.sealed:
            return _stopped(self.player.say(PHRASES.notes_sealed))
        stopped = _stopped(self.player.say(PHRASES.replay_start)) or self.play(session)
        if stopped is None:
            stopped = _stopped(self.player.say(PHRASES.replay_end))
        return stopped

    def question(self, number: int | None = None, since: date | None = None) -> Gesture | None:
        """The ready state's double press (or `reflect play --question`): question `number` of the latest session
        (by default its last answered one) across time, oldest first; returns the hold that stopped it, if any."""
        self.on_event(Event(EventKind.REPLAY_QUESTION, number))
        try:
            found = across_time(self.archive, number, since)
        except SessionNotFound as error:
            log.info("nothing to replay across time: %s", error)
            return _stopped(self.player.say(PHRASES.no_notes))
        except ReflectError as error:
            log.error("cannot replay the question across time: %s", error)
            self.on_event(Event(EventKind.REPLAY_UNREADABLE))
            return _stopped(self.player.say(PHRASES.something_went_wrong))
        stopped = _stopped(self.player.say(QUESTION_INTRO.format(question=found.question)))
        if stopped is None and found.sealed:
            stopped = _stopped(self.player.say(PHRASES.sealed_left_out))
        if stopped is None and not found.answers and not found.sealed:
            return _stopped(self.player.say(PHRASES.no_answers_to_question))
        if stopped is None:
            today = self.today()
            stopped = self._play_items(
                (
                    ANSWER_INTRO.format(
                        date=date_in_words(heard.session.started_at, today, heard.session.clock_trusted)
                    ),
                    item,
                )
                for heard in found.answers
                for item in self.archive.replay(heard.session, heard.answer.index)
            )
        if stopped is None:
            stopped = _stopped(self.player.say(PHRASES.across_time_end))
        return stopped

    def play(self, session, only: int | None = None, with_questions: bool = True) -> Gesture | None:
        """Play a session's answers (or answer `only`); returns the hold or long hold that stopped it, if one did."""
        return self._play_items(
            (item.question if with_questions else None, item) for item in self.archive.replay(session, only)
        )

    def _play_items(self, items: Iterable[tuple[str | None, Playback]]) -> Gesture | None:
        """Say each intro (a press skips past its recording), then play the recording; a hold stops everything."""
        for intro, item in items:
            self.on_event(Event(EventKind.REPLAY_ANSWER, item.index))
            if intro is not None:
                gesture = self.player.say(intro)
                if gesture in STOPS:
                    return gesture
                if gesture is Gesture.PRESS:
                    continue
            if item.samples is None:
                log.info("answer %d has no recording to play (%s)", item.index, item.problem or item.status)
                continue
            assert item.rate is not None  # samples come with their rate
            if (gesture := self.player.play(Clip(int16_to_float(item.samples), item.rate))) in STOPS:
                return gesture
        return None


STOPS: tuple[Gesture | None, ...] = (Gesture.HOLD, Gesture.LONG_HOLD)
"""What stops a replay; a press goes on to the next answer."""


def _stopped(gesture: Gesture | None) -> Gesture | None:
    return gesture if gesture in STOPS else None
