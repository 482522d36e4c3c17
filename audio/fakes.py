"""Fakes shipped beside the real speaker, microphone, recognizer and PortAudio, for fast tests and simulations."""

from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

import numpy as np

from audio.clips import Clip
from audio.microphone import OnChunk, OnError
from audio.recognizer import Transcript, Word
from audio.speaker import Sounding


class FakeSpeaker:
    """Records what it is asked to play and finishes each clip at once."""

    def __init__(self, rate: int = 16000):
        self.rate = rate
        self.played: list[Clip] = []
        self.overlaid: list[Clip] = []

    def play(self, clip: Clip, on_done: Callable[[], None]) -> Sounding:
        self.played.append(clip)
        on_done()
        return Sounding(clip.samples, on_done)

    play_next = play

    def overlay(self, clip: Clip) -> None:
        self.overlaid.append(clip)

    def skip(self) -> None:
        """Nothing is ever still playing."""

    def stop(self) -> None:
        """Nothing is ever still playing."""

    def close(self) -> None:
        """Nothing to release."""


class ScriptedMicrophone:
    """On each start, delivers the next scripted answer: a list of int16 chunks (and callables run in order).

    A callable in a script runs at that point of the stream, so a test can press
    the button after a given chunk. An answer script ending with `LOSE` reports a
    failed stream.
    """

    LOSE = object()

    def __init__(self, answers: Iterable[list[Any]], rate: int = 16000):
        self.rate = rate
        self.answers = list(answers)
        self.started = 0
        self.running = False

    def start(self, on_chunk: OnChunk, on_error: OnError) -> None:
        script = self.answers[self.started] if self.started < len(self.answers) else []
        self.started += 1
        self.running = True
        for item in script:
            if item is self.LOSE:
                on_error("scripted loss")
            elif callable(item):
                item()
            else:
                on_chunk(item)

    def stop(self) -> None:
        self.running = False


def speech(seconds: float, rate: int = 16000, chunk_s: float = 0.1, level: float = 0.3) -> list[np.ndarray]:
    """Chunks standing in for speech: a voice-like buzz (150 Hz and its harmonics) rising and falling four times
    a second like syllables, loudest at each chunk's edges; a steady tone would be a hum, not a person."""
    n = int(round(seconds / chunk_s))
    t = np.arange(int(rate * chunk_s)) / rate
    voice = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 12))
    syllables = 0.55 + 0.45 * np.cos(2 * np.pi * t / chunk_s)
    chunk = (voice / np.max(np.abs(voice)) * syllables * level * 32767).astype(np.int16)
    return [chunk.copy() for _ in range(n)]


def silence(seconds: float, rate: int = 16000, chunk_s: float = 0.1) -> list[np.ndarray]:
    n = int(round(seconds / chunk_s))
    return [np.zeros(int(rate * chunk_s), dtype=np.int16) for _ in range(n)]


class FakeRecognizer:
    """Says one word per second of audio fed, so tests can check what reached recognition."""

    def __init__(self, rate: int):
        self.rate = rate
        self.samples = 0

    def feed(self, samples: np.ndarray) -> None:
        self.samples += len(samples)

    def finish(self) -> Transcript:
        seconds = self.samples / self.rate
        words = tuple(Word("word", float(s), s + 0.5, 1.0) for s in range(int(seconds)))
        return Transcript(" ".join(w.word for w in words), words)


def portaudio_device(index: int, name: str, inputs: int, outputs: int, rate: float = 44100.0) -> dict[str, Any]:
    """One device as sounddevice.query_devices() describes it."""
    return {
        "index": index,
        "name": name,
        "max_input_channels": inputs,
        "max_output_channels": outputs,
        "default_samplerate": rate,
    }


class FakePortAudio:
    """sounddevice's query and check functions over a fixed device list; `refuses` are rates the device rejects,
    `busy` makes every check fail as PortAudio does for a device open elsewhere."""

    def __init__(
        self,
        devices: list[dict[str, Any]],
        default: tuple[int, int] = (-1, -1),
        refuses: Iterable[int] = (),
        busy: bool = False,
    ):
        self.devices, self.refuses, self.busy = devices, set(refuses), busy
        self.default = SimpleNamespace(device=default)
        self.checked: list[int] = []

    def query_devices(self, index: int | None = None) -> Any:
        return self.devices if index is None else self.devices[index]

    def check_input_settings(self, device: int, samplerate: int, channels: int, dtype: str) -> None:
        self.checked.append(samplerate)
        if self.busy:
            raise Exception("Error opening InputStream: Device unavailable [PaErrorCode -9985]")
        if samplerate in self.refuses:
            raise Exception("Invalid sample rate [PaErrorCode -9997]")

    check_output_settings = check_input_settings
