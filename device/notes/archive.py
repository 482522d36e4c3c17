"""The saved notes on disk: list, resolve, load, replay and delete sessions; damaged ones are set aside."""

import logging
import os
import shutil
import sqlite3
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import soundfile as sf

from audio.compress import decode
from common.errors import AudioCorrupt, SessionAmbiguous, SessionDamaged, SessionNotFound
from common.files import fsync_dir, private_dir
from device.notes import record
from device.notes.record import COMPRESSED_SUFFIXES, SEALED_SUFFIX, Answer, DataLayout, Session
from device.notes.search_index import Hit, SearchIndex, SessionSummary

log = logging.getLogger(__name__)
T = TypeVar("T")

TRUNCATED_BY_S = 0.25
"""How much shorter than its noted duration an answer's file may be before it counts as truncated."""
MAX_CANDIDATES = 8


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
    if path.name.endswith(SEALED_SUFFIX):  # only its owner's identity can look inside
        return None if path.exists() else f"answer {answer.index}: sealed audio file {path.name} is missing"
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, OSError):
        return (
            f"answer {answer.index}: audio file {answer.audio} is missing"
            if not path.exists()
            else f"answer {answer.index}: audio file {path.name} is unreadable"
        )
    if info.frames / info.samplerate < answer.duration_s - TRUNCATED_BY_S:
        return (
            f"answer {answer.index}: audio file {path.name} is truncated "
            f"({info.frames / info.samplerate:.1f} s of {answer.duration_s:.1f} s)"
        )
    return None


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
    """All sessions under one data dir; files are the truth, the SQLite index a cache kept in step.

    The device's archive sets damaged sessions aside in damaged/; a review command's (`sets_aside=False`)
    only reports them, changing nothing but the index."""

    def __init__(self, data_dir: Path, sets_aside: bool = True):
        self.layout = DataLayout(Path(data_dir))
        self.sets_aside = sets_aside
        self._index: SearchIndex | None = None

    @property
    def index(self) -> SearchIndex:
        """The search index, opened (or rebuilt from nothing if its file is garbage) on first use."""
        if self._index is None:
            self._index = SearchIndex(self.layout.index)
        return self._index

    def sync_index(self) -> list[str]:
        """Bring the search index in step with the session files; returns a notice for each damaged or unfinished
        folder (which the device's archive moves to damaged/)."""
        notices: list[str] = []
        self._indexed(lambda index: None, notices)
        return notices

    def listing(self) -> Listing:
        """Every readable session newest first, with notices for damaged or unfinished folders (from `sync_index`,
        which runs first so the listing is never behind the files)."""
        notices = self.sync_index()
        sessions = self.index.summaries(self.layout.sessions)
        for summary in sessions:
            notices.extend(f"Session {summary.id}: {problem}." for problem in summary.problems)
        if self.layout.damaged.is_dir():
            count = sum(1 for _ in self.layout.damaged.iterdir())
            if count:
                notices.append(f"{count} damaged session folder(s) are kept aside in {self.layout.damaged}.")
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
        if not matches and record.is_file_name(name) and (self.layout.sessions / name / record.RECORD_NAME).exists():
            self._parse(self.layout.sessions / name)  # in the folder but not listed: says why it cannot be read
        if not matches and record.is_file_name(name) and (self.layout.damaged / name).is_dir():
            raise SessionDamaged(f"session {name} is damaged; it was set aside in {self.layout.damaged / name}")
        if not matches:
            raise SessionNotFound(f"no saved session matches {name!r}; try `reflect notes` to list them")
        shown = ", ".join(matches[:MAX_CANDIDATES]) + (
            f" and {len(matches) - MAX_CANDIDATES} more" if len(matches) > MAX_CANDIDATES else ""
        )
        raise SessionAmbiguous(f"{name!r} matches {len(matches)} sessions: {shown}")

    def load(self, name: str) -> Session:
        """The full record of one session (name as for `resolve`); a damaged one is reported (and set aside)."""
        return self._parse(self.layout.sessions / self.resolve(name))

    def _parse(self, folder: Path) -> Session:
        """The session in `folder`; SessionDamaged if it cannot be read, saying where it went or what to do."""
        try:
            return record.parse(folder)
        except OSError as exc:
            raise SessionDamaged(
                f"session {folder.name} cannot be read ({exc.strerror}: {exc.filename}); check its permissions"
            ) from None
        except SessionDamaged as exc:
            raise SessionDamaged(
                f"session {folder.name} is damaged ({exc}); {self._set_aside(folder, str(exc))}"
            ) from None

    def read_answer_audio(self, session: Session, n: int) -> tuple[np.ndarray, int]:
        """The recorded samples (int16, mono) and rate of answer `n`; AudioCorrupt if there are none or they are bad."""
        answer = session.answer(n)
        path = audio_path(session, answer)
        if path is None:
            raise AudioCorrupt(f"answer {n} of session {session.id} has no recording ({answer.status})")
        if not path.exists():
            raise AudioCorrupt(f"answer {n} of session {session.id}: audio file {answer.audio} is missing")
        if path.name.endswith(SEALED_SUFFIX):
            raise AudioCorrupt(f"session {session.id} is sealed; open it on your computer with `reflect open`")
        samples, rate = decode(path)
        if len(samples) / rate < answer.duration_s - TRUNCATED_BY_S:
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

    def sealed_count(self) -> int:
        """How many sessions are sealed, so search cannot look inside them."""
        return self._indexed(lambda index: index.sealed_count(), [])

    def reindex(self) -> tuple[int, int]:
        """Rebuild the index from the files; return (sessions, answers) indexed."""
        self.index.reset()
        self._indexed(lambda index: None, [])
        return self.index.counts()

    def delete(self, name: str) -> str:
        """Remove a session's folder and index rows for good; return its id."""
        session_id = self.resolve(name)
        folder = self.layout.sessions / session_id
        doomed = self.layout.root / f".deleting-{session_id}"
        os.rename(folder, doomed)
        fsync_dir(self.layout.sessions)
        for leftover in self.layout.root.glob(".deleting-*"):
            shutil.rmtree(leftover)
        fsync_dir(self.layout.root)
        self._indexed(lambda index: None, [])
        log.info("deleted session %s", session_id)
        return session_id

    def forget(self, session_id: str) -> None:
        """Remove a session's words from the index file now (before it is sealed); no file, nothing to forget."""
        if self.layout.index.exists():
            self._or_new_index(lambda index: index.forget(session_id))

    def forget_sealed(self, sealed: Collection[str]) -> list[str]:
        """Remove from the index file every word it holds of these sealed sessions (a kill before the index was
        updated, or a command indexing a session while it was being sealed, can leave some); return whose."""
        if not sealed or not self.layout.index.exists():
            return []
        stale = self._or_new_index(lambda index: [i for i in index.worded() if i in sealed]) or []
        for session_id in stale:
            self.forget(session_id)
        return stale

    def _or_new_index(self, operation: Callable[[SearchIndex], T]) -> T | None:
        """Run `operation` on the index; a corrupt index is replaced by an empty one instead (None returned)."""
        try:
            return operation(self.index)
        except sqlite3.DatabaseError as exc:
            if not _is_corruption(exc):
                raise
            log.warning("search index is corrupt (%s); starting a new one", exc)
            self.index.reset()
            return None

    def _indexed(self, operation: Callable[[SearchIndex], T], notices: list[str]) -> T:
        """Bring the index in step with the files, then run `operation`; a corrupt index is rebuilt once."""
        for attempt in (1, 2):
            try:
                self._in_step(notices)
                return operation(self.index)
            except sqlite3.DatabaseError as exc:
                if attempt == 2 or not _is_corruption(exc):
                    raise
                log.warning("search index is corrupt (%s); rebuilding it from the session files", exc)
                self.index.reset()
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _in_step(self, notices: list[str]) -> None:
        """Sync the index with the files unless nothing changed since the last sync (record.change_stamp, read
        before looking, so a change while looking shows at the next call); add the sync's notices."""
        stamp = record.change_stamp(self.layout)
        seen = self.index.synced_at(stamp)
        if seen is None:
            seen = []
            self.index.sync(self._stamps(seen), lambda session_id: self._load_for_index(session_id, seen))
            self.index.mark_synced(stamp, seen)
        notices.extend(seen)

    def _stamps(self, notices: list[str]) -> dict[str, tuple[int, int]]:
        """(mtime_ns, size) of each session's session.json; folders without one are reported and left alone."""
        stamps: dict[str, tuple[int, int]] = {}
        try:
            entries = list(os.scandir(self.layout.sessions))
        except FileNotFoundError:
            return stamps
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            try:
                st = os.stat(os.path.join(entry.path, record.RECORD_NAME))
            except FileNotFoundError:
                notices.append(f"Session folder {entry.name} has no session.json yet; left in place.")
                continue
            stamps[entry.name] = (st.st_mtime_ns, st.st_size)
        return stamps

    def _load_for_index(self, session_id: str, notices: list[str]) -> tuple[Session, list[str]] | None:
        """Parse a session for the index with its audio problems, or report it (setting it aside) and return None."""
        folder = self.layout.sessions / session_id
        if not (folder / record.RECORD_NAME).exists():
            return None
        try:
            session = self._parse(folder)
        except SessionDamaged as exc:
            notices.append(f"{str(exc)[0].upper()}{str(exc)[1:]}.")
            return None
        return session, [p for p in (audio_problem(session, a) for a in session.answers) if p]

    def _set_aside(self, folder: Path, reason: str) -> str:
        """What happens to a damaged session: moved to damaged/ by the device,
        left for `reflect recover` by a review."""
        if not self.sets_aside:
            return "`reflect recover` sets it aside"
        return f"moved to {set_aside(folder, self.layout.damaged, reason)}"
