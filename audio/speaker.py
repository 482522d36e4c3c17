"""Sound out: the Speaker seam and its PortAudio implementation (one stream kept open)."""
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from audio.clips import Clip
from audio.devices import default_rate, find_device

log = logging.getLogger(__name__)


class Speaker(Protocol):
    rate: int

    def play(self, clip: Clip, on_done: Callable[[], None]) -> None:
        """Start playing `clip` at once (replacing any clip playing); `on_done` when it has all gone out."""

    def stop(self) -> None:
        """Silence the current clip; its `on_done` is not called."""

    def close(self) -> None: ...


class SoundDeviceSpeaker:
    """Plays clips through one PortAudio output stream that stays open, so a press is heard at once."""

    def __init__(self, device: str = "", rate: int = 0):
        import sounddevice as sd

        index = find_device(device, "output")
        self.rate = rate or default_rate(index)
        self._lock = threading.Lock()
        self._samples: np.ndarray | None = None
        self._position = 0
        self._on_done: Callable[[], None] | None = None
        self.first_sample_at: float | None = None
        """time.monotonic() when the current clip's first sample was handed to the device."""
        self._stream = sd.OutputStream(device=index, samplerate=self.rate, channels=1, dtype="float32",
                                       latency="low", callback=self._fill)
        self._stream.start()

    def play(self, clip: Clip, on_done: Callable[[], None]) -> None:
        samples = clip.at_rate(self.rate).samples
        with self._lock:
            self._samples, self._position, self._on_done = samples, 0, on_done
            self.first_sample_at = None

    def stop(self) -> None:
        with self._lock:
            self._samples, self._on_done = None, None

    def _fill(self, outdata, frames, time_info, status) -> None:
        done = None
        with self._lock:
            if self._samples is None:
                outdata.fill(0)
                return
            if self._position == 0:
                self.first_sample_at = time.monotonic()
            chunk = self._samples[self._position:self._position + frames]
            outdata[:len(chunk), 0] = chunk
            outdata[len(chunk):] = 0
            self._position += len(chunk)
            if self._position >= len(self._samples):
                done, self._samples, self._on_done = self._on_done, None, None
        if done:
            done()

    @property
    def active(self) -> bool:
        """False once the stream has died (audio server gone, device unplugged)."""
        return self._stream.active

    def close(self) -> None:
        """Let what was handed to the device finish playing, then close the stream."""
        self._stream.stop()
        self.stop()
        self._stream.close()


class SilentSpeaker:
    """A speaker for machines with no audio output: each clip 'plays' for its real duration."""

    def __init__(self, rate: int = 22050):
        self.rate = rate
        self._timer: threading.Timer | None = None

    def play(self, clip: Clip, on_done: Callable[[], None]) -> None:
        self.stop()
        self._timer = threading.Timer(clip.duration_s, on_done)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        if self._timer:
            self._timer.cancel()

    def close(self) -> None:
        self.stop()
