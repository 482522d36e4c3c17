"""Button gestures: a short press is one PRESS, a hold is one HOLD and never also a PRESS, bounce is ignored."""

import queue

import pytest
from gpiozero.pins.mock import MockFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from device.flow.button import ButtonGestures
from device.flow.gestures import Gesture, GestureDetector, GestureEvent
from tests.skipping_clock import SkippingClock

PIN = 17


def feed(detector: GestureDetector, steps) -> list[tuple[str, float, GestureEvent | None]]:
    """Run (edge, time) steps through `detector`; every step with what it answered."""
    answered = []
    for edge, at in steps:
        answered.append((edge, at, getattr(detector, edge)(at)))
    return answered


def gestures(answered) -> list[Gesture]:
    return [event.gesture for _, _, event in answered if event is not None]


def test_a_press_counts_on_release_at_the_release_time():
    detector = GestureDetector(min_press_s=0.25)
    assert detector.pressed(1.0) is None
    assert detector.released(1.5) == GestureEvent(Gesture.PRESS, 1.5)


def test_pressed_held_released_gives_one_hold_at_the_hold_time_and_nothing_on_release():
    detector = GestureDetector(min_press_s=0.25)
    detector.pressed(1.0)
    assert detector.held(3.0) == GestureEvent(Gesture.HOLD, 3.0)
    assert detector.released(3.5) is None


def test_a_press_of_exactly_the_minimum_counts_and_a_shorter_one_is_bounce():
    detector = GestureDetector(min_press_s=0.25)
    detector.pressed(1.0)
    assert detector.released(1.25) == GestureEvent(Gesture.PRESS, 1.25)
    detector.pressed(2.0)
    assert detector.released(2.125) is None


def test_the_default_minimum_press_is_30_ms():
    detector = GestureDetector()
    detector.pressed(0.0)
    assert detector.released(0.03) is not None
    detector.pressed(0.0)
    assert detector.released(0.029) is None


def test_a_bounce_too_short_to_count_does_not_spoil_the_next_press():
    detector = GestureDetector(min_press_s=0.25)
    answered = feed(detector, [("pressed", 0.0), ("released", 0.125), ("pressed", 1.0), ("released", 2.0)])
    assert gestures(answered) == [Gesture.PRESS]


def test_a_release_with_no_press_and_a_hold_with_no_press_give_nothing():
    detector = GestureDetector(min_press_s=0.25)
    assert detector.released(5.0) is None
    assert detector.held(6.0) is None
    assert detector.released(9.0) is None


def test_a_second_release_after_a_press_gives_nothing():
    detector = GestureDetector(min_press_s=0.25)
    assert gestures(feed(detector, [("pressed", 0.0), ("released", 1.0), ("released", 2.0)])) == [Gesture.PRESS]


def test_a_second_hold_signal_in_one_hold_is_ignored():
    detector = GestureDetector(min_press_s=0.25)
    answered = feed(detector, [("pressed", 0.0), ("held", 2.0), ("held", 4.0), ("released", 5.0)])
    assert gestures(answered) == [Gesture.HOLD]


def test_a_lost_release_is_forgiven_the_second_press_starts_afresh():
    detector = GestureDetector(min_press_s=0.25)
    answered = feed(detector, [("pressed", 0.0), ("held", 2.0), ("pressed", 3.0), ("released", 4.0)])
    assert gestures(answered) == [Gesture.HOLD, Gesture.PRESS]
    # the press is timed from the second press: 3.0 -> 3.125 is bounce
    assert gestures(feed(detector, [("pressed", 0.0), ("pressed", 3.0), ("released", 3.125)])) == []


def test_a_new_press_after_a_hold_can_be_held_again():
    detector = GestureDetector(min_press_s=0.25)
    answered = feed(
        detector,
        [("pressed", 0.0), ("held", 2.0), ("released", 2.5), ("pressed", 3.0), ("held", 5.0), ("released", 5.5)],
    )
    assert gestures(answered) == [Gesture.HOLD, Gesture.HOLD]


# Any edges at any non-decreasing times, bounce included.
EDGES = st.lists(
    st.tuples(
        st.sampled_from(["pressed", "held", "released"]), st.sampled_from([0.0, 0.01, 0.02, 0.03, 0.05, 0.5, 2.0])
    ),
    max_size=30,
)


def timed(edges) -> list[tuple[str, float]]:
    steps, now = [], 0.0
    for edge, gap in edges:
        now += gap
        steps.append((edge, now))
    return steps


