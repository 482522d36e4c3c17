"""Compress a finished answer's WAV to Ogg Opus (or FLAC) crash-safely, and decode any answer file."""

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from common.errors import AudioCorrupt, DegradedWarning
from common.files import FILE_MODE, PART_SUFFIX, fsync_dir

OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
OPUS_LEVEL = 0.9
"""libsndfile's Opus compression level (0 = largest, 1 = smallest): about 32 kbit/s, clear speech."""
BLOCK_FRAMES = 48000
DURATION_TOLERANCE_S = 0.02
"""How far a compressed answer's length may stray from its WAV's and still count as the same audio."""


def opus_available() -> bool:
    """True when the installed libsndfile can write Ogg Opus."""
    return "OPUS" in sf.available_subtypes("OGG")


def compress_answer(wav_path: Path, codec: str = "opus") -> Path:
    """Encode `wav_path` beside itself, make the new file durable, then remove the WAV; return the new path.

    "opus" is lossy and small (FLAC where libsndfile lacks Opus); "flac" keeps every sample.
    """
    wav_path = Path(wav_path)
    try:
        source = sf.SoundFile(wav_path)
    except (sf.SoundFileError, OSError) as exc:
        raise AudioCorrupt(f"cannot read {wav_path.name} to compress it: {exc}") from exc
    with source:
        if source.channels != 1:
            raise AudioCorrupt(f"{wav_path.name} has {source.channels} channels; answers are mono")
        source_seconds = source.frames / source.samplerate
        if codec == "opus" and opus_available():
            target = wav_path.with_suffix(".opus")
            rate = source.samplerate if source.samplerate in OPUS_RATES else 48000
            options = {"format": "OGG", "subtype": "OPUS", "compression_level": OPUS_LEVEL}
        else:
            if codec == "opus":
                warnings.warn(
                    "this libsndfile cannot write Opus; answers are kept as FLAC", DegradedWarning, stacklevel=2
                )
            target = wav_path.with_suffix(".flac")
            rate = source.samplerate
            options = {"format": "FLAC", "subtype": "PCM_16"}
        part = target.with_name(target.name + PART_SUFFIX)
        _encode(source, part, rate, options)
    _check_complete(part, source_seconds)
    os.replace(part, target)
    fsync_dir(target.parent)
    wav_path.unlink()
    fsync_dir(target.parent)
    return target


def _encode(source: sf.SoundFile, part: Path, rate: int, options: dict[str, Any]) -> None:
    """Stream `source` (resampled to `rate` if needed) into `part`, then fsync it."""
    stream = None if rate == source.samplerate else soxr.ResampleStream(source.samplerate, rate, 1, dtype="float32")
    fd = os.open(part, os.O_RDWR | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    try:
        with os.fdopen(fd, "w+b") as raw:
            with sf.SoundFile(raw, "w", rate, 1, **options) as out:
                while True:
                    block = source.read(BLOCK_FRAMES, dtype="float32")
                    last = len(block) < BLOCK_FRAMES
                    out.write(block if stream is None else stream.resample_chunk(block, last=last))
                    if last:
                        break
            raw.flush()
            os.fsync(raw.fileno())
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _check_complete(part: Path, seconds: float) -> None:
    """Refuse to replace the WAV unless the compressed file opens and lasts as long as the original."""
    try:
        info = sf.info(str(part))
    except sf.SoundFileError as exc:
        part.unlink(missing_ok=True)
        raise AudioCorrupt(f"the compressed {part.name} is unreadable: {exc}") from exc
    if abs(info.frames / info.samplerate - seconds) > DURATION_TOLERANCE_S:
        part.unlink(missing_ok=True)
        raise AudioCorrupt(f"the compressed {part.name} lasts {info.duration:.2f} s, not {seconds:.2f} s")


def decode(path: Path) -> tuple[np.ndarray, int]:
    """Read a WAV, Opus or FLAC answer as 16-bit mono samples and its sample rate."""
    try:
        samples, rate = sf.read(str(path), dtype="int16", always_2d=True)
    except (sf.SoundFileError, OSError) as exc:
        raise AudioCorrupt(f"cannot read {Path(path).name}: {exc}") from exc
    return samples[:, 0].copy(), rate
