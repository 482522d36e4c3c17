"""One answer from microphone chunks: written to disk and to the recognizer as it arrives, trimmed to the
speech, ended when due."""
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from audio.endpointing import AnswerEndpointer, EndReason
from audio.voice_activity import SpeechDetector
from audio.wavfile import WavWriter
from common.files import is_disk_full


class Recognition(Protocol):
    """Where the kept audio goes besides the disk (a TranscriberJob)."""

    def feed(self, samples: np.ndarray) -> None: ...


@dataclass(frozen=True)
class CaptureSettings:
    lead_s: float = 0.1
    """Audio kept before the first sound of speech."""
    tail_s: float = 0.2
    """Audio kept after the last sound of speech."""


class AnswerCapture:
    """Feeds chunks to disk and to `recognition` from the first speech on.

    Nothing is written before the person starts speaking, so an answer that is
    never spoken leaves no file. Trailing silence is written as it arrives (a
    crash keeps it) and trimmed when the answer is finished.
    """

    def __init__(self, path: Path, rate: int, detector: SpeechDetector, endpointer: AnswerEndpointer,
                 recognition: Recognition, settings: CaptureSettings = CaptureSettings()):
        self.path = path
        self.rate = rate
        self.detector = detector
        self.endpointer = endpointer
        self.recognition = recognition
        self.settings = settings
        self.writer: WavWriter | None = None
        self._previous = np.empty(0, dtype=np.int16)
        self._speech_end_frame = 0
        self.disk_full = False
        """Set when a write failed for lack of space; the answer must end."""
        self.saved_path: Path | None = None

    @property
    def started(self) -> bool:
        return self.writer is not None

    def add(self, samples: np.ndarray) -> EndReason | None:
        """Take one chunk of int16 samples; return why the answer ends now, or None.

        A full disk raises OSError (ENOSPC/EFBIG) after marking `disk_full`; `finish()` still keeps the answer.
        """
        try:
            return self._add(samples)
        except OSError as error:
            if is_disk_full(error):
                self.disk_full = True
            raise

    def _add(self, samples: np.ndarray) -> EndReason | None:
        voiced = self.detector.voiced_frames(samples)
        is_speech = len(voiced) >= self.detector.min_voiced
        if self.writer is None and is_speech:
            self._start(samples, voiced[0] * self.detector.frame)
        elif self.writer is not None:
            self._keep(samples)
        else:
            self._previous = samples
        if is_speech:
            tail = len(samples) - (voiced[-1] + 1) * self.detector.frame
            self._speech_end_frame = self.writer.frames - tail
        return self.endpointer.process(len(samples) / self.rate, is_speech)

    def _start(self, samples: np.ndarray, onset: int) -> None:
        joined = np.concatenate([self._previous, samples])
        start = max(0, len(self._previous) + onset - int(self.settings.lead_s * self.rate))
        self.writer = WavWriter(self.path, self.rate)
        self._keep(joined[start:])

    def _keep(self, samples: np.ndarray) -> None:
        self.writer.write(samples)
        self.recognition.feed(samples)

    @property
    def kept(self) -> bool:
        """True once `finish()` has left an answer file on disk."""
        return self.saved_path is not None

    def finish(self) -> float:
        """Seal the answer's file; return its duration in seconds (0 when nothing was kept).

        After a full disk the file keeps what was written whole (all of it: the
        speech may not have ended); if nothing could be kept there is no file.
        """
        self.saved_path = None
        if self.writer is None:
            return 0.0
        keep = min(self.writer.frames, self._speech_end_frame + int(self.settings.tail_s * self.rate))
        if self.disk_full:
            keep = self.writer.frames
        self.saved_path = self.writer.finish(keep)
        return self.writer.frames / self.rate if self.saved_path else 0.0

    def abandon(self) -> None:
        """Drop an unfinished answer's file (nothing kept)."""
        if self.writer is not None:
            self.writer.abandon()
