"""Hearing saved notes again through the device's own speaker: each question, then the person's recording."""
import logging
from collections.abc import Callable

from audio.clips import Clip, int16_to_float
from common.errors import ReflectError, SessionNotFound
from content.phrases import PHRASES
from device.notes.archive import Archive
from device.flow.events import Event, EventKind
from device.flow.gestures import Gesture
from device.flow.player import Player

log = logging.getLogger(__name__)


class Replay:
    """Replays on the flow thread: a press skips to the next answer, a hold stops."""

    def __init__(self, archive: Archive, player: Player, on_event: Callable[[Event], None] = lambda event: None):
        self.archive = archive
        self.player = player
        self.on_event = on_event

    def latest(self) -> None:
        """The idle hold: replay the latest session, or say plainly that there is none."""
        self.on_event(Event(EventKind.REPLAY_SESSION))
        try:
            session = self.archive.load("latest")
        except SessionNotFound:
            self.player.say(PHRASES.no_notes)
            return
        except ReflectError as error:
            log.error("cannot replay the latest session: %s", error)
            self.on_event(Event(EventKind.REPLAY_UNREADABLE))
            self.player.say(PHRASES.something_went_wrong)
            return
        if session.sealed:
            self.player.say(PHRASES.notes_sealed)
            return
        if self.player.say(PHRASES.replay_start) is not Gesture.HOLD:
            if self.play(session) is not Gesture.HOLD:
                self.player.say(PHRASES.replay_end)

    def play(self, session, only: int | None = None, with_questions: bool = True) -> Gesture | None:
        """Play a session's answers (or answer `only`); returns HOLD if the person stopped it."""
        for item in self.archive.replay(session, only):
            self.on_event(Event(EventKind.REPLAY_ANSWER, item.index))
            if with_questions:
                gesture = self.player.say(item.question)
                if gesture is Gesture.HOLD:
                    return gesture
                if gesture is Gesture.PRESS:
                    continue
            if item.samples is None:
                log.info("answer %d has no recording to play (%s)", item.index, item.problem or item.status)
                continue
            if self.player.play(Clip(int16_to_float(item.samples), item.rate)) is Gesture.HOLD:
                return Gesture.HOLD
        return None
