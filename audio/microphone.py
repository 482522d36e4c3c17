"""Sound in: the Microphone seam and its PortAudio implementation, whose callback only hands chunks on."""

import logging
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from audio.devices import find_device, pick_rate

log = logging.getLogger(__name__)

CAPTURE_BUFFER_S = 1.0
"""Audio the capture device holds while this process is not scheduled (PortAudio's `latency`). Chunks still come
every `chunk_s`; only a stall longer than this loses audio. PortAudio's low-latency default (two 0.1 s periods on
raw ALSA) overflowed on the Pi twin whenever its CPU was starved: 0.55 s of a 3.8 s answer lost."""

OnChunk = Callable[[np.ndarray], None]
OnError = Callable[[str], None]


class Microphone(Protocol):
    rate: int

    def start(self, on_chunk: OnChunk, on_error: OnError) -> None:
        """Begin capturing: int16 mono chunks go to `on_chunk`; a failed stream calls `on_error` once."""

    def stop(self) -> None: ...


class SoundDeviceMicrophone:
    """A PortAudio input stream at the device's native rate (or the configured one; or 48000 or 44100 where the
    device refuses that), mono int16. The recognizer is given this rate and resamples for itself."""

    def __init__(self, device: str = "", rate: int = 0, chunk_s: float = 0.1, portaudio: Any = None):
        self.index = find_device(device, "input", portaudio)
        self.rate = pick_rate(self.index, "input", rate, "int16", portaudio)
        self.chunk_frames = max(1, int(self.rate * chunk_s))
        self._stream = None

    def start(self, on_chunk: OnChunk, on_error: OnError) -> None:
        import sounddevice as sd

        def callback(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            if status.input_overflow:
                log.warning("microphone overflow: some audio was dropped by the audio system")
            on_chunk(indata[:, 0].copy())

        def finished() -> None:
            if self._stream is not None:
                on_error("the microphone stream stopped")

        stream = sd.InputStream(
            device=self.index,
            samplerate=self.rate,
            channels=1,
            dtype="int16",
            blocksize=self.chunk_frames,
            latency=CAPTURE_BUFFER_S,
            callback=callback,
            finished_callback=finished,
        )
        self._stream = stream
        try:
            stream.start()
        except BaseException:
            self._stream = None  # first, so closing it reports no loss
            stream.close()
            raise

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
            finally:
                stream.close()
