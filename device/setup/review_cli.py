"""The notes commands on the command line (notes, show, search, reindex, export, delete): their arguments, and
who does the work (beside the running service, the service; root exporting, the caller writes)."""

import argparse
import tempfile
from datetime import date
from pathlib import Path

from common.errors import DateInvalid
from device.config import Config
from device.flow.owner_jobs import do_or_ask
from device.notes.across_time import parse_date
from device.notes.archive import Archive
from device.notes.opening import open_archive
from device.notes.review_commands import NOTHING_DELETED, confirmed, deleted, export_cmd, notes, reindex, search, show
from device.setup.notes_user import as_the_caller


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
        return parse_date(text)
    except DateInvalid as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _archive(config: Config) -> Archive:
    """The archive under the configured data dir, read as a review: damaged sessions are reported, not moved."""
    return Archive(config.data_dir, sets_aside=False)


def _run_notes(args: argparse.Namespace, config: Config) -> int:
    """`reflect notes`: print the result, return the exit code."""
    print(notes(_archive(config), args.json, args.limit, args.since))
    return 0


def _run_show(args: argparse.Namespace, config: Config) -> int:
    """`reflect show`: print the result, return the exit code."""
    print(show(_archive(config), args.session))
    return 0


def _run_search(args: argparse.Namespace, config: Config) -> int:
    """`reflect search`: print the result, return the exit code."""
    print(search(_archive(config), args.words))
    return 0


def _run_reindex(args: argparse.Namespace, config: Config) -> int:
    """`reflect reindex`: print the result, return the exit code (beside the service, it does the work)."""
    code, text = do_or_ask(config.data_dir, "reindex", "reindex", lambda: (0, reindex(_archive(config))))
    print(text)
    return code


def _run_export(args: argparse.Namespace, config: Config) -> int:
    """`reflect export`: print the result, return the exit code; with --identity, sealed notes are opened first
    (into a private temporary folder, removed afterwards)."""
    names = None if args.all else [args.session]
    if args.identity is None:
        print(export_cmd(_archive(config), names, args.format, args.out, args.force, as_the_caller))
        return 0
    with tempfile.TemporaryDirectory(prefix="reflect-opened-") as folder:
        opened = Path(folder) / "notes"
        open_archive(config.data_dir, args.identity, opened)
        print(export_cmd(Archive(opened, sets_aside=False), names, args.format, args.out, args.force, as_the_caller))
    return 0


def _run_delete(args: argparse.Namespace, config: Config) -> int:
    """`reflect delete`: print the result, return the exit code (beside the service, it does the work)."""
    archive = _archive(config)
    session_id = confirmed(archive, args.session, (lambda _prompt: True) if args.yes else ask)
    if session_id is None:
        print(NOTHING_DELETED)
        return 1
    code, text = do_or_ask(
        config.data_dir, "delete", f"delete {session_id}", lambda: (0, deleted(archive.delete(session_id)))
    )
    print(text)
    return code


def register(
    subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]", parents: list[argparse.ArgumentParser]
) -> None:
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
    p = subparsers.add_parser(
        "export", parents=parents, help="export sessions as Markdown or HTML pages with their audio"
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("session", nargs="?", help="folder name, a unique prefix, or 'latest'")
    which.add_argument("--all", action="store_true", help="export every session")
    p.add_argument("--format", choices=("md", "html"), default="md")
    p.add_argument(
        "--out", type=Path, required=True, help="folder to write into (created 0700 if needed; kept as it is if not)"
    )
    p.add_argument("--force", action="store_true", help="replace session folders (and index.html) already in --out")
    p.add_argument("--identity", type=Path, help="your identity file, to export sealed notes (reflect keys new)")
    p.set_defaults(func=_run_export, reads_notes=True, writes_for_caller=True)
    p = subparsers.add_parser("delete", parents=parents, help="delete a session's audio, transcripts and index rows")
    p.add_argument("session", help="folder name, a unique prefix, or 'latest'")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=_run_delete, reads_notes=True)
