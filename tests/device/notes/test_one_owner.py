"""One owner of the notes, with two real processes: while the device records, nothing else writes the notes."""

import json
import re
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bench.archive_factory import write_session
from common.errors import NotesBusy
from device.config import load_config
from device.flow.owner_jobs import SERVICE_SILENT
from device.notes.owner import RECORDING
from device.setup.cli import build_parser
from tests.device.notes.notes_holder import holding
from tests.faults.support import census
from tests.rig import ROOT

SAVED = datetime(2026, 3, 1, 10, 0, 0, tzinfo=timezone.utc)


def reflect(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """`reflect ARGS --data-dir tmp/data` as a person runs it, from this worktree's code."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp),
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "GPIOZERO_PIN_FACTORY": "mock",
    }
    return subprocess.run(
        [sys.executable, "-m", "device.setup.cli", *args, "--data-dir", str(tmp / "data")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def recording(tmp_path):
    """A saved session, and another process that owns the notes as the service and is recording answer 1."""
    data = tmp_path / "data"
    saved = write_session(data, SAVED, [["i", "feel", "safer"], None]).name
    with holding(data) as (holder, live):
        yield holder, saved, live


def without_index(files: dict[str, str]) -> dict[str, str]:
    """A census without the search index and its journal (a cache every reader may bring in step)."""
    return {path: digest for path, digest in files.items() if not path.startswith("index.sqlite3")}


def test_while_the_device_records_nothing_else_may_write_the_notes_and_nothing_changes(tmp_path, recording):
    holder, saved, live = recording
    before = census(tmp_path / "data")
    assert f"sessions/{live}/01.wav.part" in before
    for command in (["recover"], ["delete", saved, "--yes"]):  # this stand-in has no control socket to ask
        result = reflect(tmp_path, *command)
        assert (result.returncode, result.stderr) == (2, f"reflect: {SERVICE_SILENT}\n"), command
        # delete reads the session to confirm it first, as `reflect show` would: the index is a cache
        assert without_index(census(tmp_path / "data")) == without_index(before), command
    before = census(tmp_path / "data")
    for command, said in (
        (["reindex"], SERVICE_SILENT),
        (["session"], RECORDING),
        (["demo"], RECORDING),
        (["run"], RECORDING),
    ):  # the same parser and commands, in this process
        args = build_parser().parse_args([*command, "--data-dir", str(tmp_path / "data")])
        with pytest.raises(NotesBusy, match=f"^{re.escape(said)}$"):
            args.func(args, load_config(env={}, overrides={"storage": {"data_dir": str(tmp_path / "data")}}))
        assert census(tmp_path / "data") == before, command


def test_once_the_device_is_killed_recover_and_delete_work_again(tmp_path, recording):
    holder, saved, live = recording
    holder.send_signal(signal.SIGKILL)  # no clean-up: the kernel drops the lock with the process
    holder.wait()
    recovered = reflect(tmp_path, "recover")
    assert recovered.returncode == 0, recovered.stderr
    folder = tmp_path / "data" / "sessions" / live
    record = json.loads((folder / "session.json").read_text())
    assert record["status"] == "interrupted" and not (folder / "01.wav.part").exists()
    assert (folder / record["answers"][0]["audio"]).exists()  # sealed (and compressed)
    deleted = reflect(tmp_path, "delete", saved, "--yes")
    assert (deleted.returncode, deleted.stdout) == (0, f"Deleted session {saved}.\n")
    assert not (tmp_path / "data" / "sessions" / saved).exists()


def test_reading_the_notes_works_while_the_device_records_and_leaves_the_sessions_as_they_are(tmp_path, recording):
    holder, saved, live = recording
    sessions = tmp_path / "data" / "sessions"
    before = census(sessions)
    listed = reflect(tmp_path, "notes", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {row["id"] for row in json.loads(listed.stdout)["sessions"]} == {saved, live}
    shown = reflect(tmp_path, "show", saved)
    assert shown.returncode == 0 and "i feel safer" in shown.stdout
    found = reflect(tmp_path, "search", "safer")
    assert found.returncode == 0 and saved in found.stdout
    assert census(sessions) == before  # the live NN.wav.part above all
