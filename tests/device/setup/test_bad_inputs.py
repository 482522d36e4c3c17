"""Every `reflect` subcommand, found by walking the parser, against a table of bad inputs: no traceback, one
line on stderr and exit 2 where the input stops it, a closed pipe ends quietly, and the notes stay as they were."""

import argparse
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.archive_factory import damage, make_archive
from device.notes.opening import new_identity
from device.setup.cli import build_parser
from tests.device.setup.forked_cli import run_reflect

ROOT = Path(__file__).resolve().parents[3]
DEVICE_OWN = {("run",), ("session",), ("demo",)}  # they record from the microphone; their own tests drive them
WRITERS = {
    ("recover",),
    ("reindex",),
    ("delete",),
    ("restore",),
    ("brief",),
}  # they own the notes while they work and may change them
LOCK = ".owner.lock"  # taken by WRITERS, even when they then refuse
CACHE = "index.sqlite3"  # the search index: a cache every review command may refresh
NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]  # root, held to the file modes
OPTIONS = {"config", "data_dir", "source_zip"}  # the options filled though not required (--from: no download)
PIPED = {("notes",), ("search",), ("show",), ("config",), ("packs",)}


def leaves(parser: argparse.ArgumentParser, words: tuple = ()):
    """(command words, parser) for every runnable subcommand."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield words, parser
    for action in subs:
        for name, sub in action.choices.items():
            yield from leaves(sub, (*words, name))


COMMANDS = [(words, sub) for words, sub in leaves(build_parser()) if words not in DEVICE_OWN]


@dataclass
class Place:
    """One command's own copy of everything: a good archive, a key, and what the bad input changes."""

    tmp: Path
    data: Path
    values: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    closed: bool = False


def argv(words: tuple, parser: argparse.ArgumentParser, place: Place) -> list[str]:
    """The command with every argument it needs filled from `place.values` (a new required one fails here)."""
    line = list(words)
    for action in parser._actions:
        if place.values.get(action.dest) is not None and (
            action.required or not action.option_strings or action.dest in OPTIONS
        ):
            value = place.values[action.dest]
            line += [str(value)] if not action.option_strings else [action.option_strings[-1], str(value)]
        elif action.required:
            raise AssertionError(f"reflect {' '.join(words)}: give --{action.dest} a value in Place.values")
    return line + ["--data-dir", str(place.data)] * ("data_dir" not in place.values and _takes(parser, "data_dir"))


