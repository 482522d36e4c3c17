"""Is the person speaking? WebRTC's VAD on 10 ms frames, gated by a noise floor that follows the room.

A frame is voiced when the VAD calls it speech AND it stands out of the room: its level is a margin above
the noise floor (a low percentile of the last seconds' frame levels, so it follows a fan switched on or off,
and sits in the pauses between words while someone speaks). Speech starts only after `min_speech_s` of voiced
frames within `onset_window_s` (a cough or a door is shorter), with a higher margin to start than to go on
(hysteresis), and stops after `release_s` without a voiced frame.
"""

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import soxr
import webrtcvad

FRAME_S = 0.01
VAD_RATE = 16000
VAD_FRAME = int(VAD_RATE * FRAME_S)
FULL_SCALE = 32768.0


@dataclass(frozen=True)
class DetectorSettings:
    margin_db: float = 9.0
    """How far above the noise floor a frame must be to start speech."""
    hysteresis_db: float = 4.0
    """Once speech started, a frame this much closer to the floor still goes on being speech."""
    min_speech_s: float = 0.3
    """Voiced time, within `onset_window_s`, before speech counts as started."""
    onset_window_s: float = 1.0
    release_s: float = 0.5
    """Time without a voiced frame after which speech has stopped (and must start again)."""
    floor_window_s: float = 5.0
    """The noise floor is a low percentile of the frame levels over this long."""
    floor_percentile: float = 20.0
    lowest_floor_dbfs: float = -70.0
    """A floor below this is taken as this: in a silent room the VAD alone decides."""
    vad_mode: int = 1
    """WebRTC VAD aggressiveness 0-3: 1 hears a soft speaker; the floor, not the VAD, keeps steady noise out."""


@dataclass(frozen=True)
class Heard:
    """What one chunk held: is it speech (by the rules above), and where, in frames since the detector began."""

    speech: bool
    onset_frame: int | None = None
    """The first frame of speech that has just started in this chunk (it may lie in earlier chunks)."""
    last_frame: int | None = None
    """The frame after the last voiced frame of speech in this chunk."""


def level_dbfs(frames: np.ndarray) -> np.ndarray:
    """RMS level of each row of int16-scaled samples, in dBFS (silence is -120)."""
    rms = np.sqrt(np.mean(np.square(frames.astype(np.float64)), axis=1))
    levels: np.ndarray = 20 * np.log10(np.maximum(rms, FULL_SCALE * 1e-6) / FULL_SCALE)
    return levels


class NoiseFloor:
    """A low percentile of the recent frame levels: the room's own level, which speech stands out of."""

    def __init__(self, settings: DetectorSettings):
        self.settings = settings
        self._levels: deque[float] = deque(maxlen=max(1, round(settings.floor_window_s / FRAME_S)))
        self.dbfs = settings.lowest_floor_dbfs

    def update(self, levels: np.ndarray) -> float:
        """Return the floor a chunk is judged against (the one before it), then take its frames' levels."""
        judged = self.dbfs
        self._levels.extend(levels.tolist())
        floor = float(np.percentile(np.fromiter(self._levels, float), self.settings.floor_percentile))
        self.dbfs = max(floor, self.settings.lowest_floor_dbfs)
        return judged


class SpeechDetector:
    """Follows a stream of int16 mono chunks at `rate` and says, chunk by chunk, whether a person speaks."""

    def __init__(
        self, rate: int, settings: DetectorSettings = DetectorSettings(), vad: Callable[[bytes], bool] | None = None
    ):
        """`vad` says whether 10 ms of 16 kHz int16 audio is speech; WebRTC's by default."""
        self.settings = settings
        self.frame = max(1, round(rate * FRAME_S))
        """Samples per 10 ms frame at `rate`."""
        self.floor = NoiseFloor(settings)
        self._vad = vad or partial(webrtcvad.Vad(settings.vad_mode).is_speech, sample_rate=VAD_RATE)
        self._resampler = None if rate == VAD_RATE else soxr.ResampleStream(rate, VAD_RATE, 1, dtype="int16")
        self._pending = np.empty(0, dtype=np.int16)
        self._pending_vad = np.empty(0, dtype=np.int16)
        self._frames = 0
        self._recent: deque[int] = deque()
        """Frame numbers of the voiced frames in the onset window (before speech started)."""
        self.speaking = False
        self._last_voiced = -1

    def hear(self, samples: np.ndarray) -> Heard:
        """Take one chunk; say whether it holds speech."""
        frames = self._whole_frames(samples)
        if len(frames) == 0:
            return Heard(False)
        levels = level_dbfs(frames)
        floor = self.floor.update(levels)
        vad = self._vad_frames(samples, len(frames))
        first = self._frames
        self._frames += len(frames)
        onset = last = None
        for offset in range(len(frames)):
            number = first + offset
            margin = self.settings.margin_db - (self.settings.hysteresis_db if self.speaking else 0.0)
            voiced = vad[offset] and levels[offset] >= floor + margin
            if self.speaking and number - self._last_voiced > self._frames_of(self.settings.release_s):
                self.speaking = False
            if not voiced:
                continue
            if not self.speaking:
                started = self._onset(number)
                onset = started if onset is None else onset
            if self.speaking:
                self._last_voiced = number
                last = number + 1
        return Heard(last is not None, onset, last)

    def _onset(self, number: int) -> int | None:
        """Count a voiced frame towards starting speech; return speech's first frame once it has started."""
        window = self._frames_of(self.settings.onset_window_s)
        self._recent.append(number)
        while self._recent[0] <= number - window:
            self._recent.popleft()
        if len(self._recent) < self._frames_of(self.settings.min_speech_s):
            return None
        self.speaking = True
        onset = self._recent[0]
        self._recent.clear()
        return onset

    @staticmethod
    def _frames_of(seconds: float) -> int:
        return max(1, round(seconds / FRAME_S))

    def _whole_frames(self, samples: np.ndarray) -> np.ndarray:
        """The chunk's whole 10 ms frames at `rate`, a part frame carried to the next chunk."""
        joined = np.concatenate([self._pending, samples])
        n = len(joined) // self.frame
        self._pending = joined[n * self.frame :]
        return joined[: n * self.frame].reshape(n, self.frame)

    def _vad_frames(self, samples: np.ndarray, count: int) -> list[bool]:
        """The VAD's verdict on `count` frames of the stream at 16 kHz (a frame it has not had yet is no speech)."""
        audio = samples if self._resampler is None else self._resampler.resample_chunk(samples)
        joined = np.concatenate([self._pending_vad, audio.astype(np.int16)])
        n = min(count, len(joined) // VAD_FRAME)
        self._pending_vad = joined[n * VAD_FRAME :]
        verdicts = [self._vad(joined[i * VAD_FRAME : (i + 1) * VAD_FRAME].tobytes()) for i in range(n)]
        return verdicts + [False] * (count - n)
