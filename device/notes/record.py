"""The session record, session.json: its format, every value it keeps, and where it lives on disk.

The one module that builds, reads, validates, changes and writes session.json; the writer (session_notes),
the archive, recovery, the search index and export all go through it.
"""

import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from audio.recognizer import Transcript, Word
from common.errors import SessionDamaged, SessionNotFound
from common.files import PART_SUFFIX, atomic_write_bytes, atomic_write_text
from content.packs import Pack
from device.clock import ClockStatus, in_words

Raw = dict[str, Any]
"""A session record as session.json holds it (read by `read`, changed only by this module's functions)."""

FORMAT_VERSION = 3
"""2 added "seq" (the device's count of sessions) and "clock" (was the wall clock trusted when it began);
3 added each answer's "for_therapist" (marked with a double press, for `reflect brief`)."""
READABLE_VERSIONS = (1, 2, 3)
"""Versions `read` accepts; a version 1 record has no seq (it ranks below every numbered one) and its clock
counts as trusted (its dates show as they always did); in versions 1 and 2 no answer is marked."""
RECORD_NAME = "session.json"
TRANSCRIPT_NAME = "transcript.md"
RACY_S = 2.0
"""A sessions folder changed more recently than this may change again without its time moving (git's racy rule)."""
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
RESERVE_NAME = ".reserve"
"""Space a running session holds back in its folder, freed when the disk fills."""
COMPRESSED_FORMATS = ("opus", "flac")
"""How an answer may be kept besides WAV (storage.audio_format), each also its file's suffix."""
AUDIO_NAME = re.compile(r"(\d{2,})\.(" + "|".join(("wav", *COMPRESSED_FORMATS)) + ")")
"""An answer's audio file: its two-digit (or longer) index and format."""
COMPRESSED_SUFFIXES = tuple(f".{name}" for name in COMPRESSED_FORMATS)
SEALED_SUFFIX = ".age"
"""A file sealed to the owner's age key: `01.opus.age`, `said.json.age`, `transcript.md.age`."""
SAID_NAME = "said.json" + SEALED_SUFFIX
"""A sealed session's words: each answer's transcript and timed words."""
SAID_KEYS = ("transcript", "words")
"""What an answer's entry holds of what was said; a sealed session.json has neither."""


class SessionStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    ENDED_EARLY = "ended_early"
    INTERRUPTED = "interrupted"


class AnswerStatus(StrEnum):
    ANSWERED = "answered"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"


class EndedBy(StrEnum):
    """How an answer ended: on its own (the first three), by the person, or by a fault."""

    SILENCE = "silence"
    NO_SPEECH = "no_speech"
    MAX_LENGTH = "max_length"
    PRESS = "press"
    HOLD = "hold"
    MIC_LOST = "mic_lost"
    DISK_FULL = "disk_full"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class DataLayout:
    """Where everything lives under one data dir; the device carries one rather than recomputing paths."""

    root: Path

    @property
    def sessions(self) -> Path:
        return self.root / "sessions"

    @property
    def damaged(self) -> Path:
        """Session folders that could not be read, set aside (never deleted)."""
        return self.root / "damaged"

    @property
    def index(self) -> Path:
        return self.root / "index.sqlite3"

    @property
    def changes(self) -> Path:
        """A token every write of a session.json replaces (note_change): the index sees a change by it alone."""
        return self.root / ".changes"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def packs(self) -> Path:
        return self.root / "packs"

    @property
    def owner_lock(self) -> Path:
        """Locked (flock) by the one process that owns the notes: the service, a session, or a writing command."""
        return self.root / ".owner.lock"

    @property
    def sequence(self) -> Path:
        """The last session number given out (see next_sequence)."""
        return self.root / "sequence"

    @property
    def seal_clock(self) -> Path:
        """Sealing's count of how long unsealed sessions have really been readable (device.notes.sealing)."""
        return self.root / ".seal-clock.json"

    @property
    def briefs(self) -> Path:
        """The dates of the briefs written for the therapist (`reflect brief`, device.notes.brief)."""
        return self.root / "briefs.json"

    @property
    def looked_back(self) -> Path:
        """The earlier answers already offered by looking back (device.notes.look_back), never offered twice."""
        return self.root / "look_back.json"

    @property
    def replaced_whole(self) -> tuple[Path, ...]:
        """The data dir's own files that are replaced by an atomic write (a kill can leave its temp file)."""
        return (self.changes, self.sequence, self.seal_clock, self.briefs, self.looked_back)

    @property
    def runtime(self) -> Path:
        """The service's control socket folder when neither systemd nor the session gives a runtime dir."""
        return self.root / ".run"


