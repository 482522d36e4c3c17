"""Hearing saved notes again through the device's own speaker: each question, then the person's recording."""
import logging
from collections.abc import Callable

from audio.clips import Clip, int16_to_float
from common.errors import ReflectError, SessionNotFound
from content.phrases import PHRASES
from device.flow.events import Event, EventKind
from device.flow.gestures import Gesture
from device.flow.player import Player
from device.notes.archive import Archive

log = logging.getLogger(__name__)


class Replay:
    """Replays on the flow thread: a press skips to the next answer, a hold stops."""

    def __init__(self, archive: Archive, player: Player, on_event: Callable[[Event], None] = lambda event: None):
        self.archive = archive
        self.player = player
        self.on_event = on_event

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

    def play(self, session, only: int | None = None, with_questions: bool = True) -> Gesture | None:
        """Play a session's answers (or answer `only`); returns the hold or long hold that stopped it, if one did."""
        for item in self.archive.replay(session, only):
            self.on_event(Event(EventKind.REPLAY_ANSWER, item.index))
            if with_questions:
                gesture = self.player.say(item.question)
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
