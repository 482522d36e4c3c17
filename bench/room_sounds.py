"""Sounds of a real room, made reproducibly: steady fan and pink noise, babble, a door slam, a cough,
and speech mixed into them at a chosen level. Used by the VAD comparison and the rig's room scenarios."""

import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import soxr

BABBLE_LINES = [  # several voices talking at once, as from a TV or the next room
    ("en", "and now the weather for tomorrow, clouds in the morning and some rain later in the day"),
    ("de", "die Nachrichten des Tages, heute im Parlament wurde lange über den Haushalt gesprochen"),
    ("fr", "bonsoir et bienvenue, ce soir nous parlons de cuisine, de voyages et de musique"),
    ("es", "buenas noches, el partido de esta tarde terminó con un gol en el último minuto"),
]


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level of int16-scaled samples in dBFS (full scale = 32768)."""
    rms = np.sqrt(np.mean(np.square(samples.astype(np.float64)))) if len(samples) else 0.0
    return 20 * np.log10(max(rms, 1e-9) / 32768.0)


def at_rms_dbfs(samples: np.ndarray, dbfs: float) -> np.ndarray:
    """`samples` (float) scaled so that their RMS level is `dbfs`."""
    return samples * 10 ** ((dbfs - rms_dbfs(samples)) / 20)


def at_peak_dbfs(samples: np.ndarray, dbfs: float) -> np.ndarray:
    """`samples` (float) scaled so that their peak is at `dbfs`."""
    return samples * (32768.0 * 10 ** (dbfs / 20) / max(np.max(np.abs(samples)), 1e-9))


def at_loudest_dbfs(samples: np.ndarray, dbfs: float, rate: int, window_s: float = 0.1) -> np.ndarray:
    """`samples` (float) scaled so that their loudest `window_s` has an RMS level of `dbfs`: the speech's peak
    as a level meter shows it, on the same (RMS) scale as a room's noise."""
    n = max(1, int(rate * window_s))
    windows = samples[: len(samples) // n * n].astype(np.float64).reshape(-1, n)
    loudest = 20 * np.log10(max(float(np.sqrt(np.max(np.mean(windows * windows, axis=1)))), 1e-9) / 32768.0)
    return samples * 10 ** ((dbfs - loudest) / 20)


def pink_noise(seconds: float, rate: int, seed: int = 1) -> np.ndarray:
    """Pink (1/f) noise: white noise shaped in the frequency domain."""
    n = int(seconds * rate)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    return np.fft.irfft(spectrum, n)


def fan_noise(seconds: float, rate: int, seed: int = 2) -> np.ndarray:
    """A fan: brown-ish broadband rumble, a blade tone at 120 Hz with harmonics, a slow wobble."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    spectrum[1:] /= np.maximum(freqs[1:], 80.0)
    spectrum[0] = 0
    rumble = np.fft.irfft(spectrum, n)
    rumble /= np.std(rumble)
    hum = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 5))
    return (rumble + 0.3 * hum) * (1 + 0.1 * np.sin(2 * np.pi * 0.5 * t))


def espeak(text: str, rate: int, voice: str = "ko", speed: int | None = None) -> np.ndarray:
    """Real espeak-ng speech of `text`, as float samples at `rate`, with espeak's silent ends cut off."""
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "speech.wav"
        command = ["espeak-ng", "-v", voice, "-w", str(path)] + (["-s", str(speed)] if speed else []) + [text]
        subprocess.run(command, check=True, capture_output=True)
        with wave.open(str(path), "rb") as wav:
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
            source_rate = wav.getframerate()
    samples = soxr.resample(samples, source_rate, rate)
    loud = np.flatnonzero(np.abs(samples) > 30)
    return samples[loud[0] : loud[-1] + 1] if len(loud) else samples


def babble(seconds: float, rate: int) -> np.ndarray:
    """Several espeak-ng voices in other languages at once, each looped to `seconds`."""
    n = int(seconds * rate)
    mixed = np.zeros(n)
    for offset, (voice, line) in enumerate(BABBLE_LINES):
        voice_samples = espeak(line, rate, voice)
        voice_samples = np.concatenate([voice_samples, np.zeros(int(0.3 * rate))])
        looped = np.tile(voice_samples, n // len(voice_samples) + 2)
        start = offset * len(voice_samples) // len(BABBLE_LINES)
        mixed += at_rms_dbfs(looped[start : start + n], -20)
    return mixed


def door_slam(rate: int, seed: int = 3) -> np.ndarray:
    """A door slam: a sharp broadband thud with a low body, dying away within about 0.3 s."""
    t = np.arange(int(0.4 * rate)) / rate
    noise = np.random.default_rng(seed).standard_normal(len(t))
    return noise * np.exp(-t / 0.03) + 2 * np.sin(2 * np.pi * 70 * t) * np.exp(-t / 0.08)


def cough(rate: int, seed: int = 4) -> np.ndarray:
    """A cough: a burst of breathy noise through throat resonances, loud at once and gone in 0.25 s."""
    n = int(0.25 * rate)
    t = np.arange(n) / rate
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    shape = sum(np.exp(-(((freqs - f) / 250.0) ** 2)) for f in (500, 1500, 2500)) + 0.05
    burst = np.fft.irfft(spectrum * shape, n)
    return burst * np.minimum(1.0, t / 0.01) * np.exp(-t / 0.08)


def placed(sound: np.ndarray, at_s: float, total_s: float, rate: int) -> np.ndarray:
    """`sound` placed at `at_s` in a track of silence `total_s` long."""
    track = np.zeros(int(total_s * rate))
    start = int(at_s * rate)
    track[start : start + len(sound)] = sound[: len(track) - start]
    return track


def as_int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(samples), -32768, 32767).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Write float samples (int16 scale) as a 16-bit mono WAV."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(as_int16(samples).tobytes())
    return path


# -- the scenes the room tests (tests/audio/test_room_on_rig.py) and bench/room_replay.py share -----------

WORDS = "안녕하세요 오늘은 날씨가 정말 좋습니다"
LEAD_S = 1.5
"""Room only, before the person speaks."""
SILENCE_AFTER_S = 2.0
SLACK_S = 1.5
"""The issue's bound: an answer ends by silence within the setting + 1.5 s of the last word."""
NO_SPEECH_S = 5.0


def speech_parts(
    rate: int,
    peak_dbfs: float,
    pauses_s: tuple[float, ...] = (),
    meter: bool = False,
) -> tuple[np.ndarray, list[float]]:
    """Real espeak-ng speech at a peak level (its sample peak, or with `meter` its loudest 100 ms as a level meter
    shows it), said once more after each pause; with where each part starts."""
    voice = espeak(WORDS, rate)
    voice = at_loudest_dbfs(voice, peak_dbfs, rate) if meter else at_peak_dbfs(voice, peak_dbfs)
    parts, starts, at = [voice], [0.0], len(voice) / rate
    for pause in pauses_s:
        parts += [np.zeros(int(pause * rate)), voice]
        starts.append(at + pause)
        at += pause + len(voice) / rate
    return np.concatenate(parts), starts
