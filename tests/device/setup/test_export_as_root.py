"""`sudo reflect export` on the device: read as the notes' owner, written where root asked, even into a folder
that owner cannot write (a USB stick, another user's folder)."""

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bench.archive_factory import write_session
from tests.rig import ROOT

pytestmark = pytest.mark.root

NOTES_OWNER, THIRD_USER = 40401, 40402
"""Two uids with no other use here: the service's user, and whoever owns the stick."""


@pytest.fixture
def device(tmp_path):
    """Notes owned by NOTES_OWNER (0700) and a folder owned by THIRD_USER (0700), under a folder both can reach."""
    base = Path(tempfile.mkdtemp(prefix="reflect-root-export-"))
    os.chmod(base, 0o755)  # the folder this test made: the owner must reach its notes through it
    data = base / "data"
    ids = [
        write_session(data, datetime(2026, 3, day, 10, tzinfo=timezone.utc), [["i", "feel", "safer"]]).name
        for day in (1, 2)
    ]
    for folder, _, files in os.walk(data):
        for path in [folder, *(os.path.join(folder, f) for f in files)]:
            os.chown(path, NOTES_OWNER, NOTES_OWNER)
    stick = base / "stick"
    stick.mkdir(mode=0o700)
    os.chown(stick, THIRD_USER, THIRD_USER)
    yield data, stick, ids
    shutil.rmtree(base)


@pytest.mark.parametrize("fmt, page", [("html", "index.html"), ("md", "notes.md")])
def test_root_exports_the_owners_notes_into_a_folder_of_a_third_user(device, fmt, page):
    data, stick, ids = device
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "device.setup.cli",
            "export",
            "--all",
            "--format",
            fmt,
            "--out",
            str(stick / "pages"),
            "--data-dir",
            str(data),
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": "/root"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout == f"Exported 2 sessions to {stick / 'pages'}.\n"
    assert all((stick / "pages" / i / page).is_file() for i in ids)
    assert (stick.stat().st_uid, stat_mode(stick)) == (THIRD_USER, 0o700)  # the folder pointed at is as it was
    left = {path: os.lstat(path).st_uid for path in [data, *data.rglob("*")]}
    assert set(left.values()) == {NOTES_OWNER}, [p for p, uid in left.items() if uid != NOTES_OWNER]


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777
