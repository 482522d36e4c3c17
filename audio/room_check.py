"""How loud is the room? The noise floor speech detection will follow, measured for `reflect doctor` and the
service's log, with what to do when it is beyond what detection handles."""
import queue
import time

import numpy as np

from audio.microphone import Microphone
from audio.voice_activity import FRAME_S, DetectorSettings, level_dbfs

LISTEN_S = 3.0
LOUDEST_HANDLED_DBFS = -35.0
"""The loudest steady room the rig's scenarios prove detection in (tests/audio/test_room_on_rig.py)."""
QUIETEST_MIC_DBFS = -80.0
"""Below this even a quiet room's hiss is missing: the microphone is muted, unplugged or its gain far too low."""


def noise_floor_dbfs(samples: np.ndarray, rate: int) -> float:
    """The room's level as the detector's floor takes it: a low percentile of the 10 ms frames' levels."""
    frame = max(1, round(rate * FRAME_S))
    n = len(samples) // frame
    if n == 0:
        raise ValueError("no audio to measure")
    levels = level_dbfs(samples[:n * frame].reshape(n, frame))
    return float(np.percentile(levels, DetectorSettings().floor_percentile))


def listen(microphone: Microphone, seconds: float = LISTEN_S) -> np.ndarray:
    """`seconds` of what `microphone` hears (raises RuntimeError if its stream fails or delivers nothing)."""
    chunks: queue.Queue = queue.Queue()
    wanted = int(seconds * microphone.rate)
    heard, got = [], 0
    microphone.start(chunks.put, lambda reason: chunks.put(RuntimeError(reason)))
    try:
        deadline = time.monotonic() + seconds + 3.0
        while got < wanted:
            chunk = chunks.get(timeout=max(0.1, deadline - time.monotonic()))
            if isinstance(chunk, Exception):
                raise chunk
            heard.append(chunk)
            got += len(chunk)
    except queue.Empty:
        raise RuntimeError("the microphone delivered no audio") from None
    finally:
        microphone.stop()
    return np.concatenate(heard)[:wanted]


def verdict(floor_dbfs: float) -> tuple[str, str]:
    """("OK" or "WARN", what the floor means and, when it is a problem, the fix)."""
    said = f"room noise floor {floor_dbfs:.0f} dBFS"
    if floor_dbfs > LOUDEST_HANDLED_DBFS:
        return "WARN", (f"{said}, louder than speech detection handles ({LOUDEST_HANDLED_DBFS:.0f} dBFS): answers may "
                        "not end on their own. Move the device away from the fan, fridge or TV, or lower the "
                        "microphone's gain (alsamixer)")
    if floor_dbfs < QUIETEST_MIC_DBFS:
        return "WARN", (f"{said}: the microphone hears almost nothing, not even a quiet room's hiss. Check that it "
                        "is plugged in and not muted, and raise its gain (alsamixer)")
    return "OK", f"{said} (detection handles up to {LOUDEST_HANDLED_DBFS:.0f})"
