"""A session wired to fakes and gpiozero's MockFactory button, for fast flow tests."""

import atexit
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from audio.fakes import FakeRecognizer, FakeSpeaker, ScriptedMicrophone
from audio.synthesis import PromptCache
from audio.worker import Worker
from common.monotonic_clock import SYSTEM_CLOCK, MonotonicClock
from content.packs import find_pack
from device.flow.button import ButtonGestures
from device.flow.inbox import Inbox
from device.flow.parts import SessionParts
from device.flow.session import Session, SessionSettings
from tests.skipping_clock import SkippingClock

RATE = 16000
HOLD_S = 0.3
PROMPTS_DIR = Path(tempfile.mkdtemp(prefix="reflect-prompts-"))
"""One prompt cache for every FakeDevice in this test process: espeak-ng renders each text once, not once a test
(a clip is keyed by its text, voice and rate, and written by a rename, so sharing it changes no clip)."""
atexit.register(shutil.rmtree, PROMPTS_DIR, ignore_errors=True)


@dataclass
class FakeDevice:
    """Session parts plus the mock button pin to drive."""

    tmp: Path
    speaker: FakeSpeaker = field(default_factory=FakeSpeaker)
    clock: MonotonicClock = field(default_factory=SkippingClock)
    """The flow's: by default it skips every wait with nothing queued, so the flow runs faster than speech; a test
    that feeds the flow from another thread as it runs gives SYSTEM_CLOCK."""
    events: list = field(default_factory=list)

    def __post_init__(self):
        self.inbox = Inbox(clock=self.clock)
        self.factory = MockFactory()
        self.button = ButtonGestures(17, HOLD_S, self.inbox.put, pin_factory=self.factory)
        self.pin = self.factory.pin(17)
        self.worker = Worker(FakeRecognizer)
        self.prompts = PromptCache(PROMPTS_DIR)

    def press(self):
        self.pin.drive_low()
        time.sleep(0.05)
        self.pin.drive_high()

    def hold(self):
        self.pin.drive_low()
        time.sleep(HOLD_S + 0.15)
        self.pin.drive_high()

    def parts(self, microphone) -> SessionParts:
        return SessionParts(
            speaker=self.speaker,
            open_microphone=lambda: microphone,
            prompts=self.prompts,
            worker=self.worker,
            inbox=self.inbox,
            on_event=self.events.append,
        )

    def run(self, answers, settings=SessionSettings(), data_dir: Path | None = None, pack=None):
        microphone = ScriptedMicrophone(answers, rate=RATE)
        session = Session(
            pack or find_pack("therapy-relationship"), self.parts(microphone), settings, data_dir or self.tmp / "data"
        )
        notes = session.run()
        self.worker.drain()
        return notes

    def said(self, text: str) -> bool:
        """True if the device spoke `text` (its rendered clip went to the speaker)."""
        clip = self.prompts.clip(text, self.speaker.rate)
        return any(np.array_equal(played.samples, clip.samples) for played in self.speaker.played)

    def close(self):
        self.button.close()
        self.worker.close()
        self.factory.reset()


@pytest.fixture
def fake_device(tmp_path):
    """A FakeDevice in tmp_path, closed after the test (registered for every test by tests/conftest.py)."""
    device = FakeDevice(tmp_path)
    yield device
    device.close()


@pytest.fixture
def real_time_device(tmp_path):
    """A FakeDevice on the system clock, for a test that feeds the flow from another thread as it runs."""
    device = FakeDevice(tmp_path, clock=SYSTEM_CLOCK)
    yield device
    device.close()
