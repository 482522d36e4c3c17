"""The status LED's patterns, read back from gpiozero's MockFactory pin state history."""

import time
import warnings

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory, MockPWMPin

from common.errors import DegradedWarning
from device.flow.events import Event, EventKind, Phase
from device.flow.status_led import (
    ERROR_PATTERN,
    ERROR_STEP,
    FAST_BLINK,
    HEARTBEAT,
    SHUTDOWN_BLINK,
    SHUTDOWN_FADE_SECONDS,
    SLOW_BLINK,
    StatusLed,
)

pytestmark = pytest.mark.serial  # gpiozero's blink threads run in real time, checked to 50 ms: on a quiet machine

WATCH_SECONDS = 3.3
PHASE_PINS = dict(zip(Phase, range(17, 17 + len(Phase))))


def watch(factory: MockFactory) -> dict[Phase, list]:
    """Show every phase on its own LED at once, watch for a while, return each pin's state history."""
    leds = {phase: StatusLed(pin, pin_factory=factory) for phase, pin in PHASE_PINS.items()}
    for phase, led in leds.items():
        factory.pin(PHASE_PINS[phase]).clear_states()
        led.show(phase)
    time.sleep(WATCH_SECONDS)
    histories = {phase: list(factory.pin(PHASE_PINS[phase]).states) for phase in leds}
    for led in leds.values():
        led.close()
    return histories


def runs(states: list) -> list[tuple[float, float]]:
    """(level, seconds held) for each complete run, leaving out the run still going at the end."""
    return [(level, nxt.timestamp) for (_, level), nxt in zip(states[1:], states[2:])]


@pytest.fixture(scope="module")
def pwm_histories():
    return watch(MockFactory(pin_class=MockPWMPin))


@pytest.fixture(scope="module")
def plain_histories():
    return watch(MockFactory())


def test_a_pwm_capable_pin_gets_a_pwm_led_and_a_plain_one_an_led_with_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert StatusLed(4, pin_factory=MockFactory(pin_class=MockPWMPin)).pwm
    with pytest.warns(DegradedWarning, match="cannot dim"):
        assert not StatusLed(4, pin_factory=MockFactory()).pwm


def test_speaking_is_steady_full_brightness(pwm_histories, plain_histories):
    assert [s.state for s in pwm_histories[Phase.SPEAKING]] == [0.0, 1.0]
    assert [s.state for s in plain_histories[Phase.SPEAKING]] == [False, True]


def test_replaying_is_steady_and_dim_on_pwm(pwm_histories, plain_histories):
    assert [s.state for s in pwm_histories[Phase.REPLAYING]] == [0.0, 0.3]
    assert [s.state for s in plain_histories[Phase.REPLAYING]] == [False, True]


def test_ready_breathes_on_pwm(pwm_histories):
    levels = [s.state for s in pwm_histories[Phase.READY]]
    peak = levels.index(1.0)
    assert len({lvl for lvl in levels if 0 < lvl < 1}) >= 60
    assert levels[1:peak] == sorted(levels[1:peak])
    assert levels[peak : peak + 30] == sorted(levels[peak : peak + 30], reverse=True)
    assert 1.3 <= sum(s.timestamp for s in pwm_histories[Phase.READY][1 : peak + 1]) <= 1.9


def assert_pattern(states: list, expected: list[tuple[float, float]]) -> None:
    """gpiozero's own timing check (MockPin.assert_states_and_times), on a history at least as long as expected."""
    assert len(states) >= len(expected), states
    pin = MockFactory().pin(4)
    pin.states = states
    pin.assert_states_and_times(expected)


def blinking(on_s: float, off_s: float, cycles: int) -> list[tuple[float, float]]:
    """(seconds since the last change, level) of an LED that starts off, lights at once, then blinks."""
    return [(0.0, 0), (0.0, 1)] + [step for _ in range(cycles) for step in ((on_s, 0), (off_s, 1))]


def test_ready_is_a_heartbeat_flash_on_a_plain_pin(plain_histories):
    assert_pattern(plain_histories[Phase.READY], blinking(*HEARTBEAT, cycles=1))


@pytest.mark.parametrize("histories", ["pwm_histories", "plain_histories"])
def test_listening_is_a_slow_blink(histories, request):
    assert_pattern(request.getfixturevalue(histories)[Phase.LISTENING], blinking(*SLOW_BLINK, cycles=1))


