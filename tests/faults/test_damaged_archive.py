"""A corpus of damaged archives: listing, replaying and recovering never crash or hang; nothing is deleted."""

import json
import logging
import random
import struct
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from audio.fakes import FakeRecognizer
from bench.archive_factory import write_session
from device.notes.archive import Archive
from device.notes.recovery import recover
from tests.faults.support import sha256

START = datetime(2026, 2, 1, 9, 0, 0, tzinfo=timezone.utc)
TIMEOUT_S = 20


def _wav(folder: Path) -> Path:
    return sorted(folder.glob("*.wav"))[0]


def _rewrite_json(folder: Path, change) -> None:
    doc = json.loads((folder / "session.json").read_text())
    change(doc)
    (folder / "session.json").write_text(json.dumps(doc))


def _patch(path: Path, offset: int, data: bytes) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset : offset + len(data)] = data
    path.write_bytes(bytes(raw))


AUDIO_DAMAGE = {
    "truncated_wav": lambda f: _wav(f).write_bytes(_wav(f).read_bytes()[: len(_wav(f).read_bytes()) // 3]),
    "header_only_wav": lambda f: _wav(f).write_bytes(_wav(f).read_bytes()[:44]),
    "zero_length_wav": lambda f: _wav(f).write_bytes(b""),
    "zero_header": lambda f: _patch(_wav(f), 0, bytes(44)),
    "ffff_sizes": lambda f: (_patch(_wav(f), 4, b"\xff\xff\xff\xff"), _patch(_wav(f), 40, b"\xff\xff\xff\xff")),
    "odd_length": lambda f: _wav(f).write_bytes(_wav(f).read_bytes()[:-1]),
    "odd_length_plus_one": lambda f: _wav(f).write_bytes(_wav(f).read_bytes() + b"\x7f"),
    "junk_chunk_before_data": lambda f: _wav(f).write_bytes(
        _wav(f).read_bytes()[:36] + b"JUNK" + struct.pack("<I", 0x7FFFFFF0) + bytes(64) + _wav(f).read_bytes()[36:]
    ),
    "junk_chunk_after_data": lambda f: _wav(f).write_bytes(
        _wav(f).read_bytes() + b"LIST" + struct.pack("<I", 0xFFFFFFFF) + b"INFO"
    ),
    "huge_fmt_chunk": lambda f: _patch(_wav(f), 16, struct.pack("<I", 0xFFFFFF00)),
    "zero_rate": lambda f: _patch(_wav(f), 24, struct.pack("<I", 0)),
    "garbage_wav": lambda f: _wav(f).write_bytes(bytes(random.Random(7).randrange(256) for _ in range(4000))),
    "missing_audio": lambda f: _wav(f).unlink(),
    "audio_is_a_folder": lambda f: (_wav(f).unlink(), _wav_dir(f)),
    "garbage_part": lambda f: (f / "04.wav.part").write_bytes(
        bytes(random.Random(5).randrange(256) for _ in range(3001))
    ),
    "tiny_part": lambda f: (f / "04.wav.part").write_bytes(b"RIFF"),
    "stray_opus_part": lambda f: (f / "01.opus.part").write_bytes(b"OggS\x00"),
}


def _wav_dir(folder: Path) -> None:
    (folder / "01.wav").mkdir()


JSON_DAMAGE = {
    "invalid_json": lambda f: (f / "session.json").write_text((f / "session.json").read_text()[:40]),
    "empty_json": lambda f: (f / "session.json").write_bytes(b""),
    "binary_json": lambda f: (f / "session.json").write_bytes(bytes(range(256))),
    "json_not_object": lambda f: (f / "session.json").write_text("[1, 2, 3]"),
    "unknown_version": lambda f: _rewrite_json(f, lambda d: d.update(version=99)),
    "no_version": lambda f: _rewrite_json(f, lambda d: d.pop("version")),
    "answers_not_list": lambda f: _rewrite_json(f, lambda d: d.update(answers="lots")),
    "answer_not_object": lambda f: _rewrite_json(f, lambda d: d["answers"].append(7)),
    "missing_json": lambda f: (f / "session.json").unlink(),
    "bad_rate": lambda f: _rewrite_json(f, lambda d: d.update(sample_rate="fast")),
    "audio_path_escapes": lambda f: _rewrite_json(
        f, lambda d: d["answers"][0].update(audio="../../../../etc/passwd", transcript=None)
    ),
}

ODD_BUT_READABLE = {
    "null_words": lambda f: _rewrite_json(f, lambda d: d["answers"][0].update(words=None)),
    "in_progress_no_parts": lambda f: _rewrite_json(f, lambda d: d.update(status="in_progress")),
    "duration_longer_than_audio": lambda f: _rewrite_json(f, lambda d: d["answers"][0].update(duration_s=999.0)),
}


def build_corpus(data_dir: Path) -> dict[str, Path]:
    folders = {}
    kinds = {**AUDIO_DAMAGE, **JSON_DAMAGE, **ODD_BUT_READABLE}
    for n, (kind, damage) in enumerate(sorted(kinds.items())):
        folder = write_session(
            data_dir, START + timedelta(days=n), [["i", "feel", "calm"], None, ["trust", "work"]], rate=16000
        )
        damage(folder)
        folders[kind] = folder
    folders["healthy"] = write_session(data_dir, START + timedelta(days=len(kinds)), [["hopeful", "tired"]], rate=16000)
    return folders


_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-ops")  # SQLite wants one thread


def within_deadline(what: str, operation):
    """Run `operation` on the worker thread; fail (rather than hang the suite) if it takes more than TIMEOUT_S."""
    future = _WORKER.submit(operation)
    try:
        return future.result(TIMEOUT_S)
    except FutureTimeout:
        pytest.fail(f"{what} hung")


def files_by_content(root: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in root.rglob("*"):
        if path.is_file():
            out.setdefault(sha256(path), []).append(str(path.relative_to(root)))
    return out


def test_damaged_archives_never_crash_or_hang_and_nothing_is_deleted(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    data = tmp_path / "data"
    folders = build_corpus(data)
    originals = {
        name: sha256(path)
        for kind, folder in folders.items()
        for path in folder.iterdir()
        if path.is_file()
        for name in [f"{kind}:{path.name}"]
        if not path.name.endswith(".part") and path.name != "transcript.md"
    }

    report = within_deadline("recovery", lambda: recover(data, new_recognizer=FakeRecognizer))
    assert report.problems == []
    archive = Archive(data)
    listing = within_deadline("listing", archive.listing)
    played = 0
    for summary in listing.sessions:
        session = within_deadline(f"loading {summary.id}", lambda: archive.load(summary.id))
        for item in within_deadline(f"replaying {summary.id}", lambda: list(archive.replay(session))):
            played += item.samples is not None
    within_deadline("search", lambda: archive.search(["calm"]))
    within_deadline("recovery again", lambda: recover(data, new_recognizer=FakeRecognizer))

    damaged = data / "damaged"
    set_aside = {p.name for p in damaged.iterdir()}
    for kind in JSON_DAMAGE:
        assert folders[kind].name in set_aside, kind
        assert any(folders[kind].name in r.getMessage() and r.levelno >= logging.WARNING for r in caplog.records), kind
    readable = {s.id for s in listing.sessions}
    for kind in [*AUDIO_DAMAGE, *ODD_BUT_READABLE, "healthy"]:
        assert folders[kind].name in readable, kind
    assert played > 0

    # Never deleted: every original file's bytes are still somewhere under the data dir
    # (session.json may have been updated by recovery, e.g. an in-progress session marked interrupted).
    after = files_by_content(data)
    for name, digest in originals.items():
        if name.endswith("session.json") and name.split(":")[0] in (
            "in_progress_no_parts",
            "garbage_part",
            "tiny_part",
            "stray_opus_part",
        ):
            continue
        if name.split(":")[0] == "stray_opus_part" and name.endswith(".opus.part"):
            continue
        assert digest in after, f"{name} was lost"
    assert report.repaired, "the garbage part was sealed into a playable file"
    assert (folders["garbage_part"] / "04.wav").exists()
    assert not (folders["tiny_part"] / "04.wav.part").exists()
    assert not list(data.rglob("*.tmp"))


@pytest.mark.parametrize("kind", sorted(JSON_DAMAGE))
def test_recovery_sets_aside_a_session_it_cannot_read_with_a_log_line(tmp_path, caplog, kind):
    data = tmp_path / "data"
    folder = write_session(data, START, [["calm"]], rate=16000, status="in_progress")
    if kind != "missing_json":
        (folder / "01.wav.part").write_bytes((folder / "01.wav").read_bytes())
    JSON_DAMAGE[kind](folder)
    before = {p.name: sha256(p) for p in folder.iterdir()}
    with caplog.at_level(logging.WARNING):
        report = recover(data)
    [moved] = report.set_aside
    target = data / moved
    assert {p.name: sha256(p) for p in target.iterdir()} == before, "moved whole, nothing changed or deleted"
    assert any("damaged" in r.getMessage() and folder.name in r.getMessage() for r in caplog.records)
