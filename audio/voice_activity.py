"""Is this chunk speech? A level detector on 10 ms frames, precise enough to trim answers."""
import numpy as np

FRAME_S = 0.01


class SpeechDetector:
    """Calls a chunk speech when at least `min_voiced_s` of its 10 ms frames are above a level."""

    def __init__(self, rate: int, threshold_dbfs: float = -45.0, min_voiced_s: float = 0.03):
        self.frame = max(1, int(rate * FRAME_S))
        self.threshold = 32768.0 * 10 ** (threshold_dbfs / 20)
        self.min_voiced = max(1, round(min_voiced_s / FRAME_S))

    def voiced_frames(self, samples: np.ndarray) -> np.ndarray:
        """Indices of the 10 ms frames of int16 `samples` whose RMS level is above the threshold."""
        n = len(samples) // self.frame
        if n == 0:
            return np.empty(0, dtype=int)
        frames = samples[: n * self.frame].astype(np.float32).reshape(n, self.frame)
        rms = np.sqrt(np.mean(frames * frames, axis=1))
        return np.flatnonzero(rms > self.threshold)
