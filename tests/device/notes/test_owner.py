"""One owner of the notes: the lock's own logic, in one process (each `own` opens its own file description,
so two owners in one process exclude each other as two processes do)."""

import os
import stat

import pytest

from common.errors import NotesBusy, StorageError
from device.notes.owner import RECORDING, busy_message, own
from device.notes.record import DataLayout


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("device", ["service", "session", "demo"])
def test_a_second_owner_is_refused_at_once_while_the_device_holds_the_notes(tmp_path, device):
    naps = []
    with own(tmp_path, device):
        with pytest.raises(NotesBusy, match=f"^{RECORDING}$") as refused:
            own(tmp_path, "recover", wait_s=30, sleep=naps.append)
    assert naps == []  # the device does not finish soon: no point waiting
    assert isinstance(refused.value, StorageError)


def test_a_command_waits_for_another_command_and_gets_the_notes_when_it_finishes(tmp_path):
    first = own(tmp_path, "reindex")
    second = own(tmp_path, "delete", sleep=lambda _s: first.release())
    with second:
        assert DataLayout(tmp_path).owner_lock.read_text() == f"delete {os.getpid()}\n"


def test_a_command_gives_up_after_its_wait_and_names_the_command_in_the_way(tmp_path):
    clock = Clock()

    def nap(seconds):
        clock.now += seconds

    with own(tmp_path, "recover"):
        with pytest.raises(NotesBusy) as refused:
            own(tmp_path, "delete", wait_s=1.0, clock=clock, sleep=nap)
    assert str(refused.value) == "The notes are busy (`reflect recover` is working on them); try again in a moment."
    assert clock.now == pytest.approx(101.0, abs=0.06)


def test_an_unnamed_holder_is_still_a_clear_line():
    assert busy_message("") == "The notes are busy (another reflect command is working on them); try again in a moment."


def test_the_notes_are_free_again_once_the_owner_lets_go(tmp_path):
    with own(tmp_path, "service"):
        pass
    with own(tmp_path, "recover", wait_s=0) as owner:
        assert owner.role == "recover"
    owner.release()  # twice is harmless


def test_the_lock_file_is_private_lives_in_the_data_dir_and_is_not_inherited(tmp_path):
    data = tmp_path / "new" / "data"
    with own(data, "session") as owner:
        lock = DataLayout(data).owner_lock
        assert lock.parent == data
        assert stat.S_IMODE(lock.stat().st_mode) == 0o600
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert not os.get_inheritable(owner._fd)  # a child (espeak-ng, ...) must not keep the notes locked
