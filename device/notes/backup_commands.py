"""The `reflect backup DEST` and `reflect restore SRC` subcommands."""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from device.notes.backup import backup
from device.notes.owner import own
from device.notes.restore import restore

if TYPE_CHECKING:  # config imports the notes' record; these commands only read what it built
    from device.config import Config


def _run_backup(args: argparse.Namespace, config: "Config") -> int:
    """`reflect backup`: reads the notes only (the service may run), prints what was copied, verified and skipped."""
    print("\n".join(backup(config.data_dir, args.dest).lines()))
    return 0


def _run_restore(args: argparse.Namespace, config: "Config") -> int:
    """`reflect restore`: owns the notes while it writes them, prints what was restored."""
    with own(config.data_dir, "restore"):
        print("\n".join(restore(args.source, config.data_dir).lines()))
    return 0


def register(
    subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]", parents: list[argparse.ArgumentParser]
) -> None:
    """Add backup and restore to the `reflect` command line."""
    p = subparsers.add_parser(
        "backup",
        parents=parents,
        help="copy the finished sessions to a folder (a USB stick), verified; again copies what changed",
    )
    p.add_argument("dest", type=Path, help="the backup folder (created 0700 if needed; kept as it is if not)")
    p.set_defaults(func=_run_backup, reads_notes=True)
    p = subparsers.add_parser(
        "restore",
        parents=parents,
        help="bring back the sessions of a backup that the notes lack; never writes over one",
    )
    p.add_argument("source", type=Path, help="the folder `reflect backup` wrote (or a copied data dir)")
    p.set_defaults(func=_run_restore)
