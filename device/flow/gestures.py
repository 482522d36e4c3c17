"""Button gestures from raw edges: a press, a double press, a hold, or a long hold, with stray bounce edges ignored."""

from dataclasses import dataclass
from enum import Enum


class Gesture(Enum):
    PRESS = "press"
    DOUBLE_PRESS = "double press"
    """A second press released within `double_press_s` of the first: the first still counts as a PRESS."""
    HOLD = "hold"
    LONG_HOLD = "long hold"
    """The same contact as a HOLD, still down `long_hold_s` after the press: in the ready state, shut down."""


@dataclass(frozen=True)
class GestureEvent:
    gesture: Gesture
    at: float
    """time.monotonic() when the gesture was recognised."""


class GestureDetector:
    """Pure edge logic: feed it pressed/held/released with times; it answers with gestures.

    A press counts on release (so it can be told from a hold); with `double_press_s`, a press released that soon
    after the one before counts as a DOUBLE_PRESS instead (a third press starts over). A hold counts at the first
    hold signal; with `long_hold_s`, a later hold signal (gpiozero repeats them while the button stays down) at
    least that long after the press is one LONG_HOLD, after the HOLD of the same contact. Tolerated bounce: a
    contact shorter than `min_press_s`, a release with no press, a second press with no release between (the lost
    release is forgiven), a hold signal when the button is not down, and a release after a hold.
    """

    def __init__(
        self, min_press_s: float = 0.03, long_hold_s: float | None = None, double_press_s: float | None = None
    ):
        self.min_press_s = min_press_s
        self.long_hold_s = long_hold_s
        self.double_press_s = double_press_s
        self._pressed_at: float | None = None  # release of the last PRESS that may begin a double press
        self._down_at: float | None = None
        self._held = False
        self._held_long = False

    def pressed(self, at: float) -> None:
        self._down_at, self._held, self._held_long = at, False, False

    def held(self, at: float) -> GestureEvent | None:
        if self._down_at is None or self._held_long:
            return None
        if not self._held:
            self._held, self._pressed_at = True, None
            return GestureEvent(Gesture.HOLD, at)
        if self.long_hold_s is not None and at - self._down_at >= self.long_hold_s:
            self._held_long = True
            return GestureEvent(Gesture.LONG_HOLD, at)
        return None

    def released(self, at: float) -> GestureEvent | None:
        down_at, held = self._down_at, self._held
        self._down_at, self._held, self._held_long = None, False, False
        if down_at is None or held or at - down_at < self.min_press_s:
            return None
        if (
            self.double_press_s is not None
            and self._pressed_at is not None
            and at - self._pressed_at <= self.double_press_s
        ):
            self._pressed_at = None
            return GestureEvent(Gesture.DOUBLE_PRESS, at)
        self._pressed_at = at
        return GestureEvent(Gesture.PRESS, at)