@dataclass(frozen=True)
class Answer:
    """One answer as saved: its question, audio file name, transcript and timed words."""

    index: int
    question: str
    audio: str | None
    duration_s: float
    transcript: str
    words: tuple[Word, ...]
    status: str
    ended_by: str | None
    for_therapist: bool = False
    """Marked "for my therapist" with a double press during or right after it."""


@dataclass(frozen=True)
class Session:
    """A whole saved session as read from its session.json."""

    id: str
    path: Path
    pack_id: str
    pack_title: str
    language: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    sample_rate: int
    questions: tuple[str, ...]
    answers: tuple[Answer, ...]
    sealed: bool = False
    """What was said is in .age files only the owner's identity opens; transcripts here are empty."""
    seq: int = 0
    """The device's number for the session (1, 2, ...); 0 for a version 1 record, made before numbering."""
    clock_trusted: bool = True
    """False if the wall clock was not set when the session began: its dates are a guess."""

    def answer(self, index: int) -> Answer:
        """The answer numbered `index` (1-based, as in session.json)."""
        for answer in self.answers:
            if answer.index == index:
                return answer
        raise SessionNotFound(f"session {self.id} has no answer {index} (it has {len(self.answers)})")


# -- building ---------------------------------------------------------------------------------------


def new_session(session_id: str, pack: Pack, started: datetime, sample_rate: int, seq: int, clock: ClockStatus) -> Raw:
    """The record of a session that has just begun: number `seq`, dated by a clock that is `clock`."""
    return {
        "version": FORMAT_VERSION,
        "id": session_id,
        "seq": seq,
        "clock": {"trusted": clock.trusted, "reason": clock.reason},
        "pack": {"id": pack.id, "title": pack.title, "language": pack.language},
        "started_at": started.isoformat(timespec="seconds"),
        "ended_at": None,
        "status": SessionStatus.IN_PROGRESS,
        "sample_rate": sample_rate,
        "questions": list(pack.questions),
        "answers": [],
    }


def new_answer(
    index: int, question: str, audio: str | None, duration_s: float, status: AnswerStatus, ended_by: EndedBy
) -> Raw:
    """One answer's entry; its transcript is null until the recognizer (or recovery) fills it in."""
    return {
        "index": index,
        "question": question,
        "audio": audio,
        "duration_s": round(duration_s, 3),
        "transcript": "" if audio is None else None,
        "words": [],
        "status": AnswerStatus(status),
        "ended_by": EndedBy(ended_by),
        "for_therapist": False,
    }


def mark_for_therapist(raw: Raw, index: int) -> bool:
    """Mark answer `index` of a record "for my therapist" (in place); False if the record has no such answer."""
    for answer in raw["answers"]:
        if answer.get("index") == index:
            answer["for_therapist"] = True
            return True
    return False


def answer_audio_name(index: int) -> str:
    return f"{index:02d}.wav"


def is_file_name(name: object) -> bool:
    """True if `name` is a plain file name inside the session folder (no path, not . or ..)."""
    return isinstance(name, str) and Path(name).name == name and name not in ("", ".", "..")


# -- changing (the only edits made to a record, by the writer and by recovery) ---------------------------


def append_answer(raw: Raw, answer: Raw) -> None:
    """Note a new answer's entry (from `new_answer`)."""
    raw["answers"].append(answer)


def answer_entry(raw: Raw, index: int) -> Raw:
    """The entry of answer `index` (StopIteration if there is none)."""
    return next(a for a in raw["answers"] if a["index"] == index)


def set_transcript(answer: Raw, transcript: Transcript | None) -> None:
    """Fill in an answer entry's transcript and timed words; None (recognition failed) leaves both empty."""
    answer["transcript"] = transcript.text if transcript else ""
    answer["words"] = [vars(w) for w in transcript.words] if transcript else []


def set_audio(answer: Raw, name: str) -> None:
    """Point an answer entry at its audio file (compressed, or the one a crash left to keep)."""
    answer["audio"] = name


