"""The optional status LED: one visibly different pattern per session phase."""

import warnings
from itertools import cycle

from gpiozero import LED, PWMLED
from gpiozero.exc import PinPWMUnsupported

from common.errors import DegradedWarning
from device.flow.events import Event, Phase

BREATHE_SECONDS = 1.5
"""Ready on a PWM pin: fade in and out over this long each, a slow breath."""
HEARTBEAT = (0.1, 1.9)
"""Ready on a plain pin: a short flash every two seconds (on, off seconds)."""
SLOW_BLINK = (1.0, 1.0)
"""Listening: one second on, one second off."""
FAST_BLINK = (0.2, 0.2)
"""Saving: five flashes a second."""
REPLAY_LEVEL = 0.3
"""Replaying on a PWM pin: steady and dim (full brightness means speaking)."""
SHUTDOWN_FADE_SECONDS = 0.25
"""Shutting down on a PWM pin: a fast fade in and out, until the service stops and the LED goes out."""
SHUTDOWN_BLINK = (0.1, 0.1)
"""Shutting down on a plain pin: a flicker, five times a second, until the LED goes out."""
ERROR_STEP = 0.1
"""Error: the pattern below advances one value every this many seconds."""
ERROR_PATTERN = (1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)
"""Error: three rapid flashes, then a pause, repeating."""


class StatusLed:
    """An LED on `pin` that shows the current phase; dims and breathes where the pin can do PWM."""

    def __init__(self, pin: int | str, pin_factory=None):
        try:
            self._led = PWMLED(pin, pin_factory=pin_factory)
        except PinPWMUnsupported:
            warnings.warn(f"LED pin {pin} cannot dim; it blinks instead of breathing", DegradedWarning, stacklevel=2)
            self._led = LED(pin, pin_factory=pin_factory)
        self.pwm = isinstance(self._led, PWMLED)
        self.phase: Phase | None = None

    def show(self, phase: Phase) -> None:
        """Switch to the pattern for `phase`; showing the current phase again leaves it running undisturbed."""
        if phase is self.phase:
            return
        self.phase = phase
        self._led.source = None
        match phase:
            case Phase.READY if self.pwm:
                self._led.pulse(fade_in_time=BREATHE_SECONDS, fade_out_time=BREATHE_SECONDS)
            case Phase.READY:
                self._led.blink(*HEARTBEAT)
            case Phase.SPEAKING:
                self._led.on()
            case Phase.LISTENING:
                self._led.blink(*SLOW_BLINK)
            case Phase.SAVING:
                self._led.blink(*FAST_BLINK)
            case Phase.REPLAYING if self.pwm:
                self._led.value = REPLAY_LEVEL
            case Phase.REPLAYING:
                self._led.on()
            case Phase.SHUTTING_DOWN if self.pwm:
                self._led.pulse(fade_in_time=SHUTDOWN_FADE_SECONDS, fade_out_time=SHUTDOWN_FADE_SECONDS)
            case Phase.SHUTTING_DOWN:
                self._led.blink(*SHUTDOWN_BLINK)
            case Phase.ERROR:
                self._led.source_delay = ERROR_STEP
                self._led.source = cycle(ERROR_PATTERN)

    def on_event(self, event: Event) -> None:
        """Follow the session: an `on_event` callback for its events."""
        self.show(event.phase)

    def close(self) -> None:
        """Turn the LED off and release its pin."""
        self._led.close()
