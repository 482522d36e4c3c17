"""The double press: told from two presses by `button.double_press_s`, on the real gpiozero button (MockFactory),
the keyboard and the control socket; in the ready state it plays a question across time instead of a session."""

import io
import queue
import time

from gpiozero.pins.mock import MockFactory

from audio.fakes import ScriptedMicrophone, silence, speech
from content.packs import find_pack
from device.config import Config
from device.flow.button import ButtonGestures, KeyboardGestures
from device.flow.control import WORDS
from device.flow.gestures import Gesture, GestureDetector, GestureEvent
from device.flow.service import Device, ServiceLoop
from device.flow.session import SessionSettings
from tests.device.flow.session_harness import RATE, FakeDevice


def released(detector: GestureDetector, *presses: tuple[float, float]) -> list[Gesture]:
    found = []
    for down, up in presses:
        detector.pressed(down)
        event = detector.released(up)
        found += [event.gesture] if event else []
    return found


def test_a_second_press_within_the_window_is_a_double_press_and_a_third_starts_over():
    detector = GestureDetector(double_press_s=0.4)
    assert released(detector, (0.0, 0.1), (0.3, 0.45), (0.6, 0.7)) == [
        Gesture.PRESS,
        Gesture.DOUBLE_PRESS,
        Gesture.PRESS,
    ]


def test_presses_further_apart_or_a_hold_between_are_single_presses():
    detector = GestureDetector(double_press_s=0.4)
    assert released(detector, (0.0, 0.1), (0.5, 0.6)) == [Gesture.PRESS, Gesture.PRESS]
    detector.pressed(1.0)
    assert detector.held(3.0).gesture is Gesture.HOLD
    detector.released(3.1)
    assert released(detector, (3.2, 3.3)) == [Gesture.PRESS]
    assert released(GestureDetector(), (0.0, 0.1), (0.2, 0.3)) == [Gesture.PRESS, Gesture.PRESS]  # no window: off


def test_the_button_reports_a_double_press_from_its_pin():
    factory = MockFactory()
    got = queue.Queue()
    button = ButtonGestures(17, 0.5, got.put, pin_factory=factory, double_press_s=Config().button.double_press_s)
    pin = factory.pin(17)
    try:
        for _ in range(2):
            pin.drive_low()
            time.sleep(0.05)
            pin.drive_high()
            time.sleep(0.05)
        assert [got.get(timeout=2).gesture for _ in range(2)] == [Gesture.PRESS, Gesture.DOUBLE_PRESS]
    finally:
        button.close()
        factory.reset()


def test_the_keyboard_and_the_control_socket_send_a_press_then_the_double_press():
    got = []
    KeyboardGestures(got.append, lambda: None, io.StringIO("d\n"))
    deadline = time.monotonic() + 2
    while len(got) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [e.gesture for e in got] == [Gesture.PRESS, Gesture.DOUBLE_PRESS]
    assert WORDS["double-press"] == (Gesture.PRESS, Gesture.DOUBLE_PRESS)


def loop_for(fake: FakeDevice, played: list, window: float = 0.3) -> ServiceLoop:
    microphone = ScriptedMicrophone([speech(0.5, RATE) + silence(1.0, RATE)] * 3, rate=RATE)
    device = Device(
        find_pack("therapy-relationship"), fake.parts(microphone), SessionSettings(audio_format="wav"), model=None
    )
    return ServiceLoop(
        device,
        fake.tmp / "data",
        replay=lambda: None,
        across_time=lambda: played.append("across time"),
        double_press_s=window,
    )


def test_in_the_ready_state_a_double_press_plays_a_question_across_time_and_starts_no_session(tmp_path):
    fake = FakeDevice(tmp_path)
    played = []
    try:
        loop = loop_for(fake, played)
        fake.inbox.put(GestureEvent(Gesture.DOUBLE_PRESS, fake.clock.now()))
        assert loop.handle(GestureEvent(Gesture.PRESS, fake.clock.now())) is None
    finally:
        fake.close()
    assert played == ["across time"]
    assert not (tmp_path / "data" / "sessions").exists()


def test_in_the_ready_state_a_lone_press_starts_a_session_once_the_window_has_passed(tmp_path):
    fake = FakeDevice(tmp_path)
    played = []
    try:
        loop = loop_for(fake, played)
        chimed = []
        play = fake.speaker.play
        fake.speaker.play = lambda clip, on_done: (chimed.append(fake.clock.now()), play(clip, on_done))
        started = fake.clock.now()
        notes = loop.handle(GestureEvent(Gesture.PRESS, started))
        fake.worker.drain()
    finally:
        fake.close()
    assert played == [] and notes is not None
    assert round(chimed[0] - started, 9) >= 0.3, "the session began before the double press could come"
