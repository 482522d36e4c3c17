"""`export` and `open` never change what is not theirs: an existing folder and every parent keep their mode,
and nothing already there is replaced without --force."""

import os
import stat

import pytest

from bench.archive_factory import make_archive
from device.notes.sealing import seal_due
from device.setup import cli
from tests.device.notes.sealing_support import LATER, compressed_session, owner_of


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def data(tmp_path):
    make_archive(tmp_path / "data", 2, seed=3)
    return tmp_path / "data"


@pytest.fixture
def sealed(tmp_path, key):
    compressed_session(tmp_path / "sealed")
    seal_due(tmp_path / "sealed", owner_of(key), 0, now=LATER)
    return tmp_path / "sealed"


ROOT_ONLY = pytest.mark.root  # writing into a folder of mode 0555: root may, its owner may not


@pytest.mark.parametrize("mode", [0o1777, pytest.param(0o555, marks=ROOT_ONLY), 0o750])
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_export_keeps_the_mode_of_an_existing_out_folder_and_its_parents(data, tmp_path, mode, fmt):
    parent = tmp_path / "shared"
    parent.mkdir()
    os.chmod(parent, 0o751)
    out = parent / "usb"
    out.mkdir()
    os.chmod(out, mode)
    assert cli.main(["export", "--all", "--format", fmt, "--out", str(out), "--data-dir", str(data)]) == 0
    assert (_mode(out), _mode(parent)) == (mode, 0o751)
    assert len([p for p in out.iterdir() if p.is_dir()]) == 2


def test_export_creates_a_missing_out_folder_0700_and_leaves_its_parent(data, tmp_path):
    os.chmod(tmp_path, 0o755)
    out = tmp_path / "new" / "usb"
    assert cli.main(["export", "latest", "--out", str(out), "--data-dir", str(data)]) == 0
    assert (_mode(out), _mode(out.parent), _mode(tmp_path)) == (0o700, 0o700, 0o755)


@pytest.mark.parametrize("first, second", [("md", "html"), ("html", "md"), ("md", "md")])
def test_export_refuses_to_replace_a_session_folder_without_force(data, tmp_path, capsys, first, second):
    out = tmp_path / "usb"
    argv = ["export", "latest", "--out", str(out), "--data-dir", str(data)]
    assert cli.main([*argv, "--format", first]) == 0
    folder = next(p for p in out.iterdir() if p.is_dir())
    page = next(folder.glob("*.md")) if first == "md" else folder / "index.html"
    before = page.read_bytes()
    capsys.readouterr()
    assert cli.main([*argv, "--format", second]) == 2
    err = capsys.readouterr().err
    assert err == f"reflect: {folder} already exists; choose another --out, or add --force to replace it\n"
    assert page.read_bytes() == before
    assert cli.main([*argv, "--format", second, "--force"]) == 0


def test_export_refuses_to_replace_a_contents_page_without_force(data, tmp_path, capsys):
    out = tmp_path / "usb"
    out.mkdir()
    (out / "index.html").write_text("mine")
    argv = ["export", "--all", "--format", "html", "--out", str(out), "--data-dir", str(data)]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith(f"reflect: {out / 'index.html'} already exists;")
    assert [p.name for p in out.iterdir()] == ["index.html"]
    assert cli.main([*argv, "--force"]) == 0
    assert (out / "index.html").read_text() != "mine"


@pytest.mark.parametrize("mode", [0o1777, pytest.param(0o555, marks=ROOT_ONLY), 0o755])
def test_open_keeps_the_mode_of_the_out_folders_parent(sealed, key, tmp_path, mode):
    home = tmp_path / "home"
    home.mkdir()
    os.chmod(home, mode)
    assert cli.main(["open", str(sealed), "--identity", str(key), "--out", str(home / "reflect-opened")]) == 0
    assert (_mode(home), _mode(home / "reflect-opened")) == (mode, 0o700)


def test_open_into_an_empty_folder_keeps_its_mode(sealed, key, tmp_path):
    out = tmp_path / "opened"
    out.mkdir()
    os.chmod(out, 0o750)
    assert cli.main(["open", str(sealed), "--identity", str(key), "--out", str(out)]) == 0
    assert _mode(out) == 0o750
    assert (out / "sessions").is_dir()


def test_open_replaces_an_opened_archive_only_with_force_and_never_other_files(sealed, key, tmp_path, capsys):
    out = tmp_path / "opened"
    argv = ["open", str(sealed), "--identity", str(key), "--out", str(out)]
    assert cli.main(argv) == 0
    capsys.readouterr()
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == (
        f"reflect: {out} already exists and holds sessions; "
        "choose a new folder, or add --force to replace an opened archive\n"
    )
    assert cli.main([*argv, "--force"]) == 0
    (out / "mine.txt").write_text("mine")
    assert cli.main([*argv, "--force"]) == 2
    assert capsys.readouterr().err == f"reflect: {out} already exists and holds mine.txt, sessions\n"
    assert (out / "mine.txt").read_text() == "mine"
