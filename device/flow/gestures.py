"""Button gestures from raw edges: a short press or a hold, with stray bounce edges ignored."""
from dataclasses import dataclass
from enum import Enum


class Gesture(Enum):
    PRESS = "press"
    HOLD = "hold"


@dataclass(frozen=True)
class GestureEvent:
    gesture: Gesture
    at: float
    """time.monotonic() when the gesture was recognised."""


class GestureDetector:
    """Pure edge logic: feed it pressed/held/released with times; it answers with gestures.

    A press counts on release (so it can be told from a hold). Tolerated bounce:
    a contact shorter than `min_press_s`, a release with no press, a second press
    with no release between (the lost release is forgiven), a hold signal when the
    button is not down, and a release after a hold.
    """

    def __init__(self, min_press_s: float = 0.03):
        self.min_press_s = min_press_s
        self._down_at: float | None = None
        self._held = False

    def pressed(self, at: float) -> None:
        self._down_at, self._held = at, False

    def held(self, at: float) -> GestureEvent | None:
        if self._down_at is None or self._held:
            return None
        self._held = True
        return GestureEvent(Gesture.HOLD, at)

    def released(self, at: float) -> GestureEvent | None:
        down_at, held = self._down_at, self._held
        self._down_at, self._held = None, False
        if down_at is None or held or at - down_at < self.min_press_s:
            return None
        return GestureEvent(Gesture.PRESS, at)
