"""The unit file, checked by systemd's own tools: it verifies cleanly and scores as well hardened."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from device.config import load_config
from device.flow.control import SYSTEMD_RUNTIME_DIR, runtime_dir

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "reflect.service"
MAX_EXPOSURE = 2.0


def fake_root(tmp_path: Path, unit_text: str) -> Path:
    """A root holding systemd's own units, this unit, and an executable where ExecStart points."""
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "etc/systemd/system/reflect.service").write_text(unit_text)
    program = root / "opt/reflect/venv/bin/reflect"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    return root


def verify(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["systemd-analyze", "verify", "--recursive-errors=yes", f"--root={root}", "reflect.service"],
        capture_output=True,
        text=True,
    )


def test_unit_verifies(tmp_path):
    result = verify(fake_root(tmp_path, UNIT.read_text()))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize(
    "breakage",
    [
        ("WatchdogSec=30", "WatchdogSec=half a minute"),
        ("ExecStart=/opt/reflect/venv/bin/reflect run", "ExecStart=/opt/reflect/venv/bin/missing run"),
    ],
)
def test_verify_catches_a_broken_unit(tmp_path, breakage):
    result = verify(fake_root(tmp_path, UNIT.read_text().replace(*breakage)))
    assert result.returncode != 0


def exposure(unit: Path) -> float:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
    )
    match = re.search(r"Overall exposure level for reflect\.service: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    return float(match.group(1))


def test_security_exposure_is_low():
    assert exposure(UNIT) <= MAX_EXPOSURE


def test_exposure_parsing_sees_a_weaker_unit(tmp_path):
    lines = [
        line
        for line in UNIT.read_text().splitlines()
        if not line.startswith(("PrivateNetwork=", "ProtectSystem=", "SystemCallFilter=", "CapabilityBoundingSet="))
    ]
    weaker = tmp_path / "reflect.service"
    weaker.write_text("\n".join(lines) + "\n")
    assert exposure(weaker) > exposure(UNIT)


def test_environment_names_real_settings(tmp_path):
    env = dict(re.findall(r"^Environment=(REFLECT_\w+)=(\S+)$", UNIT.read_text(), re.MULTILINE))
    assert "REFLECT_STORAGE_DATA_DIR" in env
    (tmp_path / "empty.toml").write_text("")
    config = load_config(path=tmp_path / "empty.toml", env=env)
    assert config.data_dir == Path("/var/lib/reflect")
    assert config.cache_dir == Path("/var/cache/reflect")


def test_the_control_socket_folder_is_private_and_where_reflect_press_looks():
    settings = dict(re.findall(r"^(RuntimeDirectory\w*)=(\S+)$", UNIT.read_text(), re.MULTILINE))
    assert settings["RuntimeDirectoryMode"] == "0700"
    given = Path("/run") / settings["RuntimeDirectory"]  # what systemd sets $RUNTIME_DIRECTORY to
    assert runtime_dir(Path("/var/lib/reflect"), {"RUNTIME_DIRECTORY": str(given)}) == given == SYSTEMD_RUNTIME_DIR
