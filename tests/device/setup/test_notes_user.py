"""A root command acts as the owner of the notes it works on (the switch itself, with its system calls recorded;
tests/system runs a real `sudo reflect notes` against the installed service's notes)."""

import os
import pwd

import pytest

from device.setup.notes_user import act_as_notes_owner

NOBODY = pwd.getpwnam("nobody")


@pytest.fixture
def switches(monkeypatch):
    """The identity calls made, instead of making them (the test process stays root)."""
    made = []
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    for name in ("setgroups", "setgid", "setuid"):
        monkeypatch.setattr(os, name, lambda value, name=name: made.append((name, value)))
    monkeypatch.setenv("HOME", "/root")
    return made


def owned_by(path, uid, gid):
    """A folder owned by `uid`:`gid` (chown: its tests are marked root)."""
    path.mkdir()
    os.chown(path, uid, gid)
    return path


@pytest.mark.root
def test_root_becomes_the_owner_of_the_notes_with_its_groups_and_home(tmp_path, switches):
    data_dir = owned_by(tmp_path / "data", NOBODY.pw_uid, NOBODY.pw_gid)
    act_as_notes_owner(data_dir)
    assert switches == [
        ("setgroups", os.getgrouplist("nobody", NOBODY.pw_gid)),
        ("setgid", NOBODY.pw_gid),
        ("setuid", NOBODY.pw_uid),
    ]
    assert os.environ["HOME"] == NOBODY.pw_dir


@pytest.mark.root
def test_an_owner_with_no_name_gets_its_own_group_and_the_notes_as_home(tmp_path, switches):
    data_dir = owned_by(tmp_path / "data", 54321, 54322)
    act_as_notes_owner(data_dir)
    assert switches == [("setgroups", [54322]), ("setgid", 54322), ("setuid", 54321)]
    assert os.environ["HOME"] == str(data_dir)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param("root's own notes", marks=pytest.mark.root),
        "no notes yet",
        pytest.param("not root", marks=pytest.mark.root),
    ],
)
def test_nothing_changes_otherwise(tmp_path, switches, monkeypatch, case):
    data_dir = tmp_path / "data"
    if case == "root's own notes":
        owned_by(data_dir, 0, 0)
    elif case == "not root":
        owned_by(data_dir, NOBODY.pw_uid, NOBODY.pw_gid)
        monkeypatch.setattr(os, "geteuid", lambda: NOBODY.pw_uid)
    act_as_notes_owner(data_dir)
    assert switches == [] and os.environ["HOME"] == "/root"
