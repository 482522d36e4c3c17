"""The microphone's stream holds a second of audio, so a stalled process loses none of an answer."""

import sounddevice as sd

from audio import microphone
from audio.microphone import CAPTURE_BUFFER_S, SoundDeviceMicrophone


class RecordedStream:
    """Opens and starts like a PortAudio stream, keeping what it was asked for."""

    settings: dict = {}

    def __init__(self, **settings):
        RecordedStream.settings = settings

    def start(self):
        """Nothing to run."""

    def abort(self):
        """Nothing is running."""

    def close(self):
        """Nothing to free."""


def test_the_microphone_asks_for_a_buffer_that_outlasts_a_stall(monkeypatch):
    monkeypatch.setattr(microphone, "find_device", lambda name, kind, portaudio=None: 0)
    monkeypatch.setattr(microphone, "pick_rate", lambda index, kind, rate, dtype, portaudio=None: 48000)
    monkeypatch.setattr(sd, "InputStream", RecordedStream)
    mic = SoundDeviceMicrophone()
    mic.start(lambda samples: None, lambda reason: None)
    mic.stop()
    assert RecordedStream.settings["blocksize"] == 4800, "chunks still come every 0.1 s"
    assert RecordedStream.settings["latency"] == CAPTURE_BUFFER_S >= 1.0
