"""A rebuildable SQLite FTS5 cache of session summaries and word-timed answers, for listing and search."""

import json
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from common.files import FILE_MODE, output_dir
from device.notes.record import Session

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4
MAX_ANSWERS = 1000
"""Answer rowids are session number * MAX_ANSWERS + answer index, so a session's rows form one range."""
MARK_START, MARK_END = "\x02", "\x03"
"""What SQLite's highlight() puts around a match in the index; never in a transcript."""
SHOWN_START, SHOWN_END = "«", "»"
"""How a snippet shows a match: not brackets, which Vosk's own tokens ([unk], [noise]) use."""
QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"'})
PHRASE = re.compile(r'"([^"]*)"?(\*?)|([^\s"]+)')
"""In a search: a quoted phrase (closed or running to the end), with a * after it; or one bare word."""
SNIPPET_WORDS = 6

SCHEMA = (
    """
CREATE TABLE sessions(
    n INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, mtime_ns INTEGER, size INTEGER,
    started REAL, started_at TEXT, pack_title TEXT, status TEXT, answers INTEGER, spoken_s REAL, """
    f"""problems TEXT, sealed INTEGER,
    seq INTEGER, clock_trusted INTEGER);
CREATE VIRTUAL TABLE answer_text USING fts5(
    text, session_n UNINDEXED, idx UNINDEXED, question UNINDEXED, starts UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2');
CREATE INDEX sessions_newest_first ON sessions(seq DESC, started DESC, id DESC);
CREATE TABLE synced(one INTEGER PRIMARY KEY CHECK (one = 1), stamp TEXT NOT NULL, notices TEXT NOT NULL);
PRAGMA user_version = {SCHEMA_VERSION};
"""
)


def newest_first(table: str = "") -> str:
    """The order of sessions: by the device's numbers; unnumbered (version 1) sessions below them, by start time."""
    return ", ".join(f"{table}{column} DESC" for column in ("seq", "started", "id"))


Stamp = tuple[int, int]
Loader = Callable[[str], tuple[Session, list[str]] | None]


@dataclass(frozen=True)
class SessionSummary:
    """One line of the notes list: what a session was, how much was said, and what is wrong with it."""

    id: str
    pack_title: str
    started_at: datetime
    status: str
    answers: int
    spoken_s: float
    sessions_dir: Path
    problems: tuple[str, ...]
    seq: int = 0
    """The device's number for the session; the order of the list (0: before numbering, by start time)."""
    clock_trusted: bool = True
    """False if its date came from a clock that was not set (shown as "about")."""

    @property
    def path(self) -> Path:
        return self.sessions_dir / self.id


@dataclass(frozen=True)
class Hit:
    """One answer matching a search, with the time (s into its audio) where the first matched word was said."""

    session_id: str
    started_at: datetime
    pack_title: str
    answer: int
    question: str
    time_s: float
    matched: tuple[tuple[str, float], ...]
    snippet: str
    clock_trusted: bool = True


def phrases(words: list[str]) -> list[tuple[list[str], bool]]:
    """The user's search as (tokens, last one a prefix) phrases: text in double quotes (or one argument with spaces,
    quoted in the shell) is a phrase, its words in that order; every other word is a phrase of its own."""
    arguments = [w.translate(QUOTES) for w in words]
    text = " ".join(f'"{a}"' if '"' not in a and len(a.split()) > 1 else a for a in arguments)
    found = []
    for quoted, star, word in PHRASE.findall(text):
        tokens = quoted.split() if quoted or not word else [word.rstrip("*")]
        if any(ch.isalnum() for token in tokens for ch in token):
            found.append(([token.strip("*") for token in tokens], bool(star) or word.endswith("*")))
    return found


def fts_query(words: list[str]) -> str:
    """An FTS5 query that needs every word and phrase (a trailing * makes a prefix); each is an FTS5 string, so no
    user text is read as a query operator (a double quote, the one character special inside one, ends a phrase)."""
    return " ".join('"' + " ".join(tokens) + '"' + ("*" if prefix else "") for tokens, prefix in phrases(words))


