"""Writes realistic test archives: session folders with real WAVs and session.json in the on-disk format."""

import json
import os
import random
import subprocess
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

WORD_START_S = 0.3
WORD_STEP_S = 0.5
WORD_LENGTH_S = 0.35
TAIL_S = 0.2
VOCAB = (
    "i feel safer there when we talk about my mother and the week was hard but "
    "something shifted after the session trust anger grief work sleep sister "
    "listening patience distance closer honest afraid hopeful tired calm boundary"
).split()
PACK = {"id": "therapy-relationship", "title": "Why the therapy relationship matters", "language": "en"}
QUESTIONS = (
    "How is your relationship with your therapist right now?",
    "What felt different in the last session?",
    "What would you like to bring up next time?",
    "What do you want to remember from today?",
)


def word_times(count: int) -> list[tuple[float, float]]:
    """(start, end) of each word in a tone answer: one burst every half second after a short lead-in."""
    return [
        (round(WORD_START_S + i * WORD_STEP_S, 3), round(WORD_START_S + i * WORD_STEP_S + WORD_LENGTH_S, 3))
        for i in range(count)
    ]


def tone_samples(count: int, rate: int) -> np.ndarray:
    """An int16 recording with one tone burst where each of `count` words is said."""
    total = WORD_START_S + count * WORD_STEP_S + TAIL_S
    samples = np.zeros(int(round(total * rate)), dtype=np.float64)
    for i, (start, end) in enumerate(word_times(count)):
        a, b = int(start * rate), int(end * rate)
        t = np.arange(b - a) / rate
        samples[a:b] = 0.3 * np.sin(2 * np.pi * (220 + 40 * (i % 12)) * t)
    return (samples * 32767).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> float:
    """Write 16-bit mono PCM (mode 0600) and return its duration in seconds."""
    sf.write(str(path), samples, rate, subtype="PCM_16", format="WAV")
    os.chmod(path, 0o600)
    return len(samples) / rate


def espeak_samples(text: str, rate: int = 44100, voice: str = "en") -> np.ndarray:
    """Real synthesized speech from espeak-ng, resampled to `rate`, as int16."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(out), text], check=True, capture_output=True, timeout=60)
        speech, source_rate = sf.read(str(out), dtype="float32")
    return (np.clip(soxr.resample(speech, source_rate, rate), -1, 1) * 32767).astype(np.int16)


def answer_entry(index: int, question: str, words: list[str] | None, audio: str | None, duration: float) -> dict:
    """One session.json answer; `words` None means skipped."""
    if words is None:
        return {
            "index": index,
            "question": question,
            "audio": None,
            "duration_s": 0.0,
            "transcript": "",
            "words": [],
            "status": "skipped",
            "ended_by": "no_speech",
        }
    timed = [{"word": w, "start": s, "end": e, "conf": 0.9} for w, (s, e) in zip(words, word_times(len(words)))]
    return {
        "index": index,
        "question": question,
        "audio": audio,
        "duration_s": round(duration, 3),
        "transcript": " ".join(words),
        "words": timed,
        "status": "answered",
        "ended_by": "press",
    }


def write_session(
    data_dir: Path,
    started: datetime,
    answers: list[list[str] | None],
    *,
    rate: int = 44100,
    status: str = "complete",
    shared_wav: Path | None = None,
) -> Path:
    """Write one session folder: a tone WAV per answered question (or a hard link to `shared_wav`) and session.json."""
    session_id = started.strftime("%Y-%m-%d_%H%M%S")
    folder = Path(data_dir) / "sessions" / session_id
    n = 1
    while folder.exists():
        n += 1
        folder = folder.with_name(f"{session_id}-{n}")
    folder.mkdir(parents=True, mode=0o700)
    entries = []
    for i, words in enumerate(answers, 1):
        question = QUESTIONS[(i - 1) % len(QUESTIONS)]
        audio, duration = None, 0.0
        if words is not None:
            audio = f"{i:02d}.wav"
            duration = WORD_START_S + len(words) * WORD_STEP_S + TAIL_S
            if shared_wav is None:
                write_wav(folder / audio, tone_samples(len(words), rate), rate)
            else:
                os.link(shared_wav, folder / audio)
        entries.append(answer_entry(i, question, words, audio, duration))
    doc = {
        "version": 1,
        "id": folder.name,
        "pack": PACK,
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(minutes=8)).isoformat(),
        "status": status,
        "sample_rate": rate,
        "questions": [e["question"] for e in entries],
        "answers": entries,
    }
    (folder / "session.json").write_text(json.dumps(doc, indent=2))
    (folder / "transcript.md").write_text("\n\n".join(f"## {e['question']}\n\n{e['transcript']}" for e in entries))
    return folder


def make_archive(
    data_dir: Path,
    sessions: int,
    answers_per_session: int = 4,
    *,
    seed: int = 1,
    max_words: int = 40,
    shared_audio: bool = False,
) -> list[Path]:
    """Write `sessions` sessions a day apart with random answers (about one in ten skipped)."""
    rng = random.Random(seed)
    shared = None
    if shared_audio:
        shared = Path(data_dir) / "shared-audio.wav"
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        write_wav(shared, tone_samples(max_words, 44100), 44100)
    start = datetime(2026, 1, 1, 9, 0, 0, tzinfo=timezone.utc)
    folders = []
    for s in range(sessions):
        answers = [
            None if rng.random() < 0.1 else rng.choices(VOCAB, k=rng.randint(3, max_words))
            for _ in range(answers_per_session)
        ]
        folders.append(
            write_session(data_dir, start + timedelta(days=s, minutes=rng.randint(0, 600)), answers, shared_wav=shared)
        )
    if shared is not None:
        shared.unlink()
    return folders


def damage(folder: Path, kind: str) -> None:
    """Break a session folder the way real faults do: bad_json, unknown_version, missing_audio, truncated_wav,
    garbage_wav."""
    doc_path = folder / "session.json"
    if kind == "bad_json":
        doc_path.write_text(doc_path.read_text()[:40])
    elif kind == "unknown_version":
        doc = json.loads(doc_path.read_text())
        doc["version"] = 99
        doc_path.write_text(json.dumps(doc))
    else:
        wav = sorted(folder.glob("*.wav"))[0]
        if kind == "missing_audio":
            wav.unlink()
        elif kind == "truncated_wav":
            data = wav.read_bytes()
            wav.write_bytes(data[: len(data) // 3])
        elif kind == "garbage_wav":
            wav.write_bytes(bytes(random.Random(7).randrange(256) for _ in range(4000)))
        else:
            raise ValueError(kind)