def snapshot(root: Path) -> dict:
    """Every path under `root` (and root itself) with its mode and, for files, its bytes; the cache left out, and
    the owner lock, which only WRITERS take."""
    if not os.path.lexists(root):
        return {}
    paths = [root] + sorted(root.rglob("*")) if root.is_dir() and os.access(root, os.X_OK) else [root]
    return {
        str(p.relative_to(root)): (stat.S_IMODE(p.lstat().st_mode), p.read_bytes() if p.is_file() else None)
        for p in paths
        if not p.name.startswith(CACHE)
    }


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A good archive (two sessions of two answers) and a key, made once and copied into every place."""
    folder = tmp_path_factory.mktemp("good")
    make_archive(folder / "data", 2, 2, seed=5)
    new_identity(folder / "owner.key")
    return folder


def place_for(tmp: Path, good: Path) -> Place:
    shutil.copytree(good, tmp)
    data, key = tmp / "data", tmp / "owner.key"
    return Place(
        tmp,
        data,
        {
            "session": max(p.name for p in (data / "sessions").iterdir()),
            "answer": 99,
            "words": "zz",
            "source": data,
            "time": "not a time",
            "out": tmp / "out",
            "identity": key,
            "dest": tmp / "backup",
            "source_zip": tmp / "missing.zip",
        },
        {"HOME": str(tmp), "XDG_RUNTIME_DIR": str(tmp)},
    )


def _reads(parser) -> bool:
    return bool(parser.get_default("reads_notes"))


def _takes(parser, dest: str) -> bool:
    return any(a.dest == dest for a in parser._actions)


def _has_out(parser) -> bool:
    return _takes(parser, "out")


def _has_config(parser) -> bool:
    return _takes(parser, "config")


def _none(parser) -> bool:
    return False


def missing_data_dir(p: Place):
    p.data = p.tmp / "mistyped"
    return _reads


def data_dir_is_a_file(p: Place):
    p.data = p.tmp / "a-file"
    p.data.write_text("not a folder")
    return _reads


def data_dir_under_proc(p: Place):
    p.data = Path("/proc/self/reflect")
    return _reads


def someone_elses_data_dir(p: Place):
    p.closed = True  # the data dir is 0000 while the command runs, and root runs without its override
    return _reads


def config_not_utf8(p: Place):
    (p.tmp / "config.toml").write_bytes(b'[storage]\ndata_dir = "caf\xe9"\n')
    p.values["config"] = p.tmp / "config.toml"
    return _has_config


def config_is_a_folder(p: Place):
    p.values["config"] = p.tmp
    return _has_config


def home_nonexistent(p: Place):
    p.env.update(HOME=str(p.tmp / "no-home"), XDG_RUNTIME_DIR=str(p.tmp / "no-home" / "run"))
    p.values["data_dir"] = p.data
    return _none


def home_nonexistent_no_data_dir(p: Place):
    p.env.update(HOME=str(p.tmp / "no-home"), XDG_RUNTIME_DIR=str(p.tmp / "no-home" / "run"))
    p.data = p.tmp / "no-home" / ".local" / "share" / "reflect"
    p.values["data_dir"] = None  # no --data-dir given
    return _reads


def index_is_a_folder(p: Place):
    (p.data / CACHE).mkdir()
    (p.data / CACHE / "keep").write_text("x")
    return lambda parser: (
        _reads(parser) and parser.get_default("func").__name__ not in ("cmd_recover", "_run_backup")
    )  # need no index


def sessions_is_a_file(p: Place):
    for folder in (p.data / "sessions").iterdir():
        for item in folder.iterdir():
            item.unlink()
        folder.rmdir()
    (p.data / "sessions").rmdir()
    (p.data / "sessions").write_text("x")
    return _none


def unreadable_session(p: Place):
    folder = p.data / "sessions" / p.values["session"]
    (folder / "session.json").unlink()
    (folder / "session.json").mkdir()  # read as root too: a folder cannot be read as a file
    return _none


def damaged_session(p: Place):
    damage(p.data / "sessions" / p.values["session"], "bad_json")
    return _none


def out_is_a_file(p: Place):
    p.values["out"].write_text("mine")
    return _has_out


def out_under_proc(p: Place):
    p.values["out"] = Path("/proc/self/reflect-out")
    return _has_out


def dest_is_a_file(p: Place):
    p.values["dest"].write_text("mine")
    return lambda parser: any(a.dest == "dest" for a in parser._actions)


def source_without_sessions(p: Place):
    p.values["source"] = p.tmp / "empty"
    p.values["source"].mkdir()
    return lambda parser: parser.get_default("func").__name__ == "_run_restore"


def identity_is_a_folder(p: Place):
    p.values["identity"] = p.tmp
    return lambda parser: any(a.dest == "identity" and a.required for a in parser._actions)


CASES = [
    missing_data_dir,
    data_dir_is_a_file,
    data_dir_under_proc,
    someone_elses_data_dir,
    config_not_utf8,
    config_is_a_folder,
    home_nonexistent,
    home_nonexistent_no_data_dir,
    index_is_a_folder,
    sessions_is_a_file,
    unreadable_session,
    damaged_session,
    out_is_a_file,
    out_under_proc,
    dest_is_a_file,
    source_without_sessions,
    identity_is_a_folder,
]


def run(words, parser, tmp: Path, good: Path, case, piped: bool = False):
    """Set up `case` in its own folder, run the command, return (must fail, result, notes before, notes after).

    A forked `reflect` (tests/device/setup/forked_cli.py) unless the run needs a real interpreter: into a closed
    pipe, or as root held to the file modes (setpriv)."""
    place = place_for(tmp, good)
    must_fail = case(place)(parser)
    line = argv(words, parser, place)
    before = snapshot(place.data)  # {} for a data dir that is not there: then it must not appear
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8", **place.env}
    if place.closed:
        mode = stat.S_IMODE(place.data.stat().st_mode)
        os.chmod(place.data, 0)
    held = place.closed and os.geteuid() == 0
    if piped or held:
        result = run_interpreter(line, env, tmp, piped, held)
    else:
        result = run_reflect(line, env, tmp)
    if place.closed:
        os.chmod(place.data, mode)
    return must_fail, result, before, snapshot(place.data)


def run_interpreter(line: list[str], env: dict, tmp: Path, piped: bool, held: bool) -> tuple[int, str, str]:
    """`python -m device.setup.cli line` in a new interpreter; `held`: as root without its override of modes."""
    command = [*NO_OVERRIDE * held, sys.executable, "-m", "device.setup.cli", *line]
    with subprocess.Popen(
        command, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        if piped:
            process.stdout.close()  # the reader went away, as `| head -1` does once it has its line
            err = process.stderr.read()
            out = ""
        else:
            out, err = process.communicate(timeout=120)
        return process.wait(timeout=120), out, err


def check(words, must_fail, result, before, after) -> None:
    code, out, err = result
    name = "reflect " + " ".join(words)
    assert "Traceback" not in err and "Exception ignored" not in err, f"{name}:\n{err}"
    assert code in (0, 1, 2, 141), f"{name}: exit {code}\n{err}"
    if must_fail:
        assert code == 2, f"{name}: exit {code}, expected 2\n{out}\n{err}"
    if code == 2:
        assert len(err.splitlines()) == 1 and err.startswith("reflect: "), f"{name}: stderr is not one line:\n{err}"
    if words in WRITERS:
        after, before = ({k: v for k, v in notes.items() if k != LOCK} for notes in (after, before))
    if not (words in WRITERS and code != 2):  # they did their work (1: recovery names a problem; 141: piped)
        assert after == before, f"{name} changed the notes"


def run_all(tmp_path: Path, good: Path, case, piped: bool = False) -> list:
    """Every command against `case`, one after another (xdist's workers fill the cores), each in its own folder."""
    return [(words, *run(words, parser, tmp_path / "-".join(words), good, case, piped)) for words, parser in COMMANDS]


def test_the_parser_walk_finds_every_subcommand():
    found = {" ".join(words) for words, _ in COMMANDS}
    assert {
        "notes",
        "show",
        "search",
        "export",
        "open",
        "recover",
        "keys new",
        "model install",
        "clock set",
        "play",
        "press",
        "config",
        "packs",
        "doctor",
        "backup",
        "restore",
    } <= found
    assert not {"run", "session", "demo"} & found


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_every_command_says_one_line_and_keeps_the_notes(tmp_path, good, case):
    for words, must_fail, result, before, after in run_all(tmp_path, good, case):
        check(words, must_fail, result, before, after)


def nothing_wrong(p: Place):
    return _none


def test_a_closed_pipe_ends_quietly(tmp_path, good):
    results = run_all(tmp_path, good, nothing_wrong, piped=True)
    for words, _, result, before, after in results:
        check(words, False, result, before, after)
    quiet = {words: result[0] for words, _, result, _, _ in results if words in PIPED}
    assert set(quiet) == PIPED and set(quiet.values()) <= {0, 141}, quiet
    assert 141 in quiet.values()
