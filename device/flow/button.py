"""The physical button (gpiozero) and its keyboard stand-in; both only hand gestures on."""

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from common.monotonic_clock import SYSTEM_CLOCK, MonotonicClock
from device.flow.gestures import Gesture, GestureDetector, GestureEvent

OnGesture = Callable[[GestureEvent], None]


class ButtonGestures:
    """A gpiozero Button on `pin` (to ground, internal pull-up) reporting presses and holds, and with `long_hold_s`
    long holds: gpiozero then repeats its hold signal every `hold_s` while the button is down, and the first one at
    least `long_hold_s` after the press is the long hold (with a 2 s hold and a 10 s long hold: at 10 s)."""

    def __init__(
        self,
        pin: int,
        hold_s: float,
        on_gesture: OnGesture,
        pin_factory=None,
        long_hold_s: float | None = None,
        double_press_s: float | None = None,
        clock: MonotonicClock = SYSTEM_CLOCK,
    ):
        from gpiozero import Button

        self.detector = GestureDetector(long_hold_s=long_hold_s, double_press_s=double_press_s)
        self.on_gesture = on_gesture
        self.button = Button(
            pin, pull_up=True, hold_time=hold_s, hold_repeat=long_hold_s is not None, pin_factory=pin_factory
        )
        self.button.when_pressed = lambda: self.detector.pressed(clock.now())
        self.button.when_held = lambda: self._emit(self.detector.held(clock.now()))
        self.button.when_released = lambda: self._emit(self.detector.released(clock.now()))

    def _emit(self, event: GestureEvent | None) -> None:
        if event is not None:
            self.on_gesture(event)

    def close(self) -> None:
        self.button.close()


KEYBOARD_HELP = "Enter = press the button, d then Enter = press it twice, h then Enter = hold it, Ctrl-D = quit."
KEYS = {"h": Gesture.HOLD, "d": Gesture.DOUBLE_PRESS}
"""The keyboard's words for gestures besides a press: a double press is the press and then the double press."""


class KeyboardGestures:
    """The button's stand-in on a laptop: Enter is a press, 'd' + Enter a double press, 'h' + Enter a hold."""

    def __init__(self, on_gesture: OnGesture, on_eof: Callable[[], None], stream: TextIO = sys.stdin):
        self.on_gesture = on_gesture
        self.on_eof = on_eof
        self.stream = stream
        threading.Thread(target=self._read, name="keyboard", daemon=True).start()

    def _read(self) -> None:
        for line in self.stream:
            gesture = KEYS.get(line.strip().lower(), Gesture.PRESS)
            if gesture is Gesture.DOUBLE_PRESS:
                self.on_gesture(GestureEvent(Gesture.PRESS, time.monotonic()))
            self.on_gesture(GestureEvent(gesture, time.monotonic()))
        self.on_eof()

    def close(self) -> None:
        """Nothing to release: the reader thread ends with its input."""
