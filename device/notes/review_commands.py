"""The review subcommands: notes, show, search, reindex, export and delete, as text-returning functions."""

import json
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime
from pathlib import Path

from common.errors import SealedUnreadable
from common.wording import counted, quoted
from device.clock import shown
from device.notes.archive import Archive, audio_problem
from device.notes.durations import clock
from device.notes.export import export

NOTHING_DELETED = "Nothing deleted."


def _when(started_at: datetime, clock_trusted: bool) -> str:
    """A start time as local date and minute, or as "about ..." when the clock was not set."""
    return shown(started_at, clock_trusted)


def notes(archive: Archive, as_json: bool, limit: int | None = None, since: date | None = None) -> str:
    """Sessions newest first (date, pack, answers, spoken time, status), then any notices; only the newest
    `limit`, and only those begun on or after the local date `since`, when given."""
    listing = archive.listing()
    sessions = [s for s in listing.sessions if since is None or s.started_at.astimezone().date() >= since][:limit]
    if as_json:
        rows = [
            {
                "id": s.id,
                "started_at": s.started_at.isoformat(),
                "pack": s.pack_title,
                "answers": s.answers,
                "spoken_s": round(s.spoken_s, 2),
                "status": s.status,
                "problems": list(s.problems),
                "seq": s.seq,
                "clock_trusted": s.clock_trusted,
            }
            for s in sessions
        ]
        return json.dumps({"sessions": rows, "notices": listing.notices}, ensure_ascii=False, indent=2)
    if not sessions:
        lines = ["No saved sessions yet." if not listing.sessions else "No sessions match."]
    else:
        lines = [f"{'SESSION':<20} {'DATE':<16}  {'ANSWERS':>7}  {'SPOKEN':>7}  {'STATUS':<11}  PACK"]
        lines += [
            f"{s.id:<20} {_when(s.started_at, s.clock_trusted):<16}  {s.answers:>7}  {clock(s.spoken_s):>7}  "
            f"{s.status.replace('_', ' '):<11}  {s.pack_title}"
            for s in sessions
        ]
    return "\n".join(lines + listing.notices)


def show(archive: Archive, name: str) -> str:
    """One session's transcript, question by question."""
    session = archive.load(name)
    lines = [
        f"{session.pack_title} · {_when(session.started_at, session.clock_trusted)} · "
        f"{session.status.replace('_', ' ')} ({session.id})"
    ]
    for answer in session.answers:
        lines += ["", f"{answer.index}. {answer.question}"]
        if answer.status == "skipped":
            lines.append("   (skipped)")
            continue
        said = "(sealed)" if session.sealed else answer.transcript or "(no words recognized)"
        lines.append(
            f"   [{clock(answer.duration_s)}{', interrupted' if answer.status == 'interrupted' else ''}] {said}"
        )
        problem = audio_problem(session, answer)
        if problem:
            lines.append(f"   ! {problem}")
    return "\n".join(lines)


def search(archive: Archive, words: list[str], limit: int = 50) -> str:
    """Every answer containing all the words, with where in the recording they were said."""
    hits = archive.search(words, limit + 1)
    sealed = archive.sealed_count()
    were = "was" if sealed == 1 else "were"
    unsearched = (
        [f"{counted(sealed, 'sealed session')} {were} not searched; open them with `reflect open` to search them."]
        if sealed
        else []
    )
    if not hits:
        return "\n".join([f"No answers contain {quoted(' '.join(words))}."] + unsearched)
    lines = []
    for hit in hits[:limit]:
        lines += [
            f"{hit.session_id}  answer {hit.answer} at {clock(hit.time_s, tenths=True)}  {hit.question}",
            f"    {hit.snippet}",
        ]
    if len(hits) > limit:
        lines.append(f"Showing the first {limit} matches; add words to narrow the search.")
    return "\n".join(lines + unsearched)


def reindex(archive: Archive) -> str:
    """Rebuild the search index from the session files."""
    sessions, answers = archive.reindex()
    return f"Indexed {counted(answers, 'answer')} in {counted(sessions, 'session')}."


def export_cmd(
    archive: Archive,
    names: list[str] | None,
    fmt: str,
    out_dir: Path,
    force: bool = False,
    writing: Callable[[], AbstractContextManager[None]] = nullcontext,
) -> str:
    """Export the named sessions (or all when `names` is None) and say where they went; the pages are written
    within `writing()` (the command line: as the caller, when root reads as the notes' owner)."""
    ids = [s.id for s in archive.sessions()] if names is None else [archive.resolve(n) for n in names]
    if not ids:
        return "No saved sessions to export."
    sessions = [archive.load(i) for i in ids]
    sealed = [s.id for s in sessions if s.sealed]
    if sealed:
        which = f"session {sealed[0]} is" if len(sealed) == 1 else f"{len(sealed)} sessions ({sealed[0]}, …) are"
        raise SealedUnreadable(f"{which} sealed; export with --identity YOUR-KEY to open them first")
    with writing():
        pages = export(sessions, out_dir, fmt, force)
    return f"Exported {counted(len(pages), 'session')} to {Path(out_dir).expanduser().resolve()}."


def delete(archive: Archive, name: str, confirm: Callable[[str], bool]) -> str:
    """Delete a session's audio, transcripts and index rows after `confirm` agrees."""
    session_id = confirmed(archive, name, confirm)
    return deleted(archive.delete(session_id)) if session_id else NOTHING_DELETED


def confirmed(archive: Archive, name: str, confirm: Callable[[str], bool]) -> str | None:
    """The id of the session `name` once `confirm` agrees to delete it, or None."""
    session = archive.load(name)
    said = sum(1 for a in session.answers if a.status != "skipped")
    if not confirm(f"Delete session {session.id} ({session.pack_title}, {said} answers) for good? [y/N] "):
        return None
    return session.id


def deleted(session_id: str) -> str:
    """What `reflect delete` says once the session is gone."""
    return f"Deleted session {session_id}."
