"""The command line's smaller promises, each with a real `reflect` process: --version, notes -n and --since,
hold with nothing to hold, no flag that does nothing, keys to standard output, counts said in words, INFO
lines only with -v, a long query not said back whole, and one line for a file that is not an archive."""

import subprocess
import sys
from datetime import datetime, timezone

import pytest

from bench.archive_factory import write_session
from device.setup.cli import build_parser
from tests.rig import ROOT

DAYS = (1, 2, 3)


def reflect(tmp_path, *args, data=True) -> subprocess.CompletedProcess:
    """`reflect ARGS [--data-dir tmp/data]` as a person runs it, with no service about."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    tail = ["--data-dir", str(tmp_path / "data")] if data else []
    return subprocess.run(
        [sys.executable, "-m", "device.setup.cli", *args, *tail],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def saved(tmp_path):
    """Three sessions, on the 1st, 2nd and 3rd of March 2026 at noon UTC."""
    return [
        write_session(tmp_path / "data", datetime(2026, 3, day, 12, tzinfo=timezone.utc), [["i", "feel"]]).name
        for day in DAYS
    ]


def test_version(tmp_path):
    result = reflect(tmp_path, "--version", data=False)
    assert (result.returncode, result.stdout) == (0, "reflect 0.1.0\n")


def listed(result) -> list[str]:
    return [line.split()[0] for line in result.stdout.splitlines()[1:] if line.startswith("2026")]


def test_notes_n_and_since_choose_the_newest_and_the_recent(tmp_path, saved):
    assert listed(reflect(tmp_path, "notes", "-n", "2")) == [saved[2], saved[1]]
    assert listed(reflect(tmp_path, "notes", "--since", "2026-03-02")) == [saved[2], saved[1]]
    assert listed(reflect(tmp_path, "notes", "--since", "2026-03-02", "-n", "1")) == [saved[2]]
    assert reflect(tmp_path, "notes", "--since", "2027-01-01").stdout == "No sessions match.\n"
    for bad in (["-n", "0"], ["-n", "many"], ["--since", "yesterday"]):
        result = reflect(tmp_path, "notes", *bad)
        assert result.returncode == 2 and result.stderr.splitlines()[-1].startswith("reflect notes: error:"), bad


def test_hold_with_no_service_says_there_is_nothing_to_hold(tmp_path, saved):
    for word in (["hold"], ["hold", "--long"]):
        result = reflect(tmp_path, *word)
        assert result.returncode == 2 and "so there is nothing to hold;" in result.stderr, result.stderr


def test_no_flag_that_does_nothing():
    options = {words: {o for a in sub._actions for o in a.option_strings} for words, sub in _leaves(build_parser())}
    assert "--model" not in options[("packs",)] | options[("play",)]
    assert "--data-dir" not in options[("keys", "new")] and "--config" not in options[("keys", "new")]


def _leaves(parser, words=()):
    subs = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    if not subs:
        yield words, parser
    for action in subs:
        for name, sub in action.choices.items():
            yield from _leaves(sub, (*words, name))


def test_keys_new_out_dash_writes_the_identity_alone_to_standard_output(tmp_path):
    result = reflect(tmp_path, "keys", "new", "--out", "-", data=False)
    assert result.returncode == 0
    secret = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    assert len(secret) == 1 and secret[0].startswith("AGE-SECRET-KEY-1")
    assert "Wrote your identity to standard output." in result.stderr and "AGE-SECRET" not in result.stderr
    assert not (ROOT / "-").exists() and not (tmp_path / "-").exists()


def test_counts_are_said_in_words_and_info_lines_only_with_v(tmp_path, saved):
    reindexed = reflect(tmp_path, "reindex")
    assert (reindexed.stdout, reindexed.stderr) == ("Indexed 3 answers in 3 sessions.\n", "")
    deleted = reflect(tmp_path, "delete", saved[0], "--yes")
    assert (deleted.returncode, deleted.stdout, deleted.stderr) == (0, f"Deleted session {saved[0]}.\n", "")
    told = reflect(tmp_path, "delete", saved[1], "--yes", "-v")
    assert told.returncode == 0 and f"deleted session {saved[1]}" in told.stderr
    again = reflect(tmp_path, "reindex")
    assert again.stdout == "Indexed 1 answer in 1 session.\n"


def test_a_long_query_is_not_said_back_whole(tmp_path, saved):
    result = reflect(tmp_path, "search", "x" * 10_000)
    assert result.returncode == 0 and len(result.stdout) < 120 and "…" in result.stdout


def test_open_on_a_file_that_is_not_an_archive_is_one_plain_line(tmp_path):
    assert reflect(tmp_path, "keys", "new", "--out", str(tmp_path / "key"), data=False).returncode == 0
    (tmp_path / "notes.txt").write_text("not a tar\n")
    result = reflect(
        tmp_path,
        "open",
        str(tmp_path / "notes.txt"),
        "--identity",
        str(tmp_path / "key"),
        "--out",
        str(tmp_path / "opened"),
        data=False,
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr == (
        f"reflect: {tmp_path / 'notes.txt'} is neither an archive folder nor a readable tar "
        "file (copy the device's data dir, or a tar of it, and open that)\n"
    )
