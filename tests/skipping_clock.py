"""A monotonic clock the test moves: by hand (`advance`), and on its own over every wait the flow makes with
nothing in its inbox, which it skips to the end of at once. Where all that reaches the flow is scripted (fake
speaker, scripted microphone, presses made from the script), a wait with nothing queued can only end at its
deadline, so skipping it changes nothing but how long the test takes."""

import threading


class SkippingClock:
    def __init__(self, start: float = 1000.0):
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def block_for(self, seconds: float) -> float:
        self.advance(seconds)
        return 0.0
