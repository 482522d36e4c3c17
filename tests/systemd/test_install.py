"""install.sh and uninstall.sh into a fake root: files land where the unit expects them, reruns change nothing."""

import hashlib
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from device.config import load_config

REPO = Path(__file__).resolve().parents[2]
INSTALLS = pytest.mark.slow
"""On a test that runs install.sh --prefix (a venv and a pip install of the project: 16-18 s apiece, ~50 s
beside other tests on two cores), or uses the module's install; `make test` runs them, `make check` does not."""
JUNK = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "build", ".venv", ".pytest_cache", ".hypothesis")


def run(*command: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every file and directory under `root`: content hash, mode and mtime."""
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else ""
        found[str(path.relative_to(root))] = (digest, info.st_mode, info.st_mtime_ns)
    return found


def unit_setting(unit: Path, key: str) -> str:
    return re.search(rf"^{key}=(.*)$", unit.read_text(), re.MULTILINE).group(1)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A still copy of the project, so edits elsewhere cannot look like an upgrade between runs."""
    copy = tmp_path_factory.mktemp("checkout") / "reflect"
    shutil.copytree(REPO, copy, ignore=JUNK)
    return copy


@pytest.fixture(scope="module")
def installed(checkout, tmp_path_factory) -> tuple[Path, str]:
    """A fake root after one `install.sh --prefix`, and what the script printed."""
    root = tmp_path_factory.mktemp("install") / "root"
    return root, run(checkout / "systemd/install.sh", "--prefix", root)


@INSTALLS
def test_files_land_where_the_unit_expects_them(installed, checkout):
    root, _ = installed
    unit = root / "etc/systemd/system/reflect.service"
    assert unit.read_bytes() == (checkout / "systemd/reflect.service").read_bytes()
    program = root / unit_setting(unit, "ExecStart").split()[0].lstrip("/")
    assert program.is_file() and program.stat().st_mode & 0o111
    data = root / unit_setting(unit, "WorkingDirectory").lstrip("/")
    assert data == root / "var/lib" / unit_setting(unit, "StateDirectory")
    assert data.is_dir() and data.stat().st_mode & 0o777 == 0o700
    assert (root / "etc/reflect/config.toml").is_file()


@INSTALLS
def test_the_installed_unit_verifies_against_the_installed_files(installed):
    root, _ = installed
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True, dirs_exist_ok=True)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--recursive-errors=yes", f"--root={root}", "reflect.service"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr


@INSTALLS
def test_the_venv_runs_its_own_copy_of_the_project(installed, tmp_path):
    root, _ = installed
    python = root / "opt/reflect/venv/bin/python"
    code = "import device.flow.watchdog, content; print(device.flow.watchdog.__file__)"
    where = run(python, "-c", code, cwd=tmp_path).strip()
    assert Path(where).is_relative_to(root / "opt/reflect/venv")


@INSTALLS
def test_the_example_config_is_valid_with_every_line_uncommented(installed, tmp_path):
    root, _ = installed
    text = (root / "etc/reflect/config.toml").read_text()
    assert load_config(path=root / "etc/reflect/config.toml", env={}).button.pin == 17
    uncommented = re.sub(r"^# (\w+ = )", r"\1", text, flags=re.MULTILINE)
    assert len(tomllib.loads(uncommented)["audio"]) > len(tomllib.loads(text).get("audio", {}))
    (tmp_path / "all.toml").write_text(uncommented)
    config = load_config(path=tmp_path / "all.toml", env={})
    assert config.button.led_pin == 27 and config.audio.input_device == "USB"


@INSTALLS
def test_a_second_run_changes_nothing(installed, checkout):
    root, first_output = installed
    assert "installing" in first_output
    before = snapshot(root)
    output = run(checkout / "systemd/install.sh", "--prefix", root)
    assert snapshot(root) == before
    assert [line for line in output.splitlines() if line.startswith("==>")] == [f"==> done: installed under {root}"]


