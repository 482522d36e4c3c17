"""The saved notes on disk: list, resolve, load, replay and delete sessions; damaged ones are set aside."""
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import soundfile as sf

from audio.compress import decode
from audio.recognizer import Word
from common.errors import AudioCorrupt, SessionAmbiguous, SessionDamaged, SessionNotFound
from common.files import atomic_write_text, fsync_dir, private_dir
from device.search_index import Hit, SearchIndex, SessionSummary

log = logging.getLogger(__name__)

VERSION = 1
SESSION_STATUSES = ("complete", "ended_early", "interrupted", "in_progress")
ANSWER_STATUSES = ("answered", "skipped", "interrupted")
COMPRESSED_SUFFIXES = (".opus", ".flac")
DURATION_TOLERANCE_S = 0.25
MAX_CANDIDATES = 8


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

    def answer(self, index: int) -> Answer:
        """The answer numbered `index` (1-based, as in session.json)."""
        for answer in self.answers:
            if answer.index == index:
                return answer
        raise SessionNotFound(f"session {self.id} has no answer {index} (it has {len(self.answers)})")


@dataclass(frozen=True)
class Playback:
    """What replay says and plays for one answer: the question, then the samples (None if there are none)."""

    index: int
    question: str
    status: str
    samples: np.ndarray | None
    rate: int | None
    problem: str | None


@dataclass(frozen=True)
class Listing:
    """Sessions newest first, plus one line per damaged or incomplete item found while listing."""

    sessions: list[SessionSummary]
    notices: list[str]


def _need(mapping: dict, key: str, kinds: type | tuple[type, ...], where: str):
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


def _word(raw: dict, where: str) -> Word:
    """Validate one timed word; a missing confidence counts as certain."""
    conf = raw.get("conf", 1.0) if isinstance(raw, dict) else 1.0
    return Word(_need(raw, "word", str, where), float(_need(raw, "start", (int, float), where)),
                float(_need(raw, "end", (int, float), where)), float(conf) if isinstance(conf, (int, float)) else 1.0)


def _answer(raw: dict, n: int) -> Answer:
    """Validate one entry of session.json's answers list."""
    where = f"answer {n}"
    status = _need(raw, "status", str, where)
    if status not in ANSWER_STATUSES:
        raise SessionDamaged(f"{where}: unknown status")
    audio = raw.get("audio")
    if audio is not None and (not isinstance(audio, str) or Path(audio).name != audio or audio in ("", ".", "..")):
        raise SessionDamaged(f"{where}: 'audio' is not a file name")
    words = tuple(_word(w, where) for w in _need(raw, "words", list, where)) if raw.get("words") is not None else ()
    return Answer(
        index=_need(raw, "index", int, where), question=_need(raw, "question", str, where), audio=audio,
        duration_s=float(_need(raw, "duration_s", (int, float), where)) if raw.get("duration_s") is not None else 0.0,
        transcript=raw.get("transcript") if isinstance(raw.get("transcript"), str) else "",
        words=words, status=status,
        ended_by=raw.get("ended_by") if isinstance(raw.get("ended_by"), str) else None,
    )


def parse_session(folder: Path) -> Session:
    """Read and validate `folder`/session.json; SessionDamaged says what is wrong without quoting it."""
    try:
        raw = json.loads((folder / "session.json").read_bytes())
    except FileNotFoundError:
        raise SessionDamaged("session.json is missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SessionDamaged(f"session.json is not valid JSON ({type(exc).__name__} at byte {getattr(exc, 'pos', getattr(exc, 'start', '?'))})") from None
    if not isinstance(raw, dict):
        raise SessionDamaged("session.json is not a JSON object")
    if raw.get("version") != VERSION:
        raise SessionDamaged(f"session.json has unknown version {raw.get('version')!r:.20}")
    pack = _need(raw, "pack", dict, "session")
    status = _need(raw, "status", str, "session")
    if status not in SESSION_STATUSES:
        raise SessionDamaged("session: unknown status")
    ended = raw.get("ended_at")
    return Session(
        id=folder.name, path=folder,
        pack_id=_need(pack, "id", str, "pack"), pack_title=_need(pack, "title", str, "pack"),
        language=pack.get("language") if isinstance(pack.get("language"), str) else "",
        started_at=_time(_need(raw, "started_at", str, "session"), "started_at"),
        ended_at=_time(ended, "ended_at") if isinstance(ended, str) else None,
        status=status, sample_rate=_need(raw, "sample_rate", int, "session"),
        questions=tuple(q for q in _need(raw, "questions", list, "session") if isinstance(q, str)),
        answers=tuple(_answer(a, n) for n, a in enumerate(_need(raw, "answers", list, "session"), 1)),
    )


def audio_path(session: Session, answer: Answer) -> Path | None:
    """The answer's audio file, finding the compressed file if the WAV was replaced before session.json said so."""
    if answer.audio is None:
        return None
    path = session.path / answer.audio
    if not path.exists():
        for suffix in COMPRESSED_SUFFIXES:
            if path.with_suffix(suffix).exists():
                return path.with_suffix(suffix)
    return path


def audio_problem(session: Session, answer: Answer) -> str | None:
    """A one-line description of what is wrong with an answer's audio file, or None if it is fine."""
    path = audio_path(session, answer)
    if path is None:
        return None
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, OSError):
        return f"answer {answer.index}: audio file {answer.audio} is missing" if not path.exists() \
            else f"answer {answer.index}: audio file {path.name} is unreadable"
    if info.frames / info.samplerate < answer.duration_s - DURATION_TOLERANCE_S:
        return f"answer {answer.index}: audio file {path.name} is truncated ({info.frames / info.samplerate:.1f} s of {answer.duration_s:.1f} s)"
    return None


