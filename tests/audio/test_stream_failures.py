"""A PortAudio stream that opens but will not start is closed at once, never left open behind an error."""

import pytest
import sounddevice as sd

from audio import microphone, speaker
from audio.microphone import SoundDeviceMicrophone
from audio.speaker import SoundDeviceSpeaker


class UnstartableStream:
    """Opens like a PortAudio stream; start() fails, as it does when the audio server goes away meanwhile."""

    opened: list["UnstartableStream"] = []

    def __init__(self, **settings):
        self.closed = False
        UnstartableStream.opened.append(self)

    def start(self):
        raise sd.PortAudioError("Unanticipated host error")

    def abort(self):
        """Nothing is running."""

    def stop(self):
        """Nothing is running."""

    def close(self):
        self.closed = True


@pytest.fixture
def unstartable(monkeypatch):
    UnstartableStream.opened = []
    for module in (speaker, microphone):
        monkeypatch.setattr(module, "find_device", lambda name, kind, portaudio=None: 0)
        monkeypatch.setattr(module, "pick_rate", lambda index, kind, rate, dtype, portaudio=None: 16000)
    monkeypatch.setattr(sd, "OutputStream", UnstartableStream)
    monkeypatch.setattr(sd, "InputStream", UnstartableStream)
    return UnstartableStream.opened


def test_a_speaker_whose_stream_will_not_start_closes_it(unstartable):
    with pytest.raises(sd.PortAudioError):
        SoundDeviceSpeaker()
    assert len(unstartable) == 1 and unstartable[0].closed


def test_a_microphone_whose_stream_will_not_start_closes_it(unstartable):
    mic = SoundDeviceMicrophone()
    with pytest.raises(sd.PortAudioError):
        mic.start(lambda samples: None, lambda reason: None)
    assert len(unstartable) == 1 and unstartable[0].closed
    mic.stop()  # as the session does after a failed start: nothing is left to stop
