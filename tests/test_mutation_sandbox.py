"""The mutants' sandbox: even as root, a mutant can change its own folders and nothing else."""

import subprocess
import sys

import pytest

from tests.mutation.sandbox import confined

pytestmark = pytest.mark.root

MUTANT = """
import os, sys
outside, own = sys.argv[1:]
for attempt in (lambda: os.chmod(outside, 0o700), lambda: open(os.path.join(outside, "escaped.txt"), "w")):
    try:
        attempt()
        print("changed", outside)
    except OSError as error:
        print("refused", error.strerror)
open(os.path.join(own, "result.txt"), "w").write("mine")
os.chmod(own, 0o700)
"""


def test_a_mutant_as_root_changes_its_own_folder_and_nothing_outside(tmp_path):
    outside, own = tmp_path / "outside", tmp_path / "own"
    outside.mkdir(mode=0o755)
    own.mkdir(mode=0o755)
    outside.chmod(0o755)
    command = [sys.executable, "-c", MUTANT, str(outside), str(own)]
    result = subprocess.run(confined(command, writable=[own], cwd=own), capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == ["refused Read-only file system"] * 2
    assert (outside.stat().st_mode & 0o777, list(outside.iterdir())) == (0o755, [])
    assert ((own / "result.txt").read_text(), own.stat().st_mode & 0o777) == ("mine", 0o700)