@INSTALLS
def test_an_upgrade_reinstalls_changed_code_and_keeps_the_config(checkout, tmp_path):
    upgraded_checkout = tmp_path / "reflect"
    shutil.copytree(checkout, upgraded_checkout)
    upgraded = tmp_path / "root"
    run(upgraded_checkout / "systemd/install.sh", "--prefix", upgraded)
    config = upgraded / "etc/reflect/config.toml"
    config.write_text("[button]\npin = 22\n")
    watchdog = upgraded_checkout / "device/flow/watchdog.py"
    watchdog.write_text(watchdog.read_text() + "\nUPGRADED = True\n")
    output = run(upgraded_checkout / "systemd/install.sh", "--prefix", upgraded)
    assert "installing" in output and "==> config" not in output
    site = next((upgraded / "opt/reflect/venv/lib").glob("python3*/site-packages"))
    assert "UPGRADED = True" in (site / "device/flow/watchdog.py").read_text()
    assert config.read_text() == "[button]\npin = 22\n"


@INSTALLS
def test_uninstall_removes_everything_but_the_notes_unless_purged(installed, checkout, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(installed[0], root, symlinks=True)
    note = root / "var/lib/reflect/2024-05-01T09-00-00/transcript.md"
    note.parent.mkdir()
    note.write_text("my answer")
    output = run(checkout / "systemd/uninstall.sh", "--prefix", root)
    assert "--purge" in output
    for gone in ("opt/reflect", "etc/reflect", "etc/systemd/system/reflect.service"):
        assert not (root / gone).exists()
    assert note.read_text() == "my answer"
    run(checkout / "systemd/uninstall.sh", "--prefix", root, "--purge")
    assert not (root / "var/lib/reflect").exists()


POLKIT_RULE = "etc/polkit-1/rules.d/50-reflect-poweroff.rules"


@INSTALLS
def test_the_polkit_rule_is_installed_readable_for_polkitd(installed, checkout):
    root, output = installed
    rule = root / POLKIT_RULE
    assert rule.read_bytes() == (checkout / "systemd/reflect-poweroff.rules").read_bytes()
    assert rule.stat().st_mode & 0o777 == 0o644
    assert f"==> polkit rule {rule}" in output


def test_the_polkit_rule_lets_only_the_reflect_user_power_off():
    text = (REPO / "systemd/reflect-poweroff.rules").read_text()
    code = "\n".join(line for line in text.splitlines() if not line.startswith("//"))
    assert re.findall(r'action\.id == "([^"]+)"', code) == [
        "org.freedesktop.login1.power-off",
        "org.freedesktop.login1.power-off-multiple-sessions",
    ]
    assert re.findall(r'subject\.user == "([^"]+)"', code) == ["reflect"]
    assert code.count("polkit.Result.YES") == 1 and "||" in code and code.index("&&") < code.index("||")
    assert "subject.user" in code.split("&&")[0]  # the user is required for every action, not or-ed with one


@INSTALLS
def test_an_existing_polkit_rules_folder_keeps_its_mode(checkout, tmp_path):
    root = tmp_path / "root"
    folder = root / "etc/polkit-1/rules.d"
    folder.mkdir(parents=True)
    folder.chmod(0o700)  # Debian's: polkitd's own
    run(checkout / "systemd/install.sh", "--prefix", root)
    assert folder.stat().st_mode & 0o777 == 0o700 and (root / POLKIT_RULE).is_file()


def test_install_asks_apt_for_polkitd(checkout):
    assert "polkitd" in run(checkout / "systemd/install.sh", "--print-packages").split()


@INSTALLS
def test_uninstall_removes_the_polkit_rule(installed, checkout, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(installed[0], root, symlinks=True)
    run(checkout / "systemd/uninstall.sh", "--prefix", root)
    assert not (root / POLKIT_RULE).exists()
