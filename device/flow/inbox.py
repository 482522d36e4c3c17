"""What the flow thread receives: gestures, playback endings and microphone chunks, all on one queue."""
import itertools
from dataclasses import dataclass

import numpy as np

_tokens = itertools.count(1)


def new_token() -> int:
    """A number never handed out before in this process, for one playback or one capture: what it puts in
    the inbox carries it, so a late item from an older playback or capture (another session's, a replay's)
    never matches a newer one."""
    return next(_tokens)


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
