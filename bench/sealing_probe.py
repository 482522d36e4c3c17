"""What sealing a session costs (issue 14): CPU and wall time after the session, and stored size, per minute
of speech, beside bare pyrage.encrypt of the same bytes. No rig: a synthesized answer, compressed as the
device keeps it (Opus), in a session written by the device's own notes code.

Usage: python -m bench.sealing_probe SPEC.json RESULT.json   (SPEC: {"minutes": 1, "repeats": 5})
"""

import statistics
import tempfile
import time
from pathlib import Path

from bench.probes import cpu_s, read_spec, write_result

MB = 1e6
TEXT = (
    "I feel safer there when we talk about my mother and the week was hard but something shifted after the session. "
) * 3


def _session(data_dir: Path, minutes: float) -> Path:
    """One finished session whose single answer is `minutes` of espeak-ng speech, compressed to Opus."""
    import numpy as np

    from audio.compress import compress_answer
    from audio.recognizer import Transcript, Word
    from bench.archive_factory import espeak_samples, write_wav
    from content.packs import Pack
    from device.notes.session_notes import SessionNotes

    rate = 16000
    speech = espeak_samples(TEXT, rate)
    samples = np.tile(speech, int(np.ceil(minutes * 60 * rate / len(speech))))[: int(minutes * 60 * rate)]
    pack = Pack(
        id="bench",
        title="Bench",
        language="en",
        greeting="Hello.",
        questions=("What happened?",),
        closing="Bye.",
        voice="en",
        rate=160,
        sample_answers=(),
        source=Path(__file__),
    )
    notes = SessionNotes.begin(data_dir, pack, rate)
    duration = write_wav(notes.audio_path(1), samples, rate)
    notes.add_answer(1, notes.audio_path(1).name, duration, "answered", "silence")
    words = TEXT.split() * int(np.ceil(minutes * 60 / 20))
    notes.set_transcript(
        1, Transcript(" ".join(words), tuple(Word(w, i * 0.4, i * 0.4 + 0.3, 0.9) for i, w in enumerate(words)))
    )
    notes.set_audio(1, compress_answer(notes.audio_path(1)).name)
    notes.finish("complete")
    return notes.folder


def _stored(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def measure(minutes: float) -> dict:
    """Seal one session of `minutes` of speech; time bare pyrage.encrypt over the same plain bytes."""
    import pyrage
    from pyrage import x25519

    from device.notes import record
    from device.notes.sealing import seal_due

    owner = x25519.Identity.generate().to_public()
    with tempfile.TemporaryDirectory(prefix="reflect-seal-bench-", dir=Path.home()) as tmp:
        folder = _session(Path(tmp), minutes)
        plain = [p.read_bytes() for p in sorted(folder.iterdir()) if p.name != record.RECORD_NAME]
        before = _stored(folder)
        cpu0, wall0 = cpu_s(), time.perf_counter()
        for data in plain:
            pyrage.encrypt(data, [owner])
        bare_cpu, bare_wall = cpu_s() - cpu0, time.perf_counter() - wall0
        cpu0, wall0 = cpu_s(), time.perf_counter()
        assert seal_due(Path(tmp), owner, 0).sealed == [folder.name]
        cpu, wall = cpu_s() - cpu0, time.perf_counter() - wall0
        return {
            "minutes": minutes,
            "cpu_s": cpu,
            "wall_s": wall,
            "bare_cpu_s": bare_cpu,
            "bare_wall_s": bare_wall,
            "plain_bytes": before,
            "sealed_bytes": _stored(folder),
        }


def rows(runs: list[dict]) -> list[dict]:
    """The report's rows (bench/report.py): sealing's cost and size per minute of speech, medians over runs."""

    def per_min(key):
        return statistics.median(r[key] / r["minutes"] for r in runs)

    size_ratio = statistics.median(r["sealed_bytes"] / r["plain_bytes"] for r in runs)
    cpu_ratio = per_min("cpu_s") / per_min("bare_cpu_s")
    return [
        {
            "figure": "Sealing a finished session to the owner's age key "
            "(after the session, on the recognizer's worker): "
            "CPU time per minute of speech",
            "value": per_min("cpu_s") * 1000,
            "unit": "ms",
            "reference": f"bare pyrage.encrypt of the same files: {per_min('bare_cpu_s') * 1000:.1f} ms CPU per minute",
            "target": f"≤ 100 ms per minute of speech (ratio to bare: {cpu_ratio:.1f})",
            "pass": per_min("cpu_s") <= 0.1,
            "detail": f"wall time {per_min('wall_s') * 1000:.0f} ms per minute of speech (bare encrypt "
            f"{per_min('bare_wall_s') * 1000:.1f} ms; the rest is writing and syncing the sealed files, "
            f"session.json and the search index); {len(runs)} run(s) of {runs[0]['minutes']:g} min",
        },
        {
            "figure": "Stored size of a session sealed, against the same session unsealed (Opus answer, transcript, "
            "words, transcript.md, session.json)",
            "value": size_ratio,
            "unit": "×",
            "reference": f"unsealed: {per_min('plain_bytes') / MB:.3f} MB/min; "
            f"sealed: {per_min('sealed_bytes') / MB:.3f} MB/min "
            "(sealed words are kept once, compact, instead of in session.json and transcript.md)",
            "target": "≤ 1.05 ×",
            "pass": size_ratio <= 1.05,
            "detail": "",
        },
    ]


def main() -> None:
    spec = read_spec()
    write_result({"runs": [measure(spec.get("minutes", 1)) for _ in range(spec.get("repeats", 5))]})


if __name__ == "__main__":
    main()