@pytest.mark.parametrize("histories", ["pwm_histories", "plain_histories"])
def test_saving_is_a_fast_blink(histories, request):
    assert_pattern(request.getfixturevalue(histories)[Phase.SAVING], blinking(*FAST_BLINK, cycles=5))


@pytest.mark.parametrize("histories", ["pwm_histories", "plain_histories"])
def test_error_is_a_repeating_triple_flash(histories, request):
    flash, pause = ERROR_STEP, ERROR_STEP * ERROR_PATTERN.count(0) - 2 * ERROR_STEP
    triple = [(flash, 0), (flash, 1), (flash, 0), (flash, 1), (flash, 0)]
    assert_pattern(
        request.getfixturevalue(histories)[Phase.ERROR], [(0.0, 0), (0.0, 1)] + triple + [(pause, 1)] + triple
    )


def test_the_patterns_differ_from_each_other(pwm_histories, plain_histories):
    def signature(states):
        levels = frozenset(round(float(s.state), 2) for s in states)
        return frozenset(round(seconds, 1) for _, seconds in runs(states)), levels

    pwm = [signature(pwm_histories[phase]) for phase in Phase]
    assert len(set(pwm)) == len(Phase)
    shown_by_plain = [Phase.READY, Phase.SPEAKING, Phase.LISTENING, Phase.SAVING, Phase.ERROR]
    assert len({signature(plain_histories[phase]) for phase in shown_by_plain}) == len(shown_by_plain)


def test_showing_the_same_phase_again_does_not_restart_it():
    factory = MockFactory()
    led = StatusLed(5, pin_factory=factory)
    factory.pin(5).clear_states()
    led.show(Phase.LISTENING)
    time.sleep(0.3)  # time passing, as in a session: the listening event comes again
    led.show(Phase.LISTENING)
    time.sleep(0.9)
    led.close()
    factory.pin(5).assert_states_and_times([(0.0, False), (0.0, True), (SLOW_BLINK[0], False)])


def test_on_event_follows_the_session():
    factory = MockFactory()
    led = StatusLed(6, pin_factory=factory)
    led.on_event(Event(EventKind.QUESTION, question=1))
    assert led.phase is Phase.SPEAKING and factory.pin(6).state
    led.on_event(Event(EventKind.MICROPHONE_LOST))
    assert led.phase is Phase.ERROR
    led.close()


def test_close_turns_it_off_and_frees_the_pin():
    factory = MockFactory(pin_class=MockPWMPin)
    led = StatusLed(7, pin_factory=factory)
    led.show(Phase.ERROR)
    time.sleep(0.05)
    led.close()
    assert factory.pin(7).state == 0
    LED(7, pin_factory=factory).close()


def test_shutting_down_is_a_fast_fade_on_pwm(pwm_histories):
    states = pwm_histories[Phase.SHUTTING_DOWN]
    levels = [s.state for s in states]
    peaks = [n for n, level in enumerate(levels) if level == 1.0]
    assert len({lvl for lvl in levels if 0 < lvl < 1}) >= 10  # a fade, not a blink
    assert len(peaks) >= 5  # a breath every half second over the 3.3 s watched: fast, beside ready's 3 s
    assert sum(s.timestamp for s in states[1 : peaks[0] + 1]) == pytest.approx(SHUTDOWN_FADE_SECONDS, abs=0.1)


def test_shutting_down_is_a_flicker_on_a_plain_pin_unlike_every_other_pattern(plain_histories):
    assert_pattern(plain_histories[Phase.SHUTTING_DOWN], blinking(*SHUTDOWN_BLINK, cycles=10))
    assert SHUTDOWN_BLINK not in (HEARTBEAT, SLOW_BLINK, FAST_BLINK)


def test_the_shutting_down_event_shows_it_and_closing_puts_the_light_out():
    factory = MockFactory(pin_class=MockPWMPin)
    led = StatusLed(8, pin_factory=factory)
    led.on_event(Event(EventKind.SHUTTING_DOWN))
    time.sleep(0.1)
    assert led.phase is Phase.SHUTTING_DOWN and 0 < factory.pin(8).state < 1
    led.close()
    assert factory.pin(8).state == 0
