"""The monotonic time the device keeps its pace by: speaker and answer deadlines, the double-press window, gesture
times, WAV syncs. One object is injected where time is read or waited for, so a test can move time on instead
of waiting for it (tests/skipping_clock.py)."""

import time
from typing import Protocol


class MonotonicClock(Protocol):
    def now(self) -> float:
        """Seconds on a scale that never goes back (not a date)."""
        ...

    def block_for(self, seconds: float) -> float:
        """How long, in real seconds, to block waiting for something that may come within `seconds`, before
        looking at `now` again."""
        ...


class SystemClock:
    """The machine's own monotonic clock."""

    def now(self) -> float:
        return time.monotonic()

    def block_for(self, seconds: float) -> float:
        return seconds


SYSTEM_CLOCK = SystemClock()
