"""Time listing and search on generated archives of 1,000 and 10,000 answers, and Opus bytes per minute of speech."""

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audio.compress import compress_answer  # noqa: E402 (after the sys.path line: it runs as a script)
from bench.archive_factory import espeak_samples, make_archive, write_wav  # noqa: E402 (after the sys.path line: it runs as a script)
from device.notes.archive import Archive  # noqa: E402 (after the sys.path line: it runs as a script)

RUNS = 7
SPEECH = (
    "I have been thinking about what my therapist said last week. It felt strange at first, but I think "
    "she was right that I keep people at a distance when things get hard. This week I tried to tell my "
    "sister how I really felt, and it went better than I expected. I want to keep practising that."
)


def median_ms(operation) -> float:
    """Median wall time of `operation` over RUNS runs, in milliseconds."""
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        operation()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_archive(answers: int) -> tuple[float, float, float, float]:
    """(first listing with index build, warm listing, warm search, fresh-process listing) in ms
    for `answers` answers."""
    with tempfile.TemporaryDirectory() as tmp:
        make_archive(Path(tmp), answers // 4, 4, shared_audio=True)
        start = time.perf_counter()
        assert len(Archive(Path(tmp)).sessions()) == answers // 4
        cold = (time.perf_counter() - start) * 1000
        archive = Archive(Path(tmp))
        listing = median_ms(archive.sessions)
        search = median_ms(lambda: archive.search(["trust", "sister"]))
        fresh = median_ms(lambda: Archive(Path(tmp)).sessions())
    return cold, listing, search, fresh


def opus_bytes_per_minute() -> float:
    """Size of espeak-ng speech at 44.1 kHz after compress_answer, per minute."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "01.wav"
        seconds = write_wav(wav, espeak_samples(SPEECH, 44100), 44100)
        return compress_answer(wav).stat().st_size / seconds * 60


def main() -> None:
    """Print the table."""
    print(
        f"{'answers':>8} {'first list (build)':>19} {'list':>8} {'search':>8} {'list, new Archive':>18}"
        f"   (ms, median of {RUNS})"
    )
    for answers in (1000, 10000):
        cold, listing, search, fresh = bench_archive(answers)
        print(f"{answers:>8} {cold:>19.0f} {listing:>8.1f} {search:>8.1f} {fresh:>18.1f}")
    wav_rate = 44100 * 2 * 60
    opus = opus_bytes_per_minute()
    print(
        f"Opus: {opus / 1000:.0f} kB per minute of espeak-ng speech "
        f"(16-bit WAV at 44.1 kHz: {wav_rate / 1000:.0f} kB/min)"
    )


if __name__ == "__main__":
    main()
