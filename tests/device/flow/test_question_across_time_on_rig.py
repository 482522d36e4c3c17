"""On the PulseAudio rig: three sessions recorded by the real device (real PortAudio, espeak-ng, Vosk), dated
across months by the clock the test sets; then a double press of the MockFactory button plays question one
across time, oldest first, each answer after its spoken date; a press skips on, a hold stops."""

import threading
import time
from datetime import date, datetime, timezone

import numpy as np
import pytest

from audio.compress import decode
from device.config import load_config
from device.flow.events import EventKind
from device.flow.gestures import Gesture
from device.flow.player import Player
from device.flow.replay import ANSWER_INTRO, Replay
from device.flow.service import ServiceLoop
from device.notes.archive import Archive
from device.notes.spoken_date import date_in_words
from device.setup.demo import MockButton
from device.setup.simulated_person import Ending, SimulatedPerson
from device.setup.wiring import build_device
from tests.faults.support import tiny_pack_dir
from tests.rig import SpeakerRecording, espeak_wav, korean_model, locate, play_into_mic

pytestmark = pytest.mark.usefixtures("audio_rig")

TODAY = date(2026, 12, 6)
SESSIONS = [  # written out of date order: the replay's order must come from the dates
    (datetime(2026, 3, 4, 19, 30, tzinfo=timezone.utc), "In March I could not say it."),
    (datetime(2026, 1, 15, 19, 30, tzinfo=timezone.utc), "In January I kept my distance."),
    (datetime(2026, 5, 20, 19, 30, tzinfo=timezone.utc), "By May I told her the truth."),
]
IN_DATE_ORDER = sorted(SESSIONS)


def as_int16(clip) -> np.ndarray:
    return (clip.samples * 32767).astype(np.int16)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The three sessions, each recorded through the device with its date set; and the device to replay them."""
    work = tmp_path_factory.mktemp("across-time")
    config = load_config(
        env={},
        overrides={
            "storage": {"data_dir": str(work / "data"), "cache_dir": str(work / "cache"), "audio_format": "flac"},
            "model": {"path": str(korean_model())},
            "content": {"packs_dir": str(tiny_pack_dir(work / "packs")), "pack": "tiny"},
            "listening": {"silence_after_speech_s": 2.0, "no_speech_s": 1.5},
            "clock": {"trust": "yes"},
        },
    )
    device = build_device(config)
    button = MockButton(config, device.parts.inbox.put)
    loop = ServiceLoop(device, config.data_dir, replay=lambda: None)
    try:
        for started, text in SESSIONS:
            wav = espeak_wav(text, work / f"{started:%m}.wav", voice="en")
            device.parts.wall_clock = lambda started=started: started
            person = SimulatedPerson(
                lambda question, wav=wav: play_into_mic(wav), button.press, button.hold, (Ending.PRESS, Ending.SKIP)
            )
            device.parts.on_event = person.on_event
            try:
                button.press()
                assert loop.handle(device.parts.inbox.get(timeout=5)) is not None
            finally:
                person.close()
        device.parts.worker.drain()
        yield config, device, button
    finally:
        button.close()
        device.close()


def replay_question(config, device, button, gestures_at: dict[int, str] | None = None):
    """Double press in the ready state and record what the speaker plays; at the nth answer's start, do the
    gesture `gestures_at[n]` ("press" or "hold") a moment later. Returns (recording, what stopped it, events)."""
    events = []
    gestures_at = gestures_at or {}
    answers_begun = []

    def on_event(event):
        events.append(event)
        if event.kind is EventKind.REPLAY_ANSWER:
            answers_begun.append(event)
            gesture = gestures_at.get(len(answers_begun))
            if gesture:
                threading.Timer(0.6, getattr(button, gesture)).start()

    stopped = []
    replay = Replay(
        Archive(config.data_dir),
        Player(device.parts.speaker, device.parts.prompts, device.parts.inbox, hears_long_hold=True),
        on_event,
        today=lambda: TODAY,
    )
    loop = ServiceLoop(
        device,
        config.data_dir,
        replay=lambda: None,
        across_time=lambda: stopped.append(replay.question()),
        double_press_s=config.button.double_press_s,
    )
    with SpeakerRecording() as recording:
        button.double_press()
        assert loop.handle(device.parts.inbox.get(timeout=5)) is None
        time.sleep(0.5 + config.button.hold_s)  # a hold's release, after the replay stopped, is heard by nobody
    while not device.parts.inbox.empty():
        device.parts.inbox.get()
    return recording, stopped, events


def saved_answers(config) -> list[tuple[np.ndarray, int]]:
    """Each session's recorded answer (samples, rate), in date order, decoded from its saved file."""
    archive = Archive(config.data_dir)
    sessions = sorted((archive.load(s.id) for s in archive.sessions()), key=lambda s: s.started_at)
    assert [s.started_at for s in sessions] == [started for started, _ in IN_DATE_ORDER]
    return [decode(s.path / s.answer(1).audio) for s in sessions]


def date_prompts(device) -> list[np.ndarray]:
    return [
        as_int16(
            device.parts.prompts.clip(
                ANSWER_INTRO.format(date=date_in_words(started, TODAY)), device.parts.speaker.rate
            )
        )
        for started, _ in IN_DATE_ORDER
    ]


def test_the_question_plays_across_time_in_date_order_with_spoken_dates(recorded):
    config, device, button = recorded
    recording, stopped, events = replay_question(config, device, button)
    assert stopped == [None]
    assert {e.phase.value for e in events} == {"replaying"}
    rate = device.parts.speaker.rate
    last = 0.0
    for spoken_date, (answer, answer_rate) in zip(date_prompts(device), saved_answers(config)):
        date_at, date_match = locate(spoken_date, rate, recording.samples, recording.RATE)
        assert date_match >= 0.8 and date_at >= last, (date_at, date_match, last)
        answer_at, answer_match = locate(answer, answer_rate, recording.samples, recording.RATE)
        assert answer_match >= 0.8 and answer_at > date_at, (answer_at, answer_match, date_at)
        last = answer_at


def test_a_press_skips_to_the_next_date_and_a_hold_stops(recorded):
    config, device, button = recorded
    recording, stopped, _ = replay_question(config, device, button, {1: "press", 2: "hold"})
    assert stopped == [Gesture.HOLD]
    rate = device.parts.speaker.rate
    first, second, third = date_prompts(device)
    assert locate(second, rate, recording.samples, recording.RATE)[1] >= 0.8
    assert locate(third, rate, recording.samples, recording.RATE)[1] < 0.5, "played on after the hold"