@settings(max_examples=150, deadline=None)
@given(EDGES)
def test_any_edge_sequence_a_hold_is_one_hold_and_never_a_press(edges):
    """Between two presses there is at most one gesture; a held contact gives HOLD (once) and never PRESS."""
    answered = feed(GestureDetector(), timed(edges))
    down_at, held = None, False
    for edge, at, event in answered:
        if edge == "pressed":
            assert event is None
            down_at, held = at, False
        elif edge == "held":
            if down_at is None or held:
                assert event is None
            else:
                assert event == GestureEvent(Gesture.HOLD, at)
                held = True
        else:
            if down_at is not None and not held and at - down_at >= 0.03:
                assert event == GestureEvent(Gesture.PRESS, at)
            else:
                assert event is None
            down_at, held = None, False


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["pressed", "held"]), max_size=6), st.integers(0, 3), st.integers(0, 3))
def test_a_contact_that_was_held_never_yields_a_press(bounce, extra_holds, extra_releases):
    """Whatever bounced before, pressed -> held -> released (with repeats) gives exactly [HOLD]."""
    detector = GestureDetector()
    feed(detector, [(edge, 0.0) for edge in bounce] + [("released", 0.0)])
    steps = [("pressed", 1.0)] + [("held", 3.0)] * (1 + extra_holds) + [("released", 4.0)] * (1 + extra_releases)
    assert gestures(feed(detector, steps)) == [Gesture.HOLD]


class MockButton:
    """ButtonGestures on gpiozero's MockFactory; gestures arrive on a queue."""

    def __init__(self, hold_s: float):
        self.factory = MockFactory()
        self.inbox: queue.Queue = queue.Queue()
        self.button = ButtonGestures(PIN, hold_s, self.inbox.put, pin_factory=self.factory)
        self.pin = self.factory.pin(PIN)

    def drained(self) -> list[str]:
        found = []
        while not self.inbox.empty():
            found.append(self.inbox.get_nowait().gesture.value)
        return found

    def close(self):
        self.button.close()
        self.factory.reset()


def test_a_hold_on_the_real_gpiozero_button_gives_hold_and_no_press():
    button = MockButton(hold_s=0.05)
    try:
        for _ in range(2):
            button.pin.drive_low()
            first = button.inbox.get(timeout=5)  # gpiozero's hold thread fires when_held
            button.pin.drive_high()  # the mock pin calls when_released before returning
            assert [first.gesture.value, *button.drained()] == ["hold"]
    finally:
        button.close()


def test_a_press_on_the_real_gpiozero_button_gives_press():
    button = MockButton(hold_s=5.0)
    button.button.detector = GestureDetector(min_press_s=0.0)  # no waiting out the bounce minimum
    try:
        button.pin.drive_low()
        button.pin.drive_high()
        button.pin.drive_high()  # a stray second release
        assert button.drained() == ["press"]
    finally:
        button.close()


# The long hold: in the ready state, kept down to `long_hold_s`, it shuts the device down (safe to unplug).


def test_a_hold_kept_down_gives_one_long_hold_at_the_first_hold_signal_past_the_long_hold_time():
    detector = GestureDetector(long_hold_s=10.0)
    answered = feed(
        detector,
        [
            ("pressed", 1.0),
            ("held", 3.0),
            ("held", 5.0),
            ("held", 7.0),
            ("held", 9.0),
            ("held", 11.0),
            ("held", 13.0),
            ("released", 14.0),
        ],
    )
    assert [event for _, _, event in answered if event] == [
        GestureEvent(Gesture.HOLD, 3.0),
        GestureEvent(Gesture.LONG_HOLD, 11.0),
    ]


def test_a_hold_released_before_the_long_hold_time_is_only_a_hold():
    detector = GestureDetector(long_hold_s=10.0)
    answered = feed(detector, [("pressed", 0.0), ("held", 2.0), ("held", 4.0), ("held", 9.99), ("released", 10.5)])
    assert gestures(answered) == [Gesture.HOLD]


def test_the_long_hold_is_timed_from_the_press_of_its_own_contact():
    detector = GestureDetector(long_hold_s=10.0)
    answered = feed(
        detector,
        [
            ("pressed", 0.0),
            ("held", 2.0),
            ("released", 3.0),
            ("pressed", 4.0),
            ("held", 6.0),
            ("held", 12.0),
            ("held", 14.0),
        ],
    )
    assert [event for _, _, event in answered if event] == [
        GestureEvent(Gesture.HOLD, 2.0),
        GestureEvent(Gesture.HOLD, 6.0),
        GestureEvent(Gesture.LONG_HOLD, 14.0),
    ]
    # a lost release: the second press starts the count again
    detector = GestureDetector(long_hold_s=10.0)
    assert gestures(feed(detector, [("pressed", 0.0), ("held", 2.0), ("pressed", 5.0), ("held", 11.0)])) == [
        Gesture.HOLD,
        Gesture.HOLD,
    ]


def test_without_a_long_hold_time_a_hold_kept_down_forever_is_one_hold():
    answered = feed(GestureDetector(), [("pressed", 0.0)] + [("held", 2.0 * n) for n in range(1, 30)])
    assert gestures(answered) == [Gesture.HOLD]


