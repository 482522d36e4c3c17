"""Sealing finished sessions to the owner's age key, so the device can write notes it can no longer read.

Once a session's transcripts and compression are done (and `readable_for_h` has passed), each answer's
audio and everything said (transcripts, timed words, transcript.md) go into `.age` files sealed to the
owner's recipient; session.json then keeps only what was not said (record.sealed). The order makes a kill
at any moment safe: every sealed file is written as `.age.part`, synced and renamed; then the search index
forgets the session's words; then session.json says the session is sealed; only then are the plain files
removed. `settle` (run by recovery) finishes either way: a sealed record loses its plain leftovers, an
unsealed one its orphaned `.age` files; recovery also removes any words of a sealed session the index holds.
"""

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyrage
from pyrage import x25519

from common.errors import KeyInvalid, SessionDamaged
from common.files import PART_SUFFIX, atomic_write_bytes, fsync_dir, is_disk_full
from device.clock import Uptime, clock_status, uptime
from device.notes import record
from device.notes.archive import Archive
from device.notes.readable_time import ReadableCount, wall_elapsed_s
from device.notes.record import AUDIO_NAME, SAID_NAME, SEALED_SUFFIX, TRANSCRIPT_NAME, DataLayout, Raw, SessionStatus

log = logging.getLogger(__name__)

RECIPIENT_PREFIX = "age1"


def recipient(text: str) -> x25519.Recipient:
    """The owner's age recipient ("age1…"); KeyInvalid in one line if `text` is not one."""
    try:
        return x25519.Recipient.from_str(text.strip())
    except (pyrage.RecipientError, ValueError):
        raise KeyInvalid(
            f"{text[:16]!r} is not an age recipient (age1 and 58 more letters, "
            "as `reflect keys new` or age-keygen prints it)"
        ) from None


def recipient_problem(text: str) -> str | None:
    """Why `text` is not a usable privacy.recipient, or None ("" means sealing is off)."""
    if text == "":
        return None
    try:
        recipient(text)
    except KeyInvalid as error:
        return str(error)
    return None


@dataclass
class SealReport:
    """What a sealing pass did, by session id (never anything that was said)."""

    sealed: list[str] = field(default_factory=list)
    kept_for_later: list[str] = field(default_factory=list)
    """Sessions left plain because the disk was full; the next pass tries again."""


def is_ready(raw: Raw) -> bool:
    """True for a session that is over, transcribed and not yet sealed."""
    return (
        not record.is_sealed(raw)
        and raw.get("status") != SessionStatus.IN_PROGRESS
        and all(a.get("transcript") is not None for a in raw["answers"])
    )


def is_due(raw: Raw, readable_for_h: float, now: datetime, counted_s: float = 0.0, now_trusted: bool = False) -> bool:
    """True once a ready session has surely been readable for `readable_for_h` hours since it ended: by the wall
    clock where it cannot overcount, or by `counted_s`, the time the device counted itself (readable_time)."""
    if not is_ready(raw):
        return False
    try:
        wall = wall_elapsed_s(raw, now, now_trusted)
    except (KeyError, TypeError, ValueError):
        return True  # no usable time: seal rather than keep it plain forever
    return max(counted_s, -math.inf if wall is None else wall) >= readable_for_h * 3600


def seal_due(
    data_dir: Path,
    owner: x25519.Recipient,
    readable_for_h: float,
    now: datetime | None = None,
    now_trusted: bool | None = None,
    since_boot: Uptime | None = None,
    trust: str = "auto",
) -> SealReport:
    """Seal every session under `data_dir` that is due; then index them again, as sealed.

    `now`, `now_trusted` (the wall clock is set) and `since_boot` are read from the system unless given."""
    layout = DataLayout(Path(data_dir))
    now = now or datetime.now().astimezone()
    now_trusted = clock_status(trust).trusted if now_trusted is None else now_trusted
    count = ReadableCount.load(layout.seal_clock, since_boot or uptime())
    waiting: set[str] = set()
    report = SealReport()
    archive = Archive(data_dir)
    try:
        folders = sorted(
            p for p in DataLayout(Path(data_dir)).sessions.iterdir() if p.is_dir() and not p.name.startswith(".")
        )
    except FileNotFoundError:
        return report
    for folder in folders:
        try:
            raw = record.read(folder)
        except SessionDamaged:
            continue  # the archive and recovery deal with it
        if record.repair_problem(raw) or not is_ready(raw):
            continue
        if not is_due(raw, readable_for_h, now, count.seconds(folder.name), now_trusted):
            waiting.add(folder.name)
            continue
        try:
            seal_session(folder, raw, owner, now, archive)
        except OSError as error:
            if not is_disk_full(error):
                raise
            log.warning("disk full while sealing session %s; it stays readable until the next try", folder.name)
            report.kept_for_later.append(folder.name)
            continue
        report.sealed.append(folder.name)
    try:
        count.save(waiting)
    except OSError as error:
        if not is_disk_full(error):
            raise
        log.warning("disk full: the readable time of waiting sessions is counted from the last pass that saved it")
    if report.sealed:
        archive.sync_index()  # the index follows the records: sealed sessions come back without their words
        log.info("sealed %d session(s)", len(report.sealed))
    return report


