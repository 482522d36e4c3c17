"""Speech out: every prompt rendered once by pyttsx3 (espeak-ng) to a cached WAV, keyed by text, voice and rate."""
import contextlib
import hashlib
import io
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from audio.clips import Clip, read_wav
from common.errors import SynthesisFailed
from common.files import private_dir

RENDER_TIMEOUT_S = 60.0


class PromptCache:
    """Renders prompts to `cache_dir/<hash>.wav` and loads them as clips; rendering is serialized."""

    def __init__(self, cache_dir: Path, voice: str | None = None, rate: int | None = None):
        self.cache_dir = private_dir(cache_dir)
        self.voice = voice
        self.rate = rate
        self._lock = threading.Lock()
        self._clips: dict[str, Clip] = {}
        self._engine = None
        self._finished = threading.Event()

    def path_for(self, text: str) -> Path:
        key = "\0".join([text, self.voice or "", str(self.rate or "")])
        return self.cache_dir / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".wav")

    def render_all(self, texts: Iterable[str]) -> None:
        """Make sure every text has a cached WAV (done before any press needs them)."""
        for text in texts:
            self.clip(text)

    def clip(self, text: str) -> Clip:
        """The spoken clip for `text`, rendering it now only if it was never rendered."""
        with self._lock:
            if text not in self._clips:
                path = self.path_for(text)
                if not path.exists():
                    self._render(text, path)
                self._clips[text] = read_wav(path)
            return self._clips[text]

    def _render(self, text: str, path: Path) -> None:
        engine = self._get_engine()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self._finished.clear()
        with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved to ..."
            engine.save_to_file(text, str(tmp))
            engine.runAndWait()
            # pyttsx3's espeak driver can return before espeak has delivered the last audio.
            self._finished.wait(RENDER_TIMEOUT_S)
        if not tmp.exists() or tmp.stat().st_size <= 44:
            tmp.unlink(missing_ok=True)
            raise SynthesisFailed(f"Speech synthesis produced no audio for the prompt {text[:40]!r}.")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def _get_engine(self):
        if self._engine is None:
            import pyttsx3

            try:
                self._engine = pyttsx3.init("espeak")
            except Exception as error:
                raise SynthesisFailed(f"Speech synthesis is unavailable ({error}). Install espeak-ng.") from error
            self._engine.connect("finished-utterance", lambda name, completed: self._finished.set())
            if self.voice:
                self._engine.setProperty("voice", self.voice)
            if self.rate:
                self._engine.setProperty("rate", self.rate)
        return self._engine