def set_interrupted_audio(answer: Raw, audio: str, duration_s: float) -> None:
    """An answer a crash cut short: its audio as recovery finished it, and how long that lasts."""
    answer.update(audio=audio, status=AnswerStatus.INTERRUPTED, duration_s=round(duration_s, 3))


def finish(raw: Raw, status: SessionStatus, ended_at: str) -> None:
    """How and when the session ended."""
    raw["status"] = SessionStatus(status)
    raw["ended_at"] = ended_at


def mark_interrupted(raw: Raw, last_write: str | None) -> None:
    """A session a crash left in progress: interrupted, ended (unless that was noted) when its files last changed."""
    raw["status"] = SessionStatus.INTERRUPTED
    if not raw.get("ended_at"):
        raw["ended_at"] = last_write


def sort_answers(raw: Raw) -> None:
    """The answers in the order they were asked."""
    raw["answers"].sort(key=lambda a: a["index"])


# -- reading and validating -------------------------------------------------------------------------


def read(folder: Path) -> Raw:
    """The parsed session.json of `folder`, checked to be a JSON object of our version; else SessionDamaged."""
    try:
        raw = json.loads((folder / RECORD_NAME).read_bytes())
    except FileNotFoundError:
        raise SessionDamaged("session.json is missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = getattr(exc, "pos", getattr(exc, "start", "?"))
        raise SessionDamaged(f"session.json is not valid JSON ({type(exc).__name__} at byte {where})") from None
    if not isinstance(raw, dict):
        raise SessionDamaged("session.json is not a JSON object")
    if raw.get("version") not in READABLE_VERSIONS or isinstance(raw.get("version"), bool):
        raise SessionDamaged(f"session.json has unknown version {raw.get('version')!r:.20}")
    return raw


def being_written(folder: Path, raw: Raw) -> bool:
    """True while a session is not finished: its status is in progress or a file is half-written (`.part`)."""
    return raw.get("status") == SessionStatus.IN_PROGRESS or any(
        name.endswith(PART_SUFFIX) or name == RESERVE_NAME for name in os.listdir(folder)
    )


def session_folders(sessions_dir: Path) -> list[Path]:
    """The session folders under a sessions folder, by name (hidden ones, a writer's temporaries, left out)."""
    try:
        return sorted(
            p for p in sessions_dir.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
        )
    except FileNotFoundError:
        return []


def repair_problem(raw: Raw) -> str | None:
    """Why a record read by `read` is too broken for recovery to repair in place, or None."""
    for key, kind in (("questions", list), ("answers", list), ("sample_rate", int)):
        if not isinstance(raw.get(key), kind) or isinstance(raw.get(key), bool):
            return f"session.json: '{key}' is missing or has the wrong type"
    if raw["sample_rate"] <= 0:
        return "session.json: 'sample_rate' is not positive"
    if not all(isinstance(a, dict) and type(a.get("index")) is int for a in raw["answers"]):
        return "session.json: an answer has no index"
    for answer in raw["answers"]:
        if answer.get("audio") is not None and not is_file_name(answer["audio"]):
            return f"session.json: answer {answer['index']}'s audio is not a file name"
    return None


def parse(folder: Path) -> Session:
    """Read and validate `folder`/session.json; SessionDamaged says what is wrong without quoting it."""
    raw = read(folder)
    pack = _need(raw, "pack", dict, "session")
    status = _need(raw, "status", str, "session")
    if status not in set(SessionStatus):
        raise SessionDamaged("session: unknown status")
    ended = raw.get("ended_at")
    return Session(
        id=folder.name,
        path=folder,
        pack_id=_need(pack, "id", str, "pack"),
        pack_title=_need(pack, "title", str, "pack"),
        language=pack.get("language") if isinstance(pack.get("language"), str) else "",
        started_at=_time(_need(raw, "started_at", str, "session"), "started_at"),
        ended_at=_time(ended, "ended_at") if isinstance(ended, str) else None,
        status=status,
        sample_rate=_need(raw, "sample_rate", int, "session"),
        questions=tuple(q for q in _need(raw, "questions", list, "session") if isinstance(q, str)),
        answers=tuple(_answer(a, n) for n, a in enumerate(_need(raw, "answers", list, "session"), 1)),
        sealed=is_sealed(raw),
        seq=_seq(raw),
        clock_trusted=clock_trusted(raw),
    )


def _seq(raw: Raw) -> int:
    """The session's number; 0 for a record from before numbering (version 1)."""
    if raw.get("version") == 1:
        return 0
    seq = raw.get("seq")
    if type(seq) is not int or seq < 1:
        raise SessionDamaged("session: 'seq' is missing or has the wrong type")
    return seq


def clock_trusted(raw: Raw) -> bool:
    """Whether the record's dates came from a trusted clock (a version 1 record: as if so)."""
    clock = raw.get("clock")
    return not (isinstance(clock, dict) and clock.get("trusted") is False)


def highest_seq(sessions_dir: Path) -> int:
    """The highest number any session folder's record holds, or, for version 1 records, their count."""
    highest = legacy = 0
    try:
        folders = [p for p in sessions_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except FileNotFoundError:
        return 0
    for folder in folders:
        try:
            raw = read(folder)
        except SessionDamaged:
            continue
        if raw.get("version") == 1:
            legacy += 1
        elif type(raw.get("seq")) is int:
            highest = max(highest, raw["seq"])
    return max(highest, legacy)


def next_sequence(layout: DataLayout) -> int:
    """The next session number, written down before any session uses it, so a crash never gives one out twice:
    one more than both the counter file and the highest number (or count of unnumbered sessions) on disk."""
    try:
        counter = int(layout.sequence.read_text().strip())
    except (OSError, ValueError):
        counter = 0
    seq = max(counter, highest_seq(layout.sessions)) + 1
    atomic_write_text(layout.sequence, f"{seq}\n")
    return seq


def _need(mapping: Raw, key: str, kinds: type | tuple[type, ...], where: str) -> Any:
    """Return mapping[key] if it has one of `kinds`, else raise SessionDamaged naming the field."""
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise SessionDamaged(f"{where}: '{key}' is missing or has the wrong type")
    return value


def _time(text: str, where: str) -> datetime:
    """Parse an ISO 8601 timestamp from session.json."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise SessionDamaged(f"{where}: not an ISO timestamp") from None


def _word(raw: Raw, where: str) -> Word:
    """Validate one timed word; a missing confidence counts as certain."""
    conf = raw.get("conf", 1.0) if isinstance(raw, dict) else 1.0
    return Word(
        _need(raw, "word", str, where),
        float(_need(raw, "start", (int, float), where)),
        float(_need(raw, "end", (int, float), where)),
        float(conf) if isinstance(conf, (int, float)) else 1.0,
    )


def _answer(raw: Raw, n: int) -> Answer:
    """Validate one entry of session.json's answers list."""
    where = f"answer {n}"
    status = _need(raw, "status", str, where)
    if status not in set(AnswerStatus):
        raise SessionDamaged(f"{where}: unknown status")
    audio = raw.get("audio")
    if audio is not None and not is_file_name(audio):
        raise SessionDamaged(f"{where}: 'audio' is not a file name")
    words = tuple(_word(w, where) for w in _need(raw, "words", list, where)) if raw.get("words") is not None else ()
    return Answer(
        index=_need(raw, "index", int, where),
        question=_need(raw, "question", str, where),
        audio=audio,
        duration_s=float(_need(raw, "duration_s", (int, float), where)) if raw.get("duration_s") is not None else 0.0,
        transcript=transcript if isinstance(transcript := raw.get("transcript"), str) else "",
        words=words,
        status=status,
        ended_by=raw.get("ended_by") if isinstance(raw.get("ended_by"), str) else None,
        for_therapist=raw.get("for_therapist") is True,
    )


# -- sealing ---------------------------------------------------------------------------------------


def is_sealed(raw: Raw) -> bool:
    """True if the record says its session was sealed (its "sealed" entry lists the sealed files)."""
    return isinstance(raw.get("sealed"), dict)


def sealed_files(raw: Raw) -> list[str]:
    """The sealed files a sealed record lists (file names only)."""
    files = raw["sealed"].get("files") if is_sealed(raw) else None
    return [name for name in files if is_file_name(name)] if isinstance(files, list) else []


def said(raw: Raw) -> Raw:
    """What was said in a session: each answer's transcript and timed words, by index."""
    return {"answers": [{"index": a["index"], **{key: a.get(key) for key in SAID_KEYS}} for a in raw["answers"]]}


def sealed(raw: Raw, files: list[str], at: datetime) -> Raw:
    """The record of a sealed session: what was not said, the answers' sealed audio, and the sealed files."""
    answers = []
    for answer in raw["answers"]:
        kept = {key: value for key, value in answer.items() if key not in SAID_KEYS}
        if isinstance(kept.get("audio"), str) and kept["audio"] + SEALED_SUFFIX in files:
            kept["audio"] += SEALED_SUFFIX
        answers.append(kept)
    return {**raw, "answers": answers, "sealed": {"at": at.isoformat(timespec="seconds"), "files": files}}


def opened(raw: Raw, said_json: Raw) -> Raw:
    """A sealed record with what was said put back: an ordinary record again (audio names without .age)."""
    words = {a.get("index"): a for a in said_json.get("answers", []) if isinstance(a, dict)}
    answers = []
    for answer in raw["answers"]:
        entry = dict(answer)
        if isinstance(entry.get("audio"), str) and entry["audio"].endswith(SEALED_SUFFIX):
            entry["audio"] = entry["audio"][: -len(SEALED_SUFFIX)]
        entry.update(
            {key: words.get(answer.get("index"), {}).get(key, [] if key == "words" else "") for key in SAID_KEYS}
        )
        answers.append(entry)
    return {key: value for key, value in raw.items() if key != "sealed"} | {"answers": answers}


# -- writing ----------------------------------------------------------------------------------------


def write(folder: Path, record: Raw, noted: bool = True) -> None:
    """Replace session.json atomically, then say so in the data dir's change token (unless not `noted`: a new
    archive being built, which no index has seen)."""
    atomic_write_text(folder / RECORD_NAME, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    if noted and folder.parent.name == "sessions":
        note_change(DataLayout(folder.parent.parent))


def note_change(layout: DataLayout) -> None:
    """Replace the change token with a new one, after a session.json was written (never before it). Written in
    place, all of it at once (tokens have one length), and not synced: a power cut that loses it also changes
    the boot id, which change_stamp holds too."""
    token = uuid.uuid4().hex.encode("ascii")
    try:
        fd = os.open(layout.changes, os.O_WRONLY)
    except FileNotFoundError:
        atomic_write_bytes(layout.changes, token)  # the first: never an empty file, whenever a kill comes
        return
    try:
        os.pwrite(fd, token, 0)
    finally:
        os.close(fd)


def change_stamp(layout: DataLayout, racy_s: float = RACY_S) -> str | None:
    """What differs after any change to the sessions that the index shows: the writers' token, the sessions
    folder's own time (a folder added, renamed or removed) and the boot. None while that time is under `racy_s`
    old, as a change in the same clock tick would not move it: the caller then looks at every session."""
    try:
        token = layout.changes.read_text(errors="replace").strip()
    except FileNotFoundError:
        token = ""
    try:
        st = os.stat(layout.sessions)
    except FileNotFoundError:
        return f"{token} none"
    if time.time_ns() - st.st_mtime_ns < racy_s * 1e9:
        return None
    return f"{token} {st.st_ino} {st.st_mtime_ns} {BOOT_ID.read_text().strip()}"


def write_transcript(folder: Path, record: Raw) -> None:
    """Replace transcript.md atomically with the readable form of `record`."""
    atomic_write_text(folder / TRANSCRIPT_NAME, transcript_markdown(record))


def transcript_markdown(record: Raw) -> str:
    """A readable transcript, question by question."""
    when = in_words(datetime.fromisoformat(record["started_at"]), clock_trusted(record))
    lines = [f"# {record['pack']['title']}", "", when, ""]
    answers = {a["index"]: a for a in record["answers"]}
    for index, question in enumerate(record["questions"], start=1):
        answer = answers.get(index)
        lines += [f"## {index}. {question}", ""]
        if answer is None:
            lines.append("*(not reached)*")
        elif answer["status"] == AnswerStatus.SKIPPED:
            lines.append("*(skipped)*")
        elif answer["transcript"] is None:
            lines.append("*(still being transcribed)*")
        else:
            lines.append(answer["transcript"] or "*(no words recognised; the recording is kept)*")
        if answer and answer["audio"]:
            lines += ["", f"Recording: {answer['audio']} ({answer['duration_s']:.1f} s)"]
        if answer and answer.get("for_therapist") is True:
            lines += ["", "*Marked for my therapist.*"]
        lines.append("")
    return "\n".join(lines)
