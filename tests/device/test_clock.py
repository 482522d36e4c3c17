"""The clock: whether it is trusted, from sources given as paths and functions (never the host's), how dates
from an untrusted one are shown, and `reflect clock set` through a fake timedatectl."""

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from common.errors import ClockNotSet, ReflectError
from device.clock import ClockStatus, clock_status, set_clock, shown
from tests.rig import ROOT

BOOT = "0b5e1c2d-aaaa-bbbb-cccc-000000000001"


@pytest.fixture
def system(tmp_path):
    """A pretend system: no RTC, timesyncd not synced, the kernel unsynced, this boot's id."""
    (tmp_path / "boot_id").write_text(BOOT + "\n")
    (tmp_path / "rtc0").mkdir()
    return tmp_path


def status(system: Path, trust="auto", synced=lambda: False) -> ClockStatus:
    return clock_status(
        trust,
        marker=system / "marker",
        rtc=system / "rtc0",
        boot_id_path=system / "boot_id",
        timesyncd_flag=system / "synchronized",
        synced=synced,
    )


def test_a_clock_restored_from_the_last_saved_time_is_not_trusted(system):
    assert status(system) == ClockStatus(False, "not synchronised: restored from the last saved time")
    assert status(system, synced=lambda: None).trusted is False  # the kernel refused to say (ProtectClock=)
    (system / "rtc0" / "hctosys").write_text("0\n")  # an RTC that did not set the time at boot
    assert status(system).trusted is False


def test_each_real_source_makes_it_trusted(system):
    assert status(system, synced=lambda: True) == ClockStatus(True, "synchronised")
    (system / "synchronized").touch()
    assert status(system) == ClockStatus(True, "synchronised")
    (system / "synchronized").unlink()
    (system / "rtc0" / "hctosys").write_text("1\n")
    assert status(system) == ClockStatus(True, "set at boot from the battery-backed clock rtc0")


def test_a_clock_set_by_hand_is_trusted_in_that_boot_only(system):
    (system / "marker").write_text(json.dumps({"boot_id": BOOT, "set_to": "2026-12-06T19:30:00"}))
    assert status(system) == ClockStatus(True, "set by hand since this boot")
    (system / "boot_id").write_text("another-boot\n")
    assert status(system).trusted is False
    (system / "marker").write_text('{"boot_id": "another-bo')  # cut short
    assert status(system).trusted is False


def test_the_trust_setting_forces_the_answer_either_way(system):
    assert status(system, "yes") == ClockStatus(True, "trusted by the clock.trust setting")
    assert status(system, "no", synced=lambda: True) == ClockStatus(False, "not trusted by the clock.trust setting")


def test_an_untrusted_date_is_shown_as_about():
    at = datetime(2026, 12, 4, 19, 30, tzinfo=timezone.utc).astimezone()
    local = at.astimezone()
    assert shown(at, True) == f"{local:%Y-%m-%d %H:%M}"
    assert shown(at, False) == f"about {local:%a} {local.day} {local:%b %Y, %H:%M} (clock not set)"
    if local.utcoffset().total_seconds() == 0:
        assert shown(at, False) == "about Fri 4 Dec 2026, 19:30 (clock not set)"


class Timedatectl:
    """A fake runner: answers each call in turn and keeps every argv."""

    def __init__(self, *answers: tuple[int, str]):
        self.answers, self.calls = list(answers), []

    def __call__(self, argv):
        self.calls.append(list(argv))
        code, err = self.answers.pop(0)
        return subprocess.CompletedProcess(argv, code, "", err)


def test_clock_set_runs_timedatectl_set_time_and_marks_this_boot(system):
    run = Timedatectl((0, ""))
    assert set_clock("2026-12-06 19:30", True, run, system / "marker", system / "boot_id") == datetime(
        2026, 12, 6, 19, 30
    )
    assert run.calls == [["timedatectl", "set-time", "2026-12-06 19:30:00"]]
    assert json.loads((system / "marker").read_text())["boot_id"] == BOOT
    assert (system / "marker").stat().st_mode & 0o777 == 0o644  # the service's user reads it
    assert status(system).trusted


