"""A microphone fed by code (the demo's simulated person): queued speech comes out in real time, silence otherwise."""

import threading
import time

import numpy as np

from audio.microphone import OnChunk, OnError


class SimulatedMicrophone:
    """Delivers chunks at the pace of a real microphone from one background thread while started."""

    def __init__(self, rate: int = 16000, chunk_s: float = 0.1):
        self.rate = rate
        self.chunk = max(1, int(rate * chunk_s))
        self.chunk_s = self.chunk / rate
        self._lock = threading.Lock()
        self._pending = np.empty(0, dtype=np.int16)
        self._drained = threading.Event()
        self._drained.set()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def speak(self, samples: np.ndarray) -> None:
        """Queue int16 speech at this microphone's rate and wait until it has all been delivered."""
        with self._lock:
            self._pending = np.concatenate([self._pending, samples.astype(np.int16)])
            self._drained.clear()
        self._drained.wait()

    def start(self, on_chunk: OnChunk, on_error: OnError) -> None:
        self._stopped.clear()
        self._thread = threading.Thread(target=self._deliver, args=(on_chunk,), name="simulated-mic", daemon=True)
        self._thread.start()

    def _deliver(self, on_chunk: OnChunk) -> None:
        next_at = time.monotonic()
        while not self._stopped.is_set():
            with self._lock:
                chunk, self._pending = self._pending[: self.chunk], self._pending[self.chunk :]
                if not len(self._pending):
                    self._drained.set()
            if len(chunk) < self.chunk:
                chunk = np.concatenate([chunk, np.zeros(self.chunk - len(chunk), dtype=np.int16)])
            on_chunk(chunk)
            next_at += self.chunk_s
            self._stopped.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
