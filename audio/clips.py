"""Audio clips in memory: mono float32 samples at a known rate, read from WAV and resampled."""

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INT16_SCALE = 32768.0


@dataclass(frozen=True, eq=False)
class Clip:
    """A short mono sound held in memory (prompts and tones, never answers)."""

    samples: np.ndarray  # float32 in [-1, 1]
    rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate

    def at_rate(self, rate: int) -> "Clip":
        """This clip resampled to `rate` (itself when the rate already matches)."""
        if rate == self.rate:
            return self
        import soxr

        return Clip(soxr.resample(self.samples, self.rate, rate).astype(np.float32), rate)


def int16_to_float(samples: np.ndarray) -> np.ndarray:
    return samples.astype(np.float32) / INT16_SCALE


def read_wav(path: Path) -> Clip:
    """Load a 16-bit PCM WAV file (mono, or the first channel of several)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is supported")
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        channels = wav.getnchannels()
        rate = wav.getframerate()
    return Clip(int16_to_float(data[::channels]), rate)
