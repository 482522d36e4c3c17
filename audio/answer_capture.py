"""One answer from microphone chunks: written to disk and to the recognizer as it arrives, trimmed to the
speech, ended when due."""

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from audio.endpointing import AnswerEndpointer, EndReason
from audio.voice_activity import SpeechDetector
from audio.wavfile import WavWriter
from common.files import is_disk_full
from common.monotonic_clock import SYSTEM_CLOCK, MonotonicClock


class Recognition(Protocol):
    """Where the kept audio goes besides the disk (a RecognitionJob)."""

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

    def __init__(
        self,
        path: Path,
        rate: int,
        detector: SpeechDetector,
        endpointer: AnswerEndpointer,
        recognition: Recognition,
        settings: CaptureSettings = CaptureSettings(),
        clock: MonotonicClock = SYSTEM_CLOCK,
    ):
        self.path = path
        self.rate = rate
        self.detector = detector
        self.endpointer = endpointer
        self.recognition = recognition
        self.settings = settings
        self.clock = clock
        """The time its WAV writer syncs by."""
        self.writer: WavWriter | None = None
        self._recent: deque[np.ndarray] = deque()
        """The chunks before speech started, as far back as its onset can lie (plus the lead)."""
        self._recent_samples = 0
        self._seen = 0
        """Samples taken so far (the detector's frames count from the same start)."""
        self._file_start = 0
        """The sample, counted like `_seen`, that the answer's file begins with."""
        self._speech_end_frame = 0
        self.disk_full = False
        """Set when a write failed for lack of space; the answer must end."""
        self.saved_path: Path | None = None

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
        heard = self.detector.hear(samples)
        self._seen += len(samples)
        if self.writer is None and heard.onset_frame is not None:
            self._start(samples, heard.onset_frame * self.detector.frame)
        elif self.writer is not None:
            self._keep(samples)
        else:
            self._remember(samples)
        if heard.speech:
            assert heard.last_frame is not None  # a chunk heard as speech has a last frame of it
            self._speech_end_frame = heard.last_frame * self.detector.frame - self._file_start
        return self.endpointer.process(len(samples) / self.rate, heard.speech)

    def _remember(self, samples: np.ndarray) -> None:
        """Keep the chunk among the recent ones, forgetting those older than an onset can reach back."""
        self._recent.append(samples)
        self._recent_samples += len(samples)
        reach = int((self.detector.settings.onset_window_s + self.settings.lead_s) * self.rate)
        while self._recent_samples - len(self._recent[0]) >= reach:
            self._recent_samples -= len(self._recent.popleft())

    def _start(self, samples: np.ndarray, onset: int) -> None:
        """Open the file at the lead before `onset` (a sample counted like `_seen`) and write from there."""
        joined = np.concatenate([*self._recent, samples])
        first = self._seen - len(joined)
        self._file_start = max(first, onset - int(self.settings.lead_s * self.rate))
        self._recent.clear()
        self.writer = WavWriter(self.path, self.rate, clock=self.clock)
        self._keep(joined[self._file_start - first :])

    def _keep(self, samples: np.ndarray) -> None:
        assert self.writer is not None  # opened by _start before anything is kept
        self.writer.write(samples)
        self.recognition.feed(samples)

    @property
    def kept(self) -> bool:
        """True once `finish()` has left an answer file on disk."""
        return self.saved_path is not None

    def finish(self) -> float:
        """Finalize the answer's file; return its duration in seconds (0 when nothing was kept).

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
