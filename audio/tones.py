"""The device's soft signal sounds, generated rather than shipped: chime, listening, saved."""

from functools import cache

import numpy as np

from audio.clips import Clip


def _notes(rate: int, notes: list[tuple[float, float]], volume: float = 0.25) -> Clip:
    """Concatenate sine notes (frequency Hz, seconds), each with a gentle fade in and out."""
    parts = []
    for freq, seconds in notes:
        t = np.arange(int(rate * seconds)) / rate
        note = np.sin(2 * np.pi * freq * t)
        fade = min(len(t) // 4, int(rate * 0.02))
        envelope = np.ones(len(t))
        envelope[:fade] = np.linspace(0, 1, fade)
        envelope[-fade:] = np.linspace(1, 0, fade)
        envelope *= np.exp(-2.5 * t / max(seconds, 1e-3))
        parts.append(note * envelope)
    return Clip((np.concatenate(parts) * volume).astype(np.float32), rate)


@cache
def chime(rate: int) -> Clip:
    """Session start: two rising notes."""
    return _notes(rate, [(659.3, 0.18), (987.8, 0.35)])


@cache
def listening_tone(rate: int) -> Clip:
    """Your turn to speak: one soft high note."""
    return _notes(rate, [(880.0, 0.15)], volume=0.18)


@cache
def saved_tone(rate: int) -> Clip:
    """Your answer is kept: two falling notes."""
    return _notes(rate, [(783.99, 0.1), (523.25, 0.2)], volume=0.18)


@cache
def marked_tone(rate: int) -> Clip:
    """An answer is marked for your therapist: two soft rising notes, quieter than the rest."""
    return _notes(rate, [(1046.5, 0.08), (1318.5, 0.16)], volume=0.12)


def prepare(rate: int) -> None:
    """Make every tone for `rate` now, so a press never waits for one to be generated."""
    for tone in (chime, listening_tone, saved_tone, marked_tone):
        tone(rate)