def test_clock_set_lets_timesyncd_go_for_a_moment_when_it_refuses(system):
    run = Timedatectl((1, "Failed to set time: Automatic time synchronization is enabled\n"), (0, ""), (0, ""), (0, ""))
    set_clock("2026-12-06 19:30:15", True, run, system / "marker", system / "boot_id")
    assert run.calls == [
        ["timedatectl", "set-time", "2026-12-06 19:30:15"],
        ["timedatectl", "set-ntp", "false"],
        ["timedatectl", "set-time", "2026-12-06 19:30:15"],
        ["timedatectl", "set-ntp", "true"],
    ]
    (system / "marker").unlink()
    run = Timedatectl((1, "Automatic time synchronization is enabled"), (0, ""), (1, "Access denied"), (0, ""))
    with pytest.raises(ClockNotSet, match="^timedatectl could not set the clock: Access denied$"):
        set_clock("2026-12-06 19:30", True, run, system / "marker", system / "boot_id")
    assert run.calls[-1] == ["timedatectl", "set-ntp", "true"]  # turned back on even when setting failed
    assert not (system / "marker").exists()


@pytest.mark.parametrize(
    "text, is_root, message",
    [
        ("2026-12-32 19:30", True, "'2026-12-32 19:30' is not a date and time like \"2026-12-06 19:30\""),
        ("tomorrow", True, "'tomorrow' is not a date and time like \"2026-12-06 19:30\""),
        ("2026-12-06 19:30", False, "setting the clock needs root: run it with sudo"),
    ],
)
def test_clock_set_refuses_in_one_line_before_running_anything(system, text, is_root, message):
    run = Timedatectl()
    with pytest.raises(ClockNotSet) as caught:
        set_clock(text, is_root, run, system / "marker", system / "boot_id")
    assert str(caught.value) == message and isinstance(caught.value, ReflectError) and run.calls == []
    assert not (system / "marker").exists()


FAKE_TIMEDATECTL = """#!/bin/sh
printf '%s\\n' "$@" > "$ARGV_OUT"
[ "$1" = set-time ] || exit 1
"""


def _reflect_in_own_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """`reflect ...` as root with a fake timedatectl first on PATH and its own empty /run (a private mount)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "timedatectl").write_text(FAKE_TIMEDATECTL)
    (bin_dir / "timedatectl").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "ARGV_OUT": str(tmp_path / "argv"),
        "PYTHONPATH": str(ROOT),
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    script = (
        'mount -t tmpfs none /run && "$@"; code=$?; '
        "[ -e /run/reflect-clock-set ] && cat /run/reflect-clock-set >&2; exit $code"
    )
    return subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            sys.executable,
            "-m",
            "device.setup.cli",
            "clock",
            *args,
            "--data-dir",
            str(tmp_path / "data"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.root
def test_reflect_clock_set_on_the_command_line(tmp_path):
    """Runs as root (CI and this machine do): a private mount gives it its own /run."""
    done = _reflect_in_own_run(tmp_path, "set", "2026-12-06 19:30")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "argv").read_text().splitlines() == ["set-time", "2026-12-06 19:30:00"]
    assert done.stdout == "The clock is set to Sun 06 Dec 2026, 19:30; sessions from now on are dated by it.\n"
    assert json.loads(done.stderr)["set_to"] == "2026-12-06T19:30:00"  # the marker, in the private /run only
    bad = _reflect_in_own_run(tmp_path, "set", "6/12/2026")
    assert (
        bad.returncode == 2 and bad.stderr == "reflect: '6/12/2026' is not a date and time like \"2026-12-06 19:30\"\n"
    )
