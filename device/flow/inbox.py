"""What the flow thread receives: gestures, playback endings and microphone chunks, all on one queue."""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PlaybackDone:
    token: int


@dataclass(frozen=True, eq=False)
class AudioChunk:
    capture: int
    samples: np.ndarray


@dataclass(frozen=True)
class MicFailed:
    capture: int
    reason: str
