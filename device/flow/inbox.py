"""The flow thread's inbox: gestures, playback endings and microphone chunks on one queue, with the
watchdog's heartbeat while the flow waits, and one counter for the tokens that tell playbacks and captures apart."""

import itertools
import queue
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from common.monotonic_clock import SYSTEM_CLOCK, MonotonicClock


@dataclass(frozen=True)
class PlaybackDone:
    token: int


@dataclass(frozen=True, eq=False)
class AudioChunk:
    capture: int
    samples: np.ndarray


@dataclass(frozen=True)
class MicFailed:
    capture: int
    reason: str


class Inbox:
    """Everything the flow thread waits for. `put` may be called from any thread; the rest from the flow only.
    Its `clock` is the flow's time: the deadlines of whatever waits on it are read on that clock."""

    def __init__(self, heartbeat: Callable[[], None] = lambda: None, clock: MonotonicClock = SYSTEM_CLOCK):
        self.heartbeat = heartbeat
        """Called at least once a second while the flow waits (the service's watchdog)."""
        self.clock = clock
        self._queue: queue.Queue = queue.Queue()
        self._tokens = itertools.count(1)

    def token(self) -> int:
        """A number never handed out before by this inbox, for one playback or one capture: what it puts in the
        inbox carries it, so a late item from an older playback or capture never matches a newer one."""
        return next(self._tokens)

    def put(self, item) -> None:
        self._queue.put(item)

    def empty(self) -> bool:
        return self._queue.empty()

    def get(self, timeout: float | None = None):
        """The next item, waiting up to `timeout` seconds (forever if None); queue.Empty if none came."""
        return self._queue.get(timeout=timeout)

    def next_item(self, deadline: float):
        """The next item, or None once `deadline` (on `clock`) has passed; heartbeats while waiting."""
        while True:
            self.heartbeat()
            remaining = deadline - self.clock.now()
            if remaining <= 0:
                return None
            try:
                return self._queue.get_nowait()  # what is there already is taken before any wait
            except queue.Empty:
                pass
            try:
                return self._queue.get(timeout=self.clock.block_for(min(remaining, 1.0)))
            except queue.Empty:
                continue
