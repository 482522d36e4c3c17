"""The review subcommands: notes, show, search, reindex, export and delete, as text-returning functions."""
import argparse
import json
import tempfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from common.errors import SealedUnreadable
from common.wording import counted, quoted
from device.clock import shown
from device.notes.archive import Archive, audio_problem
from device.notes.durations import clock
from device.notes.export import export
from device.notes.opening import open_archive
from device.setup.notes_user import as_the_caller

NOTHING_DELETED = "Nothing deleted."

if TYPE_CHECKING:  # config imports the notes' record; the review commands only read what it built
    from device.config import Config


def _when(started_at: datetime, clock_trusted: bool) -> str:
    """A start time as local date and minute, or as "about ..." when the clock was not set."""
    return shown(started_at, clock_trusted)


def notes(archive: Archive, as_json: bool, limit: int | None = None, since: date | None = None) -> str:
    """Sessions newest first (date, pack, answers, spoken time, status), then any notices; only the newest
    `limit`, and only those begun on or after the local date `since`, when given."""
    listing = archive.listing()
    sessions = [s for s in listing.sessions if since is None or s.started_at.astimezone().date() >= since][:limit]
    if as_json:
        rows = [{"id": s.id, "started_at": s.started_at.isoformat(), "pack": s.pack_title, "answers": s.answers,
                 "spoken_s": round(s.spoken_s, 2), "status": s.status, "problems": list(s.problems),
                 "seq": s.seq, "clock_trusted": s.clock_trusted} for s in sessions]
        return json.dumps({"sessions": rows, "notices": listing.notices}, ensure_ascii=False, indent=2)
    if not sessions:
        lines = ["No saved sessions yet." if not listing.sessions else "No sessions match."]
    else:
        lines = [f"{'SESSION':<20} {'DATE':<16}  {'ANSWERS':>7}  {'SPOKEN':>7}  {'STATUS':<11}  PACK"]
        lines += [f"{s.id:<20} {_when(s.started_at, s.clock_trusted):<16}  {s.answers:>7}  {clock(s.spoken_s):>7}  {s.status.replace('_', ' '):<11}  {s.pack_title}"
                  for s in sessions]
    return "\n".join(lines + listing.notices)


def show(archive: Archive, name: str) -> str:
    """One session's transcript, question by question."""
    session = archive.load(name)
    lines = [f"{session.pack_title} · {_when(session.started_at, session.clock_trusted)} · {session.status.replace('_', ' ')} ({session.id})"]
    for answer in session.answers:
        lines += ["", f"{answer.index}. {answer.question}"]
        if answer.status == "skipped":
            lines.append("   (skipped)")
            continue
        said = "(sealed)" if session.sealed else answer.transcript or "(no words recognized)"
        lines.append(f"   [{clock(answer.duration_s)}{', interrupted' if answer.status == 'interrupted' else ''}] {said}")
        problem = audio_problem(session, answer)
        if problem:
            lines.append(f"   ! {problem}")
    return "\n".join(lines)


def search(archive: Archive, words: list[str], limit: int = 50) -> str:
    """Every answer containing all the words, with where in the recording they were said."""
    hits = archive.search(words, limit + 1)
    sealed = archive.sealed_count()
    were = "was" if sealed == 1 else "were"
    unsearched = [f"{counted(sealed, 'sealed session')} {were} not searched; open them with `reflect open` to search them."] if sealed else []
    if not hits:
        return "\n".join([f"No answers contain {quoted(' '.join(words))}."] + unsearched)
    lines = []
    for hit in hits[:limit]:
        lines += [f"{hit.session_id}  answer {hit.answer} at {clock(hit.time_s, tenths=True)}  {hit.question}", f"    {hit.snippet}"]
    if len(hits) > limit:
        lines.append(f"Showing the first {limit} matches; add words to narrow the search.")
    return "\n".join(lines + unsearched)


def reindex(archive: Archive) -> str:
    """Rebuild the search index from the session files."""
    sessions, answers = archive.reindex()
    return f"Indexed {counted(answers, 'answer')} in {counted(sessions, 'session')}."


def export_cmd(archive: Archive, names: list[str] | None, fmt: str, out_dir: Path, force: bool = False) -> str:
    """Export the named sessions (or all when `names` is None) and say where they went."""
    ids = [s.id for s in archive.sessions()] if names is None else [archive.resolve(n) for n in names]
    if not ids:
        return "No saved sessions to export."
    sessions = [archive.load(i) for i in ids]
    sealed = [s.id for s in sessions if s.sealed]
    if sealed:
        which = f"session {sealed[0]} is" if len(sealed) == 1 else f"{len(sealed)} sessions ({sealed[0]}, …) are"
        raise SealedUnreadable(f"{which} sealed; export with --identity YOUR-KEY to open them first")
    with as_the_caller():  # root asked for the pages there: root writes them (read as the notes' owner)
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