def mark_compressed(session_dir: Path, index: int, new_name: str) -> None:
    """Point answer `index` of session.json at its compressed file `new_name`, atomically."""
    path = Path(session_dir) / "session.json"
    raw = json.loads(path.read_bytes())
    for answer in raw["answers"]:
        if answer.get("index") == index:
            answer["audio"] = new_name
            break
    else:
        raise SessionNotFound(f"session {Path(session_dir).name} has no answer {index}")
    atomic_write_text(path, json.dumps(raw, ensure_ascii=False, indent=2) + "\n")


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """True for errors that mean the index file itself is broken (not merely busy)."""
    return getattr(exc, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in str(exc)


def set_aside(folder: Path, damaged_dir: Path, reason: str) -> Path:
    """Move a damaged session folder into `damaged_dir` (never deleting it), log why, return where it went."""
    private_dir(damaged_dir)
    target = damaged_dir / folder.name
    n = 1
    while target.exists():
        n += 1
        target = damaged_dir / f"{folder.name}.{n}"
    os.rename(folder, target)
    fsync_dir(folder.parent)
    fsync_dir(damaged_dir)
    log.warning("session %s is damaged (%s); moved to %s", folder.name, reason, target)
    return target


class Archive:
    """All sessions under one data dir; files are the truth, the SQLite index a cache kept in step."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.sessions_dir = self.data_dir / "sessions"
        self.damaged_dir = self.data_dir / "damaged"
        self._index: SearchIndex | None = None

    @property
    def index(self) -> SearchIndex:
        """The search index, opened (or rebuilt from nothing if its file is garbage) on first use."""
        if self._index is None:
            self._index = SearchIndex(self.data_dir / "index.sqlite3")
        return self._index

    def listing(self) -> Listing:
        """Every readable session newest first, with notices for damaged or unfinished folders."""
        notices: list[str] = []
        self._indexed(lambda index: None, notices)
        sessions = self.index.summaries(self.sessions_dir)
        for summary in sessions:
            notices.extend(f"Session {summary.id}: {problem}." for problem in summary.problems)
        if self.damaged_dir.is_dir():
            count = sum(1 for _ in self.damaged_dir.iterdir())
            if count:
                notices.append(f"{count} damaged session folder(s) are kept aside in {self.damaged_dir}.")
        return Listing(sessions, notices)

    def sessions(self) -> list[SessionSummary]:
        """Every readable session, newest first."""
        return self.listing().sessions

    def resolve(self, name: str) -> str:
        """The session id for a folder name, a unique prefix of one, or `latest`."""
        ids = [summary.id for summary in self.sessions()]
        if name == "latest":
            if not ids:
                raise SessionNotFound("there are no saved sessions yet")
            return ids[0]
        if name in ids:
            return name
        matches = sorted(i for i in ids if name and i.startswith(name))
        if len(matches) == 1:
            return matches[0]
        if not matches and Path(name).name == name and name not in ("", ".", "..") and (self.damaged_dir / name).is_dir():
            raise SessionDamaged(f"session {name} is damaged; it was set aside in {self.damaged_dir / name}")
        if not matches:
            raise SessionNotFound(f"no saved session matches {name!r}; try `reflect notes` to list them")
        shown = ", ".join(matches[:MAX_CANDIDATES]) + (f" and {len(matches) - MAX_CANDIDATES} more" if len(matches) > MAX_CANDIDATES else "")
        raise SessionAmbiguous(f"{name!r} matches {len(matches)} sessions: {shown}")

    def load(self, name: str) -> Session:
        """The full record of one session (name as for `resolve`); a damaged one is set aside and reported."""
        session_id = self.resolve(name)
        folder = self.sessions_dir / session_id
        try:
            return parse_session(folder)
        except SessionDamaged as exc:
            moved = self._set_aside(folder, str(exc))
            raise SessionDamaged(f"session {session_id} is damaged ({exc}); moved to {moved}") from None

    def read_answer_audio(self, session: Session, n: int) -> tuple[np.ndarray, int]:
        """The recorded samples (int16, mono) and rate of answer `n`; AudioCorrupt if there are none or they are bad."""
        answer = session.answer(n)
        path = audio_path(session, answer)
        if path is None:
            raise AudioCorrupt(f"answer {n} of session {session.id} has no recording ({answer.status})")
        if not path.exists():
            raise AudioCorrupt(f"answer {n} of session {session.id}: audio file {answer.audio} is missing")
        samples, rate = decode(path)
        if len(samples) / rate < answer.duration_s - DURATION_TOLERANCE_S:
            raise AudioCorrupt(f"answer {n} of session {session.id}: audio file {path.name} is truncated")
        return samples, rate

    def replay(self, session: Session, only: int | None = None) -> Iterator[Playback]:
        """Each answer's question and samples in order (or just answer `only`), decoding one at a time."""
        for answer in [session.answer(only)] if only is not None else session.answers:
            samples = rate = problem = None
            if answer.audio is not None:
                try:
                    samples, rate = self.read_answer_audio(session, answer.index)
                except AudioCorrupt as exc:
                    problem = str(exc)
                    log.warning("replay: %s", problem)
            yield Playback(answer.index, answer.question, answer.status, samples, rate, problem)

    def search(self, words: list[str], limit: int = 50) -> list[Hit]:
        """Answers containing all `words`, newest session first, each with the time the first match was said."""
        return self._indexed(lambda index: index.search(words, limit), [])

    def reindex(self) -> tuple[int, int]:
        """Rebuild the index from the files; return (sessions, answers) indexed."""
        self.index.reset()
        self._indexed(lambda index: None, [])
        return self.index.counts()

    def delete(self, name: str) -> str:
        """Remove a session's folder and index rows for good; return its id."""
        session_id = self.resolve(name)
        folder = self.sessions_dir / session_id
        doomed = self.data_dir / f".deleting-{session_id}"
        os.rename(folder, doomed)
        fsync_dir(self.sessions_dir)
        for leftover in self.data_dir.glob(".deleting-*"):
            shutil.rmtree(leftover)
        fsync_dir(self.data_dir)
        self._indexed(lambda index: None, [])
        log.info("deleted session %s", session_id)
        return session_id

    def _indexed(self, operation, notices: list[str]):
        """Bring the index in step with the files, then run `operation`; a corrupt index is rebuilt once."""
        for attempt in (1, 2):
            try:
                self.index.sync(self._stamps(notices), lambda session_id: self._load_for_index(session_id, notices))
                return operation(self.index)
            except sqlite3.DatabaseError as exc:
                if attempt == 2 or not _is_corruption(exc):
                    raise
                log.warning("search index is corrupt (%s); rebuilding it from the session files", exc)
                self.index.reset()

    def _stamps(self, notices: list[str]) -> dict[str, tuple[int, int]]:
        """(mtime_ns, size) of each session's session.json; folders without one are reported and left alone."""
        stamps = {}
        try:
            entries = list(os.scandir(self.sessions_dir))
        except FileNotFoundError:
            return stamps
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            try:
                st = os.stat(os.path.join(entry.path, "session.json"))
            except FileNotFoundError:
                notices.append(f"Session folder {entry.name} has no session.json yet; left in place.")
                continue
            stamps[entry.name] = (st.st_mtime_ns, st.st_size)
        return stamps

    def _load_for_index(self, session_id: str, notices: list[str]):
        """Parse a session for the index with its audio problems, or set it aside and return None."""
        folder = self.sessions_dir / session_id
        try:
            session = parse_session(folder)
        except SessionDamaged as exc:
            if not (folder / "session.json").exists():
                return None
            moved = self._set_aside(folder, str(exc))
            notices.append(f"Session {session_id} is damaged ({exc}); moved to {moved}.")
            return None
        return session, [p for p in (audio_problem(session, a) for a in session.answers) if p]

    def _set_aside(self, folder: Path, reason: str) -> Path:
        return set_aside(folder, self.damaged_dir, reason)
