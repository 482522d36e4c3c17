"""Speech out: every prompt rendered once by pyttsx3 (espeak-ng) to a cached WAV, keyed by text, voice and rate."""

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

from audio.clips import Clip, read_wav
from common.errors import SynthesisFailed
from common.files import FILE_MODE, private_dir

RENDER_TIMEOUT_S = 30.0
"""Deadline for the render process, plus this much again per prompt."""


class PromptCache:
    """Renders prompts to `cache_dir/<hash>.wav` and loads them as clips when asked.

    Rendering is serialized, one prompt at a time: a clip asked for (a press) goes before the rest of
    a `render_all` batch, so it waits for the one prompt being rendered at most, or not at all if its
    own prompt is ready.

    Clips are read from disk each time rather than held in memory: the session asks for each one while
    the sound before it plays, and a pack's prompts at the speaker's rate would hold ~10 MB for nothing."""

    def __init__(self, cache_dir: Path, voice: str | None = None, rate: int | None = None):
        self.cache_dir = private_dir(cache_dir)
        self.voice = voice
        self.rate = rate
        self._turn = threading.Condition()
        self._rendering = False
        self._waiting = 0
        """Clips asked for and not yet rendered: the batch lets them go first."""

    def path_for(self, text: str) -> Path:
        key = "\0".join([text, self.voice or "", str(self.rate or "")])
        return self.cache_dir / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".wav")

    def render_all(self, texts: Iterable[str]) -> None:
        """Render every missing text, one at a time, letting any clip asked for meanwhile go first."""
        for text in dict.fromkeys(texts):
            self._render_one(text, urgent=False)

    def clip(self, text: str, rate: int | None = None) -> Clip:
        """The spoken clip for `text` (resampled to `rate` if given), rendering it only if it never was."""
        path = self.path_for(text)
        if not path.exists():
            self._render_one(text, urgent=True)
        clip = read_wav(path)
        return clip.at_rate(rate) if rate else clip

    def _render_one(self, text: str, urgent: bool) -> None:
        """Render `text` unless it already is, once no other render runs (and, for the batch, no clip waits)."""
        path = self.path_for(text)
        with self._turn:
            if urgent:
                self._waiting += 1
                self._turn.notify_all()
            try:
                self._turn.wait_for(lambda: not self._rendering and (urgent or not self._waiting))
            finally:
                if urgent:
                    self._waiting -= 1
            if path.exists():
                self._turn.notify_all()
                return
            self._rendering = True
        try:
            self._render([text])
        finally:
            with self._turn:
                self._rendering = False
                self._turn.notify_all()

    def _render(self, texts: list[str]) -> None:
        if not texts:
            return
        jobs = [(text, self.path_for(text)) for text in texts]
        temps = [path.with_name(f".{path.name}.{os.getpid()}.tmp") for _, path in jobs]
        request = {
            "voice": self.voice,
            "rate": self.rate,
            "jobs": [[text, str(tmp)] for (text, _), tmp in zip(jobs, temps)],
        }
        try:
            result = subprocess.run(
                [sys.executable, "-m", "audio.espeak_render"],
                input=json.dumps(request),
                capture_output=True,
                text=True,
                timeout=RENDER_TIMEOUT_S * (1 + len(jobs)),
            )
        except subprocess.TimeoutExpired:
            result = None
        for (text, path), tmp in zip(jobs, temps):
            if not tmp.exists() or tmp.stat().st_size <= 44:
                tmp.unlink(missing_ok=True)
                detail = "it timed out" if result is None else (result.stderr.strip().splitlines() or ["no output"])[-1]
                raise SynthesisFailed(
                    f"Speech synthesis produced no audio for {text[:40]!r} ({detail}). Is espeak-ng installed?"
                )
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, path)
