"""A speaker whose clock is the flow's waiting, and that presses or holds the button at one scripted moment.

Time passes only while the flow waits on its inbox with nothing in it: then the clip playing ends (its
`on_done` is called) and the next queued one starts. So every run plays out the same way, with no sleeps,
and a gesture can be put at an exact point: while the Nth clip to start is playing, or just after it ended
(before the flow has read that it ended, and before the clip after it has been heard).
"""

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from audio import tones
from audio.clips import Clip
from device.flow.gestures import Gesture, GestureEvent
from device.flow.inbox import Inbox

DURING = "during"
AFTER = "after"


class ClockedInbox(Inbox):
    """The flow's inbox: waiting on it while it is empty lets the speaker's playing clip end first."""

    def __init__(self):
        super().__init__()
        self.speaker: "ScriptedSpeaker | None" = None

    def next_item(self, deadline: float):
        if self.empty() and self.speaker is not None:
            self.speaker.advance()
        return super().next_item(deadline)

    def leftovers(self) -> list:
        """Everything still in the inbox (emptying it)."""
        items = []
        while not self.empty():
            items.append(self.get(timeout=0))
        return items


class NamedPrompts:
    """Stands in for the prompt cache: a tiny silent clip for each text, which the speaker can name."""

    def __init__(self, names: dict[str, str], rate: int):
        self.names = names
        self.rate = rate
        self.named: dict[Clip, str] = {}

    def clip(self, text: str, rate: int | None = None) -> Clip:
        clip = Clip(np.zeros(16, dtype=np.float32), rate or self.rate)
        self.named[clip] = self.names.get(text, text)
        return clip


@dataclass
class _Queued:
    name: str
    on_done: Callable[[], None]


class ScriptedSpeaker:
    """A queue of clips (play / play_next / skip / stop as the Speaker protocol says) that records what was
    heard, as (name, how it ended): "played" out, "skipped" by a press, "stopped" by a hold, or "cut" by a
    new clip started over it. Queued clips dropped before they started were never heard.

    With `gesture` and `moment` = (DURING or AFTER, n), it puts that gesture on the inbox once: while the
    nth clip to start is playing (when the flow first waits during it), or right after the nth clip ended;
    `then`, a second (gesture, moment), is scripted the same way once the first has come."""

    def __init__(
        self,
        inbox: ClockedInbox,
        name_of: Callable[[Clip], str | None],
        rate: int,
        gesture: Gesture | None = None,
        moment: tuple[str, int] | None = None,
        then: tuple[Gesture, tuple[str, int]] | None = None,
    ):
        self.inbox = inbox
        self.name_of = name_of
        self.rate = rate
        self.gesture = gesture
        self.moment = moment
        self.then = then
        self.heard: list[tuple[str, str]] = []
        self.gestured = False
        self._queue: deque[_Queued] = deque()  # the first one is playing
        self._started = 0
        self._playing_number = 0
        self._counts: dict[str, int] = {}
        inbox.speaker = self

    # the Speaker protocol
    def play(self, clip: Clip, on_done: Callable[[], None]) -> None:
        if self._queue:
            self._ended("cut")
        self._queue.clear()
        self._queue.append(_Queued(self._name(clip), on_done))
        self._start_first()

    def play_next(self, clip: Clip, on_done: Callable[[], None]) -> None:
        self._queue.append(_Queued(self._name(clip), on_done))
        if len(self._queue) == 1:
            self._start_first()

    def skip(self) -> None:
        if self._queue:
            self._end_first("skipped")

    def stop(self) -> None:
        if self._queue:
            self._ended("stopped")
        self._queue.clear()

    def overlay(self, clip: Clip) -> None:
        self.heard.append((self._name(clip), "overlaid"))

    def close(self) -> None:
        self.stop()

    # time passing
    def advance(self) -> None:
        """The flow waits with nothing in its inbox: the scripted gesture comes now if due, else the playing
        clip plays out (and, if the moment is just after it, the gesture follows)."""
        if self._due(DURING):
            self._gesture()
            return
        if not self._queue:
            return
        number = self._playing_number
        self._end_first("played")
        if self.moment == (AFTER, number) and not self.gestured:
            self._gesture()

    def _due(self, when: str) -> bool:
        return not self.gestured and self.moment == (when, self._playing_number) and bool(self._queue)

    def _gesture(self) -> None:
        put_gesture(self.inbox, self.gesture)
        if self.then is None:
            self.gestured = True
        else:
            (self.gesture, self.moment), self.then = self.then, None

    def _name(self, clip: Clip) -> str:
        base = self.name_of(clip) or "?"
        if base.endswith("tone") or base == "chime":  # tones: numbered in the order they are queued
            self._counts[base] = self._counts.get(base, 0) + 1
            return base if base == "chime" else f"{base} {self._counts[base]}"
        return base

    def _start_first(self) -> None:
        if self._queue:
            self._started += 1
            self._playing_number = self._started
        else:
            self._playing_number = 0

    def _ended(self, how: str) -> None:
        self.heard.append((self._queue[0].name, how))

    def _end_first(self, how: str) -> None:
        self._ended(how)
        done = self._queue.popleft()
        self._start_first()
        done.on_done()


def put_gesture(inbox: Inbox, gesture: Gesture) -> None:
    """What the button hands on for `gesture`: a double press is its first press, then the double press."""
    if gesture is Gesture.DOUBLE_PRESS:
        inbox.put(GestureEvent(Gesture.PRESS, 0.0))
    inbox.put(GestureEvent(gesture, 0.0))


def tone_names(rate: int) -> dict[Clip, str]:
    """The device's tones at `rate`, by name (they are cached, so the session plays these very clips)."""
    return {
        tones.chime(rate): "chime",
        tones.listening_tone(rate): "listening tone",
        tones.saved_tone(rate): "saved tone",
        tones.marked_tone(rate): "marked tone",
    }