@settings(max_examples=150, deadline=None)
@given(EDGES)
def test_any_edge_sequence_a_long_hold_follows_the_hold_of_its_contact_once_and_late_enough(edges):
    answered = feed(GestureDetector(long_hold_s=3.0), timed(edges))
    down_at, seen = None, []
    for edge, at, event in answered:
        if edge == "pressed":
            down_at, seen = at, []
        if event is not None:
            seen.append(event.gesture)
            if event.gesture is Gesture.LONG_HOLD:
                assert edge == "held" and at - down_at >= 3.0 and seen == [Gesture.HOLD, Gesture.LONG_HOLD]
        if edge == "released":
            down_at, seen = None, []


def test_the_real_gpiozero_button_kept_down_gives_hold_then_long_hold_and_no_press():
    factory = MockFactory()
    inbox: queue.Queue = queue.Queue()
    button = ButtonGestures(PIN, 0.05, inbox.put, pin_factory=factory, long_hold_s=0.3)
    pin = factory.pin(PIN)
    try:
        pin.drive_low()
        first = inbox.get(timeout=5)
        second = inbox.get(timeout=5)  # gpiozero repeats its hold signal while the button is down
        pin.drive_high()
        assert (first.gesture, second.gesture) == (Gesture.HOLD, Gesture.LONG_HOLD)
        assert second.at - first.at >= 0.3 - 0.05 - 0.01
        assert inbox.empty()
    finally:
        button.close()
        factory.reset()


def test_on_a_clock_the_test_moves_the_real_button_gives_the_ten_second_long_hold_at_once():
    """gpiozero's own hold signal, timed on the injected clock: the device's 10 s long hold without the 10 s."""
    factory, clock = MockFactory(), SkippingClock()
    inbox: queue.Queue = queue.Queue()
    button = ButtonGestures(PIN, 0.05, inbox.put, pin_factory=factory, long_hold_s=10.0, clock=clock)
    pin = factory.pin(PIN)
    try:
        pin.drive_low()
        first = inbox.get(timeout=5)
        clock.advance(10.0)  # the next hold signal (0.05 s on) comes 10 s after the press, on this clock
        second = inbox.get(timeout=5)
        pin.drive_high()
        assert (first.gesture, second.gesture) == (Gesture.HOLD, Gesture.LONG_HOLD)
        assert second.at - first.at >= 10.0
        assert inbox.empty()
    finally:
        button.close()
        factory.reset()


def test_the_real_gpiozero_button_released_before_the_long_hold_gives_only_the_hold():
    factory = MockFactory()
    inbox: queue.Queue = queue.Queue()
    button = ButtonGestures(PIN, 0.05, inbox.put, pin_factory=factory, long_hold_s=1.0)
    pin = factory.pin(PIN)
    try:
        pin.drive_low()
        assert inbox.get(timeout=5).gesture is Gesture.HOLD
        pin.drive_high()
        with pytest.raises(queue.Empty):
            inbox.get(timeout=1.2)
    finally:
        button.close()
        factory.reset()


def press(detector: GestureDetector, down: float, up: float):
    detector.pressed(down)
    return detector.released(up)


def test_a_second_press_released_within_the_window_is_a_double_press_and_a_third_starts_over():
    detector = GestureDetector(min_press_s=0.03, double_press_s=0.5)
    assert press(detector, 1.0, 1.125) == GestureEvent(Gesture.PRESS, 1.125)
    assert press(detector, 1.5, 1.625) == GestureEvent(Gesture.DOUBLE_PRESS, 1.625)  # exactly 0.5 s after: inside
    assert press(detector, 1.75, 1.875) == GestureEvent(Gesture.PRESS, 1.875)


def test_a_second_press_released_after_the_window_is_a_press():
    detector = GestureDetector(min_press_s=0.03, double_press_s=0.5)
    assert press(detector, 1.0, 1.125) == GestureEvent(Gesture.PRESS, 1.125)
    assert press(detector, 1.5, 1.75) == GestureEvent(Gesture.PRESS, 1.75)  # 0.625 s after: outside
    assert press(detector, 2.0, 2.25) == GestureEvent(Gesture.DOUBLE_PRESS, 2.25)


def test_a_hold_between_two_presses_keeps_them_apart_and_without_a_window_no_press_is_double():
    detector = GestureDetector(min_press_s=0.03, double_press_s=0.5)
    assert press(detector, 1.0, 1.125) == GestureEvent(Gesture.PRESS, 1.125)
    detector.pressed(1.25)
    assert detector.held(1.375) == GestureEvent(Gesture.HOLD, 1.375)
    assert detector.released(1.5) is None
    assert press(detector, 1.5, 1.625) == GestureEvent(Gesture.PRESS, 1.625)
    plain = GestureDetector(min_press_s=0.03)
    assert [press(plain, t, t + 0.125) for t in (1.0, 1.25)] == [
        GestureEvent(Gesture.PRESS, 1.125),
        GestureEvent(Gesture.PRESS, 1.375),
    ]
