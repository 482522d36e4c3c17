"""`reflect delete`, `reindex` and `recover` beside a running service process: it does them when idle, and
never while a session records."""

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from bench.archive_factory import write_session
from tests.device.flow.test_control import reflect
from tests.faults.support import census
from tests.rig import ROOT


@pytest.fixture
def service(tmp_path, run_dir):
    """Two saved sessions, and the service running in its own process over them."""
    data = tmp_path / "data"
    saved = [
        write_session(data, datetime(2026, 3, day, 10, tzinfo=timezone.utc), [["i", "feel", "safer"]]).name
        for day in (1, 2)
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.device.flow.service_stand_in", str(data), str(run_dir)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline() == "ready\n"
        yield process, data, saved
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def until(process: subprocess.Popen, line: str) -> None:
    """Read the stand-in's lines until `line`."""
    while (said := process.stdout.readline()) != f"{line}\n":
        assert said, f"the service ended before saying {line!r}"


def test_delete_and_reindex_beside_the_idle_service_are_done_by_it(tmp_path, run_dir, service):
    process, data, (older, newer) = service
    deleted = reflect(run_dir, data, "delete", "latest", "--yes")
    assert (deleted.returncode, deleted.stdout, deleted.stderr) == (0, f"Deleted session {newer}.\n", "")
    assert not (data / "sessions" / newer).exists() and (data / "sessions" / older).is_dir()
    reindexed = reflect(run_dir, data, "reindex")
    assert (reindexed.returncode, reindexed.stdout) == (0, "Indexed 1 answer in 1 session.\n")
    recovered = reflect(run_dir, data, "recover")
    assert (recovered.returncode, recovered.stdout) == (0, "recovery: nothing to do\n")


def test_a_live_session_is_never_touched_and_the_jobs_wait_for_its_end(tmp_path, run_dir, service):
    process, data, (older, newer) = service
    assert reflect(run_dir, data, "press").returncode == 0
    until(process, "answering")
    [live] = set(p.name for p in (data / "sessions").iterdir()) - {older, newer}
    before = census(data / "sessions" / live)
    asked = [reflect(run_dir, data, *command) for command in (["delete", older, "--yes"], ["recover"], ["reindex"])]
    assert [(r.returncode, r.stderr) for r in asked] == [(0, "")] * 3
    assert asked[0].stdout == f"The device is in a session; it will delete session {older} after this session.\n"
    assert asked[1].stdout == "The device is in a session; it will recover the notes after this session.\n"
    assert census(data / "sessions" / live) == before
    assert (data / "sessions" / older).is_dir()  # not yet
    (tmp_path / "go").touch()
    assert reflect(run_dir, data, "hold").returncode == 0  # ends the session early, as the button would
    until(process, "SESSION_SAVED")
    again = reflect(run_dir, data, "reindex")  # answered once it is done: after the jobs queued before it
    assert (again.returncode, again.stdout) == (0, "Indexed 2 answers in 2 sessions.\n")
    assert sorted(p.name for p in (data / "sessions").iterdir()) == sorted([newer, live])
    record = json.loads((data / "sessions" / live / "session.json").read_text())
    assert record["status"] == "ended_early"  # recover found it finished: nothing to repair
    assert [a["status"] for a in record["answers"]] == ["answered"]
