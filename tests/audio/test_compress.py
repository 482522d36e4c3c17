"""Compression of finished answers: real espeak-ng speech, real files, a real kill -9 mid-encode."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
import soxr

from audio.compress import compress_answer, decode, opus_available
from bench.archive_factory import espeak_samples, tone_samples, write_wav
from common.errors import AudioCorrupt

SPEECH = "I keep people at a distance when things get hard. This week I told my sister how I felt."


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Peak normalized cross-correlation of two float signals (tolerates the codec's small delay)."""
    n = min(len(a), len(b))
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    spectrum = np.fft.rfft(a, 2 * n) * np.conj(np.fft.rfft(b, 2 * n))
    return float(np.abs(np.fft.irfft(spectrum)).max() / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def speech_44k() -> np.ndarray:
    return espeak_samples(SPEECH, 44100)


def test_libsndfile_here_writes_opus():
    assert opus_available()


def test_speech_at_44100_becomes_48k_opus_and_the_wav_goes(tmp_path, speech_44k):
    wav = tmp_path / "01.wav"
    seconds = write_wav(wav, speech_44k, 44100)
    new = compress_answer(wav)
    assert new == tmp_path / "01.opus"
    assert not wav.exists() and not list(tmp_path.glob("*.part"))
    assert new.stat().st_mode & 0o777 == 0o600
    samples, rate = decode(new)
    assert rate == 48000 and samples.dtype == np.int16
    assert len(samples) / rate == pytest.approx(seconds, abs=0.02)
    reference = soxr.resample(speech_44k.astype(np.float32) / 32768, 44100, 48000)
    assert _similarity(samples.astype(np.float32) / 32768, reference) > 0.8
    assert new.stat().st_size < 0.2 * len(speech_44k) * 2


@pytest.mark.parametrize("rate", [16000, 48000])
def test_opus_rates_are_kept(tmp_path, rate):
    wav = tmp_path / "02.wav"
    write_wav(wav, tone_samples(4, rate), rate)
    samples, got = decode(compress_answer(wav))
    assert got == rate and len(samples) == pytest.approx(len(tone_samples(4, rate)), abs=rate * 0.02)


def test_unreadable_wav_is_refused_and_kept(tmp_path):
    wav = tmp_path / "03.wav"
    wav.write_bytes(b"RIFF but not really a wave file at all" * 20)
    with pytest.raises(AudioCorrupt, match="03.wav"):
        compress_answer(wav)
    assert wav.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["03.wav"]


def test_decode_reports_garbage_clearly(tmp_path):
    junk = tmp_path / "04.opus"
    junk.write_bytes(os.urandom(3000))
    with pytest.raises(AudioCorrupt, match="cannot read 04.opus"):
        decode(junk)


def test_kill_9_while_encoding_keeps_the_wav_whole(tmp_path):
    wav = tmp_path / "05.wav"
    long = np.tile(tone_samples(40, 44100), 15)
    write_wav(wav, long, 44100)
    original = wav.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", f"from audio.compress import compress_answer; compress_answer({str(wav)!r})"]
    )
    part = tmp_path / "05.opus.part"
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 20000) and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the encoder finished before it could be killed"
    assert wav.read_bytes() == original
    assert not (tmp_path / "05.opus").exists()
    new = compress_answer(wav)
    assert sf.info(str(new)).duration == pytest.approx(len(long) / 44100, abs=0.02)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["05.opus"]


def test_flac_keeps_every_sample_at_the_capture_rate(tmp_path, speech_44k):
    wav = tmp_path / "02.wav"
    write_wav(wav, speech_44k, 44100)
    new = compress_answer(wav, codec="flac")
    assert new.name == "02.flac" and not wav.exists()
    samples, rate = decode(new)
    assert rate == 44100 and np.array_equal(samples, speech_44k)
