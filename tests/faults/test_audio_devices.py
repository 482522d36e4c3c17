"""Devices going away on fakes: no microphone at start, a microphone that dies or goes quiet,
a speaker that never finishes."""

import json
import logging
import time

from audio.fakes import FakeSpeaker, ScriptedMicrophone, silence, speech
from audio.microphone_watch import MicrophoneWatch, RecoveringSpeaker
from common.errors import AudioDeviceMissing
from content.phrases import PHRASES
from device.flow.events import Phase
from device.flow.session import SessionSettings
from tests.device.flow.session_harness import RATE, FakeDevice
from tests.faults.support import tiny_pack


class Devices:
    """A microphone that is missing until plugged in, and a counter of device-list rescans."""

    def __init__(self, answers):
        self.present = False
        self.rescans = 0
        self.answers = answers
        self.opened = []

    def rescan(self):
        self.rescans += 1

    def open(self):
        if not self.present:
            raise AudioDeviceMissing("No microphone found.")
        microphone = ScriptedMicrophone(self.answers, rate=RATE)
        self.opened.append(microphone)
        return microphone


def run_with(fake_device, open_microphone, settings=SessionSettings()):
    from content.packs import find_pack
    from device.flow.session import Session

    parts = fake_device.parts(None)
    parts.open_microphone = open_microphone
    notes = Session(find_pack("therapy-relationship"), parts, settings, fake_device.tmp / "data").run()
    fake_device.worker.drain()
    return notes


def test_no_microphone_is_said_then_the_next_press_rescans_and_works(fake_device, caplog):
    devices = Devices([speech(1, RATE) + [fake_device.press]] * 4)
    watch = MicrophoneWatch(devices.open, rescan=devices.rescan, clock=fake_device.clock)
    with caplog.at_level(logging.ERROR):
        assert run_with(fake_device, watch) is None
    assert fake_device.said(PHRASES.no_microphone)
    assert fake_device.events[-1].phase is Phase.READY
    assert any("no microphone" in r.getMessage() for r in caplog.records)
    assert watch.stale  # still missing: the next open re-reads the device list first

    devices.present = True
    notes = run_with(fake_device, watch)
    assert devices.rescans >= 1, "the device list was re-read before opening again"
    record = json.loads((notes.folder / "session.json").read_text())
    assert record["status"] == "complete"


def test_a_microphone_error_or_silence_marks_it_for_a_rescan(fake_device):
    devices = Devices([speech(1, RATE) + [ScriptedMicrophone.LOSE]])
    devices.present = True
    watch = MicrophoneWatch(devices.open, rescan=devices.rescan, clock=fake_device.clock)
    notes = run_with(fake_device, watch)
    assert fake_device.said(PHRASES.microphone_lost)
    assert watch.stale
    record = json.loads((notes.folder / "session.json").read_text())
    assert record["answers"][0]["ended_by"] == "mic_lost" and record["answers"][0]["audio"]

    devices.answers = [speech(1, RATE)]  # then nothing: the stream goes quiet without an error
    watch2 = MicrophoneWatch(devices.open, rescan=devices.rescan, clock=fake_device.clock)
    run_with(fake_device, watch2, SessionSettings(mic_silent_after_s=0.6))
    assert watch2.stale


def test_a_healthy_microphone_is_not_rescanned(fake_device):
    devices = Devices([speech(1, RATE) + [fake_device.press]] * 4)
    devices.present = True
    watch = MicrophoneWatch(devices.open, rescan=devices.rescan, clock=fake_device.clock)
    run_with(fake_device, watch)
    run_with(fake_device, watch)
    assert devices.rescans == 0 and not watch.stale


class DeadSpeaker(FakeSpeaker):
    """Accepts clips and never finishes them, like a speaker whose stream died silently."""

    def play(self, clip, on_done):
        self.played.append(clip)


def test_a_speaker_that_never_finishes_still_records_and_saves_and_is_logged(tmp_path, caplog):
    fake_device = FakeDevice(tmp_path, speaker=DeadSpeaker())
    try:
        with caplog.at_level(logging.WARNING):
            notes = fake_device.run(
                [speech(1, RATE) + silence(8, RATE), speech(1, RATE) + [fake_device.press]],
                pack=tiny_pack(tmp_path / "packs"),
            )
    finally:
        fake_device.close()
    record = json.loads((notes.folder / "session.json").read_text())
    assert record["status"] == "complete"
    assert all(a["status"] == "answered" and a["audio"] for a in record["answers"])
    assert any("speaker did not finish" in r.getMessage() for r in caplog.records)


class Flaky:
    def __init__(self):
        self.active = True
        self.rate = 16000
        self.closed = 0

    def play(self, clip, on_done):
        on_done()

    def stop(self):
        pass

    def close(self):
        self.closed += 1


def test_recovering_speaker_reopens_a_dead_stream_and_is_silent_meanwhile():
    opened = []
    fail = [False]

    def open_speaker():
        if fail[0]:
            raise OSError("no audio server")
        opened.append(Flaky())
        return opened[-1]

    speaker = RecoveringSpeaker(open_speaker, retry_s=0)
    done = []
    import numpy as np

    from audio.clips import Clip

    clip = Clip(np.zeros(10, dtype=np.float32), 16000)
    speaker.play(clip, lambda: done.append(1))
    opened[0].active = False
    fail[0] = True
    speaker.play(clip, lambda: done.append(2))  # silent fallback: finishes after the clip's length
    time.sleep(0.05)
    assert opened[0].closed == 1
    fail[0] = False
    speaker.play(clip, lambda: done.append(3))
    assert len(opened) == 2
    speaker.release()
    assert opened[1].closed == 1
    speaker.close()
    assert sorted(done) == [1, 2, 3]


def test_no_speaker_at_all_is_said_once_as_a_warning_however_often_it_is_tried_again(caplog):
    import numpy as np

    from audio.clips import Clip

    def open_speaker():
        raise AudioDeviceMissing("No speaker found.")

    clip = Clip(np.zeros(10, dtype=np.float32), 16000)
    with caplog.at_level(logging.DEBUG, logger="audio.microphone_watch"):
        speaker = RecoveringSpeaker(open_speaker, retry_s=0)
        for _ in range(6):
            speaker.play(clip, lambda: None)  # each play tries the speaker again
        speaker.close()
    said = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelno for r in said] == [logging.WARNING]
    assert "no speaker" in said[0].getMessage() and "No speaker found." in said[0].getMessage()


def test_a_speaker_that_comes_back_and_goes_again_is_said_again(caplog):
    import numpy as np

    from audio.clips import Clip

    present = [False]
    opened = []

    def open_speaker():
        if not present[0]:
            raise AudioDeviceMissing("No speaker found.")
        opened.append(Flaky())
        return opened[-1]

    clip = Clip(np.zeros(10, dtype=np.float32), 16000)
    with caplog.at_level(logging.INFO, logger="audio.microphone_watch"):
        speaker = RecoveringSpeaker(open_speaker, retry_s=0)
        speaker.play(clip, lambda: None)
        present[0] = True
        speaker.play(clip, lambda: None)
        present[0] = False
        opened[0].active = False
        speaker.play(clip, lambda: None)
        speaker.play(clip, lambda: None)
        speaker.close()
    messages = [(r.levelname, r.getMessage().split(" (")[0].split(";")[0]) for r in caplog.records]
    assert messages == [
        ("WARNING", "no speaker"),
        ("INFO", "speaker ready"),
        ("WARNING", "the speaker stopped working"),
        ("WARNING", "no speaker"),
    ]
