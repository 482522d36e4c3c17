"""Sealed sessions made for the sealing and opening tests: an owner's key and a finished, compressed session."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

from audio.compress import compress_answer
from bench.archive_factory import write_session
from device.notes import record
from device.notes.opening import identities

SECRET_WORDS = [["zorblax", "quintessa", "mirvelle"], None, ["plumbrick", "vantaloop"]]
STARTED = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
LATER = STARTED + timedelta(days=2)


def owner_of(key: Path):
    return identities(key)[0].to_public()


def compressed_session(data_dir: Path, words=SECRET_WORDS, started=STARTED) -> Path:
    """A finished session as the device leaves it: Opus answers, transcripts, transcript.md written by record."""
    folder = write_session(data_dir, started, words, rate=16000)
    raw = record.read(folder)
    for answer in raw["answers"]:
        if answer["audio"]:
            answer["audio"] = compress_answer(folder / answer["audio"]).name
    record.write(folder, raw)
    record.write_transcript(folder, raw)
    return folder


def files_in(folder: Path) -> dict[str, bytes]:
    """Every file of a session folder by name, with its bytes."""
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def said_anywhere(root: Path, words) -> list[str]:
    """Every (file, word) where a word said appears in plain bytes anywhere under `root`."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            found += [f"{path.relative_to(root)}: {w}" for w in words if w.encode() in data]
    return found