def ask(prompt: str) -> bool:
    """Ask on the terminal; anything but yes (or no terminal at all) means no."""
    try:
        return input(prompt).strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _positive(text: str) -> int:
    """A whole number of at least 1, for -n."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number of sessions (1 or more)")
    return int(text)


def _day(text: str) -> date:
    """A day as YYYY-MM-DD, for --since."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a day as YYYY-MM-DD") from None


def _archive(config: "Config") -> Archive:
    """The archive under the configured data dir, read as a review: damaged sessions are reported, not moved."""
    return Archive(config.data_dir, sets_aside=False)


def _run_notes(args: argparse.Namespace, config: "Config") -> int:
    """`reflect notes`: print the result, return the exit code."""
    print(notes(_archive(config), args.json, args.limit, args.since))
    return 0


def _run_show(args: argparse.Namespace, config: "Config") -> int:
    """`reflect show`: print the result, return the exit code."""
    print(show(_archive(config), args.session))
    return 0


def _run_search(args: argparse.Namespace, config: "Config") -> int:
    """`reflect search`: print the result, return the exit code."""
    print(search(_archive(config), args.words))
    return 0


def _run_reindex(args: argparse.Namespace, config: "Config") -> int:
    """`reflect reindex`: print the result, return the exit code (beside the service, it does the work)."""
    from device.flow.owner_jobs import do_or_ask

    code, text = do_or_ask(config.data_dir, "reindex", "reindex", lambda: (0, reindex(_archive(config))))
    print(text)
    return code


def _run_export(args: argparse.Namespace, config: "Config") -> int:
    """`reflect export`: print the result, return the exit code; with --identity, sealed notes are opened first
    (into a private temporary folder, removed afterwards)."""
    names = None if args.all else [args.session]
    if args.identity is None:
        print(export_cmd(_archive(config), names, args.format, args.out, args.force))
        return 0
    with tempfile.TemporaryDirectory(prefix="reflect-opened-") as folder:
        opened = Path(folder) / "notes"
        open_archive(config.data_dir, args.identity, opened)
        print(export_cmd(Archive(opened, sets_aside=False), names, args.format, args.out, args.force))
    return 0


def _run_delete(args: argparse.Namespace, config: "Config") -> int:
    """`reflect delete`: print the result, return the exit code (beside the service, it does the work)."""
    from device.flow.owner_jobs import do_or_ask

    archive = _archive(config)
    session_id = confirmed(archive, args.session, (lambda _prompt: True) if args.yes else ask)
    if session_id is None:
        print(NOTHING_DELETED)
        return 1
    code, text = do_or_ask(config.data_dir, "delete", f"delete {session_id}",
                           lambda: (0, deleted(archive.delete(session_id))))
    print(text)
    return code


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]", parents: list[argparse.ArgumentParser]) -> None:
    """Add notes, show, search, reindex, export and delete to the `reflect` command line."""
    p = subparsers.add_parser("notes", parents=parents, help="list saved sessions, newest first")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.add_argument("-n", dest="limit", type=_positive, metavar="N", help="only the newest N sessions")
    p.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="only sessions begun on or after this (local) day")
    p.set_defaults(func=_run_notes, reads_notes=True)
    p = subparsers.add_parser("show", parents=parents, help="print a session's transcript")
    p.add_argument("session", help="folder name, a unique prefix, or 'latest'")
    p.set_defaults(func=_run_show, reads_notes=True)
    p = subparsers.add_parser("search", parents=parents, help="find answers containing words (word* for a prefix)")
    p.add_argument("words", nargs="+")
    p.set_defaults(func=_run_search, reads_notes=True)
    p = subparsers.add_parser("reindex", parents=parents, help="rebuild the search index from the session files")
    p.set_defaults(func=_run_reindex, reads_notes=True)
    p = subparsers.add_parser("export", parents=parents, help="export sessions as Markdown or HTML pages with their audio")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("session", nargs="?", help="folder name, a unique prefix, or 'latest'")
    which.add_argument("--all", action="store_true", help="export every session")
    p.add_argument("--format", choices=("md", "html"), default="md")
    p.add_argument("--out", type=Path, required=True, help="folder to write into (created 0700 if needed; kept as it is if not)")
    p.add_argument("--force", action="store_true", help="replace session folders (and index.html) already in --out")
    p.add_argument("--identity", type=Path, help="your identity file, to export sealed notes (reflect keys new)")
    p.set_defaults(func=_run_export, reads_notes=True, writes_for_caller=True)
    p = subparsers.add_parser("delete", parents=parents, help="delete a session's audio, transcripts and index rows")
    p.add_argument("session", help="folder name, a unique prefix, or 'latest'")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=_run_delete, reads_notes=True)
