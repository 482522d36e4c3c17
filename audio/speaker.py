"""Sound out: the Speaker seam and its PortAudio implementation (one stream kept open)."""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np

from audio.clips import Clip
from audio.devices import find_device, pick_rate

log = logging.getLogger(__name__)

OUTPUT_STALL_S = 0.5
"""A longer wait between two output callbacks means the audio stream stalled (logged as a warning)."""
OUTPUT_LATENCY_S = 0.04
"""Sound queued ahead of the device: enough to ride out a 40 ms scheduling hiccup while Vosk keeps the cores
busy. PortAudio's "low" (about 9 ms) ran dry 15-20 times in 10 s on the test rig's virtual machine, and at 20 ms
a fresh-clone CI run (2026-12-07) had three rig tests fail on underruns. PortAudio calls back every 10 ms here,
so a clip handed over waits about 5 ms for its first callback; a press is heard within about 45 ms."""


class Speaker(Protocol):
    rate: int

    def play(self, clip: Clip, on_done: Callable[[], None]) -> "Sounding":
        """Start playing `clip` at once (dropping any clip playing or queued); `on_done` when it has all gone out."""

    def play_next(self, clip: Clip, on_done: Callable[[], None]) -> "Sounding":
        """Play `clip` the moment the current clip ends, with no gap (at once if none is playing)."""

    def skip(self) -> None:
        """End the current clip now, as if it had played out (its `on_done` is called), and go on to the next."""

    def stop(self) -> None:
        """Silence the current clip and drop the queued ones; their `on_done` are not called."""

    def overlay(self, clip: Clip) -> None:
        """Mix a short clip into whatever plays now (or play it alone): nothing waits for it, nothing it stops."""

    def close(self) -> None: ...


@dataclass(eq=False)
class Sounding:
    """A clip handed to the speaker, and when its first sample went out."""

    samples: np.ndarray
    on_done: Callable[[], None]
    first_sample_at: float | None = None
    """time.monotonic() of the PortAudio callback that took its first sample (None while it has not, and on a
    speaker with no real output)."""
    first_frame: int | None = None
    """Where its first sample is in the stream (frames since the stream opened): the silence between two
    clips is the difference, less the first clip's length."""


class SoundDeviceSpeaker:
    """Plays clips through one PortAudio output stream that stays open, so a press is heard at once."""

    def __init__(self, device: str = "", rate: int = 0):
        import sounddevice as sd

        index = find_device(device, "output")
        self.rate = pick_rate(index, "output", rate, "float32")
        self._lock = threading.Lock()
        self._queue: deque[Sounding] = deque()  # the first one is playing
        self._position = 0
        self._overlay: np.ndarray | None = None  # a short clip mixed over the queue (see overlay)
        self._frames_out = 0
        self._last_fill_at: float | None = None
        self._stream = sd.OutputStream(
            device=index,
            samplerate=self.rate,
            channels=1,
            dtype="float32",
            latency=OUTPUT_LATENCY_S,
            callback=self._fill,
        )
        try:
            self._stream.start()
        except BaseException:
            self._stream.close()
            raise

    def play(self, clip: Clip, on_done: Callable[[], None]) -> Sounding:
        sounding = Sounding(clip.at_rate(self.rate).samples, on_done)
        with self._lock:
            self._queue.clear()
            self._queue.append(sounding)
            self._position = 0
        return sounding

    def play_next(self, clip: Clip, on_done: Callable[[], None]) -> Sounding:
        sounding = Sounding(clip.at_rate(self.rate).samples, on_done)
        with self._lock:
            self._queue.append(sounding)
        return sounding

    def skip(self) -> None:
        with self._lock:
            if not self._queue:
                return
            skipped = self._queue.popleft()
            self._position = 0
        skipped.on_done()

    def stop(self) -> None:
        with self._lock:
            self._queue.clear()

    def overlay(self, clip: Clip) -> None:
        with self._lock:
            self._overlay = clip.at_rate(self.rate).samples

    def _fill(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        finished = []
        called_at = time.monotonic()
        filled = 0
        with self._lock:
            if self._last_fill_at is not None and called_at - self._last_fill_at > OUTPUT_STALL_S:
                log.warning("audio output stalled: no output callback for %.1f s", called_at - self._last_fill_at)
            # Measured only from a callback that had sound to play (a stream starting up may pause first).
            self._last_fill_at = called_at if self._queue else None
            while filled < frames and self._queue:
                sounding = self._queue[0]
                if self._position == 0:
                    sounding.first_sample_at, sounding.first_frame = called_at, self._frames_out + filled
                chunk = sounding.samples[self._position : self._position + frames - filled]
                outdata[filled : filled + len(chunk), 0] = chunk
                filled += len(chunk)
                self._position += len(chunk)
                if self._position >= len(sounding.samples):
                    finished.append(self._queue.popleft())
                    self._position = 0
            self._frames_out += frames
            outdata[filled:] = 0
            if self._overlay is not None:
                mixed = self._overlay[:frames]
                outdata[: len(mixed), 0] = np.clip(outdata[: len(mixed), 0] + mixed, -1.0, 1.0)
                self._overlay = self._overlay[frames:] if len(self._overlay) > frames else None
        for sounding in finished:
            sounding.on_done()

    @property
    def active(self) -> bool:
        """False once the stream has died (audio server gone, device unplugged)."""
        return bool(self._stream.active)

    def close(self) -> None:
        """Let what was handed to the device finish playing, then close the stream."""
        self._stream.stop()
        self.stop()
        self._stream.close()


class _Timed(NamedTuple):
    seconds: float
    on_done: Callable[[], None]


class SilentSpeaker:
    """A speaker for machines with no audio output: each clip 'plays' for its real duration."""

    def __init__(self, rate: int = 22050):
        self.rate = rate
        self._lock = threading.Lock()
        self._queue: deque[_Timed] = deque()  # the first one is playing
        self._timer: threading.Timer | None = None

    def play(self, clip: Clip, on_done: Callable[[], None]) -> Sounding:
        with self._lock:
            self._drop_all()
            self._queue.append(_Timed(clip.duration_s, on_done))
            self._start_first()
        return Sounding(clip.samples, on_done)

    def play_next(self, clip: Clip, on_done: Callable[[], None]) -> Sounding:
        with self._lock:
            self._queue.append(_Timed(clip.duration_s, on_done))
            if len(self._queue) == 1:
                self._start_first()
        return Sounding(clip.samples, on_done)

    def skip(self) -> None:
        with self._lock:
            if not self._queue:
                return
            assert self._timer is not None  # a queued sound is timed
            self._timer.cancel()
            skipped = self._queue.popleft()
            self._start_first()
        skipped.on_done()

    def stop(self) -> None:
        with self._lock:
            self._drop_all()

    def overlay(self, clip: Clip) -> None:
        """Nothing to hear, and nothing waits for it."""

    def _drop_all(self) -> None:
        if self._timer:
            self._timer.cancel()
        self._queue.clear()

    def _start_first(self) -> None:
        if self._queue:
            playing = self._queue[0]
            self._timer = threading.Timer(playing.seconds, self._finished, args=(playing,))
            self._timer.daemon = True
            self._timer.start()

    def _finished(self, playing: _Timed) -> None:
        with self._lock:
            if not self._queue or self._queue[0] is not playing:  # skipped or stopped as its time ran out
                return
            self._queue.popleft()
            self._start_first()
        playing.on_done()

    def close(self) -> None:
        self.stop()