def seal_session(folder: Path, raw: Raw, owner: x25519.Recipient, now: datetime, archive: Archive) -> None:
    """Seal one ready session: sealed copies first, then the index forgets its words, then the record,
    then the plain files go."""
    files, plain = [], []
    try:
        for answer in raw["answers"]:
            audio = answer.get("audio")
            if isinstance(audio, str) and (folder / audio).is_file():
                _write_sealed(folder / (audio + SEALED_SUFFIX), (folder / audio).read_bytes(), owner)
                files.append(audio + SEALED_SUFFIX)
                plain.append(folder / audio)
        _write_sealed(folder / SAID_NAME, json.dumps(record.said(raw)).encode(), owner)
        _write_sealed(folder / (TRANSCRIPT_NAME + SEALED_SUFFIX), record.transcript_markdown(raw).encode(), owner)
        files += [SAID_NAME, TRANSCRIPT_NAME + SEALED_SUFFIX]
        archive.forget(folder.name)  # never a sealed session whose words the index still holds
        record.write(folder, record.sealed(raw, files, now))
    except BaseException:
        for name in files:  # not sealed: the plain files stay the notes
            (folder / name).unlink()
        raise
    for path in plain + [folder / TRANSCRIPT_NAME]:
        path.unlink(missing_ok=True)
    _remove_plain_audio(folder, raw)
    fsync_dir(folder)
    log.info("session %s sealed", folder.name)


def _write_sealed(path: Path, data: bytes, owner: x25519.Recipient) -> None:
    """Write `data` sealed to `owner` at `path`: into `path`.part, synced, then renamed."""
    atomic_write_bytes(path, pyrage.encrypt(data, [owner]), tmp=path.with_name(path.name + PART_SUFFIX))


def _remove_plain_audio(folder: Path, raw: Raw) -> list[Path]:
    """Remove every plain recording (or part of one) of the answers of a sealed session; return what went."""
    answers = {answer.get("index") for answer in raw["answers"]}
    doomed = []
    for path in folder.iterdir():
        match = AUDIO_NAME.fullmatch(path.name.removesuffix(PART_SUFFIX))
        if match and int(match.group(1)) in answers:
            doomed.append(path)
    for path in doomed:
        path.unlink()
    return doomed


def settle(folder: Path, raw: Raw) -> list[Path]:
    """Recovery: finish a sealing a kill cut short, either way; return the files removed.

    Parts of sealed files go. If the record says the session is sealed, every plain copy of what was
    said goes (audio and transcript.md); if not, the plain files are the notes and `.age` files go."""
    doomed = [p for p in folder.iterdir() if p.name.endswith(SEALED_SUFFIX + PART_SUFFIX)]
    for path in doomed:
        path.unlink()
    if record.is_sealed(raw):
        transcript = folder / TRANSCRIPT_NAME
        if transcript.exists():
            transcript.unlink()
            doomed.append(transcript)
        doomed += _remove_plain_audio(folder, raw)
    else:
        orphans = [p for p in folder.iterdir() if p.name.endswith(SEALED_SUFFIX)]
        for path in orphans:
            path.unlink()
        doomed += orphans
    if doomed:
        fsync_dir(folder)
    return doomed


def sealer(data_dir: Path, recipient_text: str, readable_for_h: float, trust: str = "auto") -> Callable[[], None]:
    """What the device runs (on the recognizer's worker) at start, after each session and now and then:
    seal the sessions that are due; nothing when no recipient is set. A failure is logged and retried next time."""
    if not recipient_text:
        return lambda: None
    owner = recipient(recipient_text)

    def seal() -> None:
        try:
            seal_due(data_dir, owner, readable_for_h, trust=trust)
        except Exception:
            log.exception("sealing failed; the notes stay as they are until the next try")

    return seal
