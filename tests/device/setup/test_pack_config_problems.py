"""Packs and config that say what is wrong: the owner's copy of a pack, broken packs, a pack or packs folder
that is not there, and the LED on the button's pin."""

import subprocess
import sys

import pytest

from content.packs import builtin_packs_dir
from device.config import load_config
from device.setup.doctor import pack_findings
from tests.faults.support import census
from tests.rig import ROOT

BUILTIN = builtin_packs_dir() / "therapy-relationship.toml"


def reflect(tmp_path, *args, **settings):
    """`reflect ARGS --data-dir tmp/data` with REFLECT_<SECTION>_<KEY> settings, as a person runs it."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "GPIOZERO_PIN_FACTORY": "mock",
        **{f"REFLECT_{k.upper()}": str(v) for k, v in settings.items()},
    }
    return subprocess.run(
        [sys.executable, "-m", "device.setup.cli", *args, "--data-dir", str(tmp_path / "data")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def own_copy(tmp_path):
    """The default pack copied into <data_dir>/packs/ to edit it, as the README says, its title changed."""
    packs = tmp_path / "data" / "packs"
    packs.mkdir(parents=True)
    copy = packs / BUILTIN.name
    copy.write_text(BUILTIN.read_text().replace('title = "The therapy relationship"', 'title = "My own questions"'))
    return copy


def test_the_owners_copy_of_the_default_pack_is_listed_as_theirs_and_nothing_is_broken(tmp_path, own_copy):
    listed = reflect(tmp_path, "packs")
    assert (listed.returncode, listed.stderr) == (0, "")
    [line] = [line for line in listed.stdout.splitlines() if "therapy-relationship" in line]
    assert line.startswith("* therapy-relationship") and "My own questions" in line
    assert line.endswith(f"(yours, in place of the built-in {BUILTIN})")
    assert "(broken)" not in listed.stdout


def test_packs_exits_non_zero_when_a_pack_is_broken(tmp_path, own_copy):
    (own_copy.parent / "half-written.toml").write_text('id = "half"\ntitle = ')
    listed = reflect(tmp_path, "packs")
    assert listed.returncode == 1
    assert "(broken)" in listed.stdout and "half-written.toml" in listed.stdout


@pytest.mark.parametrize(
    "setting, value, said",
    [
        ("content_pack", "nope", "content.pack: no question pack with id 'nope'; available: "),
        ("content_packs_dir", "/nonexistent/packs", "content.packs_dir /nonexistent/packs is not a folder; create it"),
        ("button_led_pin", "17", "button.led_pin and button.pin are both GPIO 17; wire the LED to another pin"),
    ],
)
def test_a_config_problem_is_one_line_and_exit_2_for_the_device_and_a_fail_in_doctor(tmp_path, setting, value, said):
    (tmp_path / "data").mkdir()
    before = census(tmp_path)
    result = reflect(tmp_path, "session", "--keyboard", **{setting: value})
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"reflect: {said}")
    assert {k: v for k, v in census(tmp_path).items() if not k.startswith("data/.owner")} == before
    config = load_config(
        env={"HOME": str(tmp_path), f"REFLECT_{setting.upper()}": value},
        overrides={"storage": {"data_dir": str(tmp_path / "data")}},
    )
    assert [(f.level, f.what, f.detail.split(";")[0]) for f in pack_findings(config)] == [
        ("FAIL", "config", said.split(";")[0])
    ]


def test_doctor_says_the_pack_is_fine_and_warns_of_a_broken_pack_file(tmp_path, own_copy):
    (own_copy.parent / "half-written.toml").write_text('id = "half"\ntitle = ')
    config = load_config(env={"HOME": str(tmp_path)}, overrides={"storage": {"data_dir": str(tmp_path / "data")}})
    found = [(f.level, f.what) for f in pack_findings(config)]
    assert found == [("OK", "pack"), ("WARN", "pack file")]
