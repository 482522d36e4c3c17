"""Speaking and playing on the flow thread, interruptible by a gesture from the inbox."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from audio.clips import Clip
from audio.speaker import Speaker
from audio.synthesis import PromptCache
from device.flow.gestures import Gesture, GestureEvent
from device.flow.inbox import Inbox, PlaybackDone

log = logging.getLogger(__name__)

SPEAKER_GRACE_S = 2.0
"""How long past a clip's length to wait for the speaker before deciding it is gone."""


@dataclass(frozen=True)
class Playing:
    """A clip handed to the speaker: its token and when to stop waiting for it."""

    token: int
    deadline: float


class Player:
    """Plays clips and prompts to their end, or until a press or hold, which it returns. A long hold is passed
    over unless `hears_long_hold` (the replay a hold in the ready state starts): it means something only there.
    A double press goes to `on_double_press` while the clip plays on (its first press already acted); with none,
    it is one more press."""

    def __init__(
        self,
        speaker: Speaker,
        prompts: PromptCache,
        inbox: Inbox,
        hears_long_hold: bool = False,
        on_double_press: Callable[[], None] | None = None,
    ):
        self.speaker = speaker
        self.prompts = prompts
        self.inbox = inbox
        self.hears_long_hold = hears_long_hold
        self.on_double_press = on_double_press
        self._ends_at = 0.0  # when the last clip started or queued should have finished (on the inbox's clock)

    def say(self, text: str) -> Gesture | None:
        return self.play(self.prompt(text))

    def prompt(self, text: str) -> Clip:
        return self.prompts.clip(text, self.speaker.rate)

    def play(self, clip: Clip) -> Gesture | None:
        """Play a clip to its end, or until a gesture interrupts it (the gesture is returned)."""
        return self.wait(self.start(clip))

    def start(self, clip: Clip) -> Playing:
        """Start a clip at once (dropping any other) and return; `wait` for it later."""
        token = self.inbox.token()
        self.speaker.play(clip, lambda: self.inbox.put(PlaybackDone(token)))
        self._ends_at = self.inbox.clock.now() + clip.duration_s
        return Playing(token, self._ends_at + SPEAKER_GRACE_S)

    def start_next(self, clip: Clip) -> Playing:
        """Queue a clip to follow the one playing without a gap (or start it now) and return; `wait` for it later."""
        token = self.inbox.token()
        self.speaker.play_next(clip, lambda: self.inbox.put(PlaybackDone(token)))
        self._ends_at = max(self._ends_at, self.inbox.clock.now()) + clip.duration_s
        return Playing(token, self._ends_at + SPEAKER_GRACE_S)

    def wait(self, playing: Playing) -> Gesture | None:
        """Wait for a started clip to end, or for a gesture (returned): a press ends the clip playing (going on
        to the one queued after it), a hold (or a long hold it hears) silences everything."""
        while True:
            item = self.inbox.next_item(playing.deadline)
            if item is None:
                log.warning("the speaker did not finish a clip in time; carrying on without it")
                self.speaker.stop()
                return None
            if isinstance(item, PlaybackDone) and item.token == playing.token:
                return None
            if isinstance(item, GestureEvent):
                if item.gesture is Gesture.LONG_HOLD and not self.hears_long_hold:
                    continue
                if item.gesture is Gesture.DOUBLE_PRESS and self.on_double_press is not None:
                    self.on_double_press()
                    continue
                if item.gesture in (Gesture.PRESS, Gesture.DOUBLE_PRESS):
                    self.speaker.skip()
                    return Gesture.PRESS
                self.speaker.stop()
                return item.gesture
