"""The device's one worker thread: it recognizes answers in order, so capture and saving never wait for Vosk, and
runs the work queued after them (compression, sealing, recovery's repairs) in the same order."""

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from audio.recognizer import AnswerRecognizer, ModelLoader, Transcript

NewRecognizer = Callable[[int], AnswerRecognizer]

log = logging.getLogger(__name__)

OnTranscript = Callable[[Transcript | None], None]


@dataclass(frozen=True)
class _Begin:
    handle: object
    rate: int


@dataclass(frozen=True)
class _Feed:
    handle: object
    samples: np.ndarray


@dataclass(frozen=True)
class _End:
    handle: object
    on_transcript: OnTranscript


@dataclass(frozen=True)
class _Call:
    work: Callable[[], object]


_Job = _Begin | _Feed | _End | _Call
"""What the worker is asked to do, in order; None asks it to stop."""


class Worker:
    """Queues answers' audio and recognizes them in order on one thread (`recognize`), with other work queued
    between them (`later`).

    `begin`, `feed` and `end` return at once. When an answer is done, its
    callback gets the transcript (or None if recognition failed) on the worker.
    """

    def __init__(self, new_recognizer: NewRecognizer):
        self.new_recognizer = new_recognizer
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="worker", daemon=True)
        self._thread.start()

    @property
    def thread_id(self) -> int:
        """The worker thread's native id (the kernel's; e.g. to limit the recognizer's CPU through a cgroup)."""
        native_id = self._thread.native_id
        assert native_id is not None  # the thread is started in __init__
        return native_id

    def begin(self, rate: int) -> object:
        """Start a new answer at `rate`; returns its handle for `feed` and `end`."""
        handle = object()
        self._jobs.put(_Begin(handle, rate))
        return handle

    def feed(self, handle: object, samples: np.ndarray) -> None:
        self._jobs.put(_Feed(handle, samples))

    def end(self, handle: object, on_transcript: OnTranscript) -> None:
        self._jobs.put(_End(handle, on_transcript))

    def recognize(self, rate: int) -> "RecognitionJob":
        """One answer's recognition at `rate`, begun on its first audio."""
        return RecognitionJob(self, rate)

    def later(self, work: Callable[[], object]) -> None:
        """Run `work` on the worker after everything queued so far (e.g. transcribing what recovery found)."""
        self._jobs.put(_Call(work))

    def drain(self) -> None:
        """Wait until every answer handed over so far is transcribed."""
        self._jobs.join()

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()

    @classmethod
    def for_model(cls, model: ModelLoader) -> "Worker":
        """A worker using Vosk with `model` (waiting for it to load, on the worker only)."""
        return cls(lambda rate: AnswerRecognizer(model.get(), rate))

    def _work(self) -> None:
        recognizers: dict[object, AnswerRecognizer | None] = {}
        while (job := self._jobs.get()) is not None:
            try:
                if isinstance(job, _Begin):
                    recognizers[job.handle] = self._new_recognizer(job.rate)
                elif isinstance(job, _Feed) and (recognizer := recognizers.get(job.handle)):
                    recognizer.feed(job.samples)
                elif isinstance(job, _End):
                    self._end(recognizers.pop(job.handle, None), job.on_transcript)
                elif isinstance(job, _Call):
                    job.work()
            except Exception:
                log.exception("recognition failed for one answer; its audio is kept")
                if isinstance(job, _Feed):
                    recognizers[job.handle] = None
            finally:
                self._jobs.task_done()
        self._jobs.task_done()

    @classmethod
    def _end(cls, recognizer: AnswerRecognizer | None, on_transcript: OnTranscript) -> None:
        """Hand the transcript on, and only then let the recognizer go: Kaldi takes about 0.1 s of CPU to
        free one (its decoder and graph cache), which the notes need not wait for."""
        on_transcript(cls._finish(recognizer))

    @staticmethod
    def _finish(recognizer: AnswerRecognizer | None) -> Transcript | None:
        if recognizer is None:
            return None
        try:
            return recognizer.finish()
        except Exception:
            log.exception("recognition failed for one answer; its audio is kept")
            return None

    def _new_recognizer(self, rate: int) -> AnswerRecognizer | None:
        try:
            return self.new_recognizer(rate)
        except Exception as error:
            log.error("no recognizer for this answer: %s", error)
            return None


class RecognitionJob:
    """One answer's recognition: begun on its first audio, fed as the audio comes, ended once."""

    def __init__(self, worker: Worker, rate: int):
        self.worker = worker
        self.rate = rate
        self._handle: object | None = None

    def feed(self, samples: np.ndarray) -> None:
        if self._handle is None:
            self._handle = self.worker.begin(self.rate)
        self.worker.feed(self._handle, samples)

    def end(self, on_transcript: OnTranscript = lambda transcript: None) -> None:
        """Hand over the transcript once recognized and free the recognizer; nothing to do if no audio came."""
        if self._handle is not None:
            self.worker.end(self._handle, on_transcript)
            self._handle = None
