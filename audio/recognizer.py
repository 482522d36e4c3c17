"""Speech recognition with Vosk: model loading in the background, one recognizer per answer."""

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.errors import ModelMissing

INSTALL_HINT = "Install it with: reflect model install (offline: reflect model install --from FILE.zip)"


@dataclass(frozen=True)
class Word:
    """One recognized word and when it was said, in seconds from the start of its answer's audio."""

    word: str
    start: float
    end: float
    conf: float


@dataclass(frozen=True)
class Transcript:
    text: str
    words: tuple[Word, ...]


def missing_model_part(path: Path) -> str | None:
    """What keeps `path` from being a Vosk model directory, or None if nothing does."""
    if not path.is_dir():
        return "the folder does not exist"
    for part in ("am/final.mdl", "conf/mfcc.conf"):
        if not (path / part).is_file():
            return f"{part} is missing"
    if not (path / "graph/HCLG.fst").is_file() and not all(
        (path / part).is_file() for part in ("graph/HCLr.fst", "graph/Gr.fst")
    ):
        return "no graph (graph/HCLG.fst, or graph/HCLr.fst with graph/Gr.fst)"
    return None


def check_model(path: Path) -> None:
    """Raise ModelMissing, naming the fix, unless `path` is a complete Vosk model directory."""
    missing = missing_model_part(Path(path))
    if missing:
        raise ModelMissing(f"No speech model at {path} ({missing}). {INSTALL_HINT}")


def load_model(path: Path) -> Any:
    """Load a Vosk model, raising ModelMissing with the command that fixes it."""
    check_model(path)
    import vosk

    vosk.SetLogLevel(-1)
    return vosk.Model(str(path))


class ModelLoader:
    """Loads the model on a background thread, from `start()` (the device, so a press never waits for it) or the
    first `get()`; a command that never needs it never loads it.

    The thread is not a daemon: the interpreter waits for a load under way before it exits, however the command
    ends, because exiting while Kaldi loads can end in SIGSEGV."""

    def __init__(self, path: Path):
        self.path = path
        self._model = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> "ModelLoader":
        """Begin loading, once, in the background."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._load, name="model-loader")
                self._thread.start()
        return self

    def _load(self) -> None:
        try:
            self._model = load_model(self.path)
        except BaseException as error:  # handed to whoever waits for the model
            self._error = error
        finally:
            self._done.set()

    def get(self) -> Any:
        """The model, loading it if nobody has yet and waiting for the load; re-raises a failed load."""
        self.start()
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._model


def _words(result: dict[str, Any]) -> list[Word]:
    return [
        Word(w["word"], round(w["start"], 3), round(w["end"], 3), round(w["conf"], 3)) for w in result.get("result", [])
    ]


class AnswerRecognizer:
    """Transcribes one answer fed in chunks at the microphone's own rate."""

    def __init__(self, model: Any, rate: int):
        import vosk

        self._recognizer = vosk.KaldiRecognizer(model, float(rate))
        self._recognizer.SetWords(True)
        self._words: list[Word] = []

    def feed(self, samples: np.ndarray) -> None:
        if self._recognizer.AcceptWaveform(samples.astype("<i2", copy=False).tobytes()):
            self._words += _words(json.loads(self._recognizer.Result()))

    def finish(self) -> Transcript:
        self._words += _words(json.loads(self._recognizer.FinalResult()))
        return Transcript(" ".join(w.word for w in self._words), tuple(self._words))


def decode_samples(model: Any, samples: np.ndarray, rate: int, chunk_s: float = 0.1) -> Transcript:
    """Transcribe whole int16 audio directly, fed in chunks as the microphone would (the rig tests compare a
    session's transcript with it)."""
    return transcribe_whole(AnswerRecognizer(model, rate), samples, rate, chunk_s)


def transcribe_whole(recognizer: AnswerRecognizer, samples: np.ndarray, rate: int, chunk_s: float) -> Transcript:
    """Feed whole int16 audio at `rate` to `recognizer` in chunks of `chunk_s`, as the microphone would; its
    transcript."""
    step = max(1, int(rate * chunk_s))
    for start in range(0, len(samples), step):
        recognizer.feed(samples[start : start + step])
    return recognizer.finish()