def _hit_from(row: sqlite3.Row) -> Hit:
    """Turn a highlighted result row into a Hit, mapping marked tokens back to word times."""
    marked, starts = row["marked"], json.loads(row["starts"])
    tokens = marked.split(" ")
    matched, inside = [], False
    for token, start in zip(tokens, starts):
        inside = inside or MARK_START in token
        if inside:
            matched.append((token.replace(MARK_START, "").replace(MARK_END, ""), start))
        inside = inside and MARK_END not in token.rsplit(MARK_START, 1)[-1]
    first = next(i for i, t in enumerate(tokens) if MARK_START in t)
    window = tokens[max(0, first - SNIPPET_WORDS) : first + SNIPPET_WORDS + 1]
    snippet = " ".join(window).replace(MARK_START, SHOWN_START).replace(MARK_END, SHOWN_END)
    if first > SNIPPET_WORDS:
        snippet = "… " + snippet
    if first + SNIPPET_WORDS + 1 < len(tokens):
        snippet += " …"
    return Hit(
        row["id"],
        datetime.fromisoformat(row["started_at"]),
        row["pack_title"],
        row["idx"],
        row["question"],
        matched[0][1],
        tuple(matched),
        snippet,
        bool(row["clock_trusted"]),
    )


class SearchIndex:
    """The cache file: opened, checked and (if garbage or of another schema) recreated empty."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.conn = self._open()

    def _open(self, retry: bool = True) -> sqlite3.Connection:
        """Connect to the index file (0600), replacing it once when it is garbage or of another schema."""
        output_dir(self.path.parent)  # the data dir keeps its mode: reading notes changes nothing but this cache
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE))
        os.chmod(self.path, FILE_MODE)
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA secure_delete = ON")
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    raise sqlite3.DatabaseError("the index was made by another version")
                conn.executescript(SCHEMA)
            conn.execute("SELECT count(*) FROM sessions").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            if not retry:
                raise
            log.warning("search index %s is unusable (%s); starting a new one", self.path.name, exc)
            self._unlink()
            return self._open(retry=False)
        return conn

    def _unlink(self) -> None:
        """Remove the index file and its journal."""
        for path in (self.path, self.path.with_name(self.path.name + "-journal")):
            path.unlink(missing_ok=True)

    def reset(self) -> None:
        """Throw the cache away and start an empty one."""
        self.conn.close()
        self._unlink()
        self.conn = self._open()

    def sync(self, stamps: Mapping[str, Stamp], load: Loader) -> None:
        """Make the cache match the session files: drop sessions gone or changed, add new or changed ones."""
        known = {
            row["id"]: (row["n"], (row["mtime_ns"], row["size"]))
            for row in self.conn.execute("SELECT n, id, mtime_ns, size FROM sessions")
        }
        gone = [n for session_id, (n, stamp) in known.items() if stamps.get(session_id) != stamp]
        fresh = [
            session_id
            for session_id, stamp in stamps.items()
            if session_id not in known or known[session_id][1] != stamp
        ]
        if not gone and not fresh:
            return
        with self._writing():
            self._drop(gone)
            for session_id in fresh:
                loaded = load(session_id)
                if loaded is not None:
                    self._insert(*loaded, stamps[session_id])

    def synced_at(self, stamp: str | None) -> list[str] | None:
        """The notices of the last sync if it was made at `stamp` (record.change_stamp), else None: sync again."""
        row = self.conn.execute("SELECT stamp, notices FROM synced").fetchone()
        return json.loads(row[1]) if stamp is not None and row is not None and row[0] == stamp else None

    def mark_synced(self, stamp: str | None, notices: list[str]) -> None:
        """Remember that the cache matched the files at `stamp` (None: too fresh to trust), with its notices."""
        row = self.conn.execute("SELECT stamp, notices FROM synced").fetchone()
        if (tuple(row) if row else None) == ((stamp, json.dumps(notices)) if stamp is not None else None):
            return  # a read that changed nothing writes nothing
        with self._writing():
            self.conn.execute("DELETE FROM synced")
            if stamp is not None:
                self.conn.execute("INSERT INTO synced VALUES (1, ?, ?)", (stamp, json.dumps(notices)))

    def forget(self, session_id: str) -> None:
        """Remove one session's row and words from the file now (the next sync adds it back as its files say)."""
        with self._writing():
            self._drop([row[0] for row in self.conn.execute("SELECT n FROM sessions WHERE id = ?", (session_id,))])

    def worded(self) -> list[str]:
        """The ids of the sessions whose words the index holds."""
        return [
            row[0]
            for row in self.conn.execute(
                "SELECT id FROM sessions AS s WHERE EXISTS"
                " (SELECT 1 FROM answer_text WHERE rowid BETWEEN s.n * ? AND s.n * ? + ?)",
                (MAX_ANSWERS, MAX_ANSWERS, MAX_ANSWERS - 1),
            )
        ]

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction: committed whole, or rolled back."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def _drop(self, numbers: list[int]) -> None:
        """Delete these sessions' rows and words; with secure_delete and a merge, their words leave the file's bytes."""
        for n in numbers:
            self.conn.execute(
                "DELETE FROM answer_text WHERE rowid BETWEEN ? AND ?",
                (n * MAX_ANSWERS, n * MAX_ANSWERS + MAX_ANSWERS - 1),
            )
            self.conn.execute("DELETE FROM sessions WHERE n = ?", (n,))
        if numbers:
            self.conn.execute("INSERT INTO answer_text(answer_text) VALUES ('optimize')")

    def _insert(self, session: "Session", problems: list[str], stamp: Stamp) -> None:
        """Add one session's summary row and one FTS row per word-timed answer."""
        spoken = sum(a.duration_s for a in session.answers if a.audio is not None)
        said = sum(1 for a in session.answers if a.status != "skipped")
        n = self.conn.execute(
            "INSERT INTO sessions(id, mtime_ns, size, started, started_at, pack_title, status, answers, spoken_s,"
            " problems, sealed, seq, clock_trusted)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session.id,
                *stamp,
                session.started_at.timestamp(),
                session.started_at.isoformat(),
                session.pack_title,
                session.status,
                said,
                spoken,
                json.dumps(problems),
                int(session.sealed),
                session.seq,
                int(session.clock_trusted),
            ),
        ).lastrowid
        assert n is not None  # an INSERT has a row id
        for answer in () if session.sealed else session.answers:  # a sealed session's words never enter
            if answer.words and 0 <= answer.index < MAX_ANSWERS:
                text = " ".join("\u00a0".join(w.word.split()) or "_" for w in answer.words)
                self.conn.execute(
                    "INSERT INTO answer_text(rowid, text, session_n, idx, question, starts) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        n * MAX_ANSWERS + answer.index,
                        text,
                        n,
                        answer.index,
                        answer.question,
                        json.dumps([w.start for w in answer.words]),
                    ),
                )

    def summaries(self, sessions_dir: Path) -> list[SessionSummary]:
        """Every indexed session, newest first: by number, never by the clock alone (it may have gone back)."""
        rows = self.conn.execute(
            "SELECT id, pack_title, started_at, status, answers, spoken_s, problems, seq, clock_trusted FROM sessions"
            f" ORDER BY {newest_first()}"
        )
        return [
            SessionSummary(
                r[0],
                r[1],
                datetime.fromisoformat(r[2]),
                r[3],
                r[4],
                r[5],
                sessions_dir,
                tuple(json.loads(r[6])) if r[6] != "[]" else (),
                r[7],
                bool(r[8]),
            )
            for r in rows
        ]

    def search(self, words: list[str], limit: int) -> list[Hit]:
        """Answers containing every word, newest session first, at most `limit`."""
        query = fts_query(words)
        if not query:
            return []
        rows = self.conn.execute(
            "SELECT s.id, s.started_at, s.pack_title, s.clock_trusted, a.idx, a.question, a.starts,"
            " highlight(answer_text, 0, ?, ?) AS marked"
            " FROM answer_text AS a JOIN sessions AS s ON s.n = a.session_n"
            f" WHERE answer_text MATCH ? ORDER BY {newest_first('s.')}, a.idx LIMIT ?",
            (MARK_START, MARK_END, query, limit),
        )
        return [_hit_from(row) for row in rows]

    def sealed_count(self) -> int:
        """How many indexed sessions are sealed (their words are not searchable)."""
        return int(self.conn.execute("SELECT count(*) FROM sessions WHERE sealed").fetchone()[0])

    def counts(self) -> tuple[int, int]:
        """(sessions, word-timed answers) in the index."""
        return (
            self.conn.execute("SELECT count(*) FROM sessions").fetchone()[0],
            self.conn.execute("SELECT count(*) FROM answer_text").fetchone()[0],
        )
