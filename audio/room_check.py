"""How loud is the room? The noise floor speech detection will follow, measured for `reflect doctor` and the
service's log, with what to do when it is beyond what detection handles."""

import queue
import threading
import time

import numpy as np

from audio.microphone import Microphone
from audio.voice_activity import FRAME_S, DetectorSettings, level_dbfs

LISTEN_S = 3.0
LOUDEST_HANDLED_DBFS = -35.0
"""The loudest steady room the rig's scenarios prove detection in (tests/audio/test_room_on_rig.py)."""
POLL_S = 0.1
QUIETEST_MIC_DBFS = -80.0
"""Below this even a quiet room's hiss is missing: the microphone is muted, unplugged or its gain far too low."""


def noise_floor_dbfs(samples: np.ndarray, rate: int) -> float:
    """The room's level as the detector's floor takes it: a low percentile of the 10 ms frames' levels."""
    frame = max(1, round(rate * FRAME_S))
    n = len(samples) // frame
    if n == 0:
        raise ValueError("no audio to measure")
    levels = level_dbfs(samples[: n * frame].reshape(n, frame))
    return float(np.percentile(levels, DetectorSettings().floor_percentile))


def listen(microphone: Microphone, seconds: float = LISTEN_S, stop: threading.Event | None = None) -> np.ndarray:
    """`seconds` of what `microphone` hears, or what it heard before `stop` was set (raises RuntimeError if its
    stream fails or delivers nothing). The stream is closed before this returns, on the caller's thread."""
    chunks: queue.Queue[np.ndarray | Exception] = queue.Queue()
    wanted = int(seconds * microphone.rate)
    heard, got = [np.empty(0, dtype=np.int16)], 0
    microphone.start(chunks.put, lambda reason: chunks.put(RuntimeError(reason)))
    try:
        deadline = time.monotonic() + seconds + 3.0
        while got < wanted and not (stop is not None and stop.is_set()):
            if time.monotonic() >= deadline:
                raise RuntimeError("the microphone delivered no audio")
            try:
                chunk = chunks.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if isinstance(chunk, Exception):
                raise chunk
            heard.append(chunk)
            got += len(chunk)
    finally:
        microphone.stop()
    return np.concatenate(heard)[:wanted]


def measure(microphone: Microphone, stop: threading.Event | None = None) -> tuple[str, str] | None:
    """Listen, then the verdict on the room's noise floor; None if `stop` was set first."""
    samples = listen(microphone, stop=stop)
    if stop is not None and stop.is_set():
        return None
    return verdict(noise_floor_dbfs(samples, microphone.rate))


def verdict(floor_dbfs: float) -> tuple[str, str]:
    """("OK" or "WARN", what the floor means and, when it is a problem, the fix)."""
    said = f"room noise floor {floor_dbfs:.0f} dBFS"
    if floor_dbfs > LOUDEST_HANDLED_DBFS:
        return "WARN", (
            f"{said}, louder than speech detection handles ({LOUDEST_HANDLED_DBFS:.0f} dBFS): answers may "
            "not end on their own. Move the device away from the fan, fridge or TV, or lower the "
            "microphone's gain (alsamixer)"
        )
    if floor_dbfs < QUIETEST_MIC_DBFS:
        return "WARN", (
            f"{said}: the microphone hears almost nothing, not even a quiet room's hiss. Check that it "
            "is plugged in and not muted, and raise its gain (alsamixer)"
        )
    return "OK", f"{said} (detection handles up to {LOUDEST_HANDLED_DBFS:.0f})"
