"""Private, crash-safe writes: 0700 folders and 0600 files whatever the umask;
a crash leaves the old file or the new."""

import errno
import os
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import common.files as files
from common.files import atomic_write_bytes, atomic_write_text, fsync_dir, private_dir
from tests.faults.support import descriptors_kept, fsynced, open_under


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o000, 0o022, 0o077, 0o777])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_private_dir_makes_every_new_folder_0700_whatever_the_umask(tmp_path, umask):
    path = private_dir(tmp_path / "a" / "b")
    assert path == tmp_path / "a" / "b"
    assert mode_of(path) == 0o700


def test_private_dir_makes_each_folder_it_creates_durable_in_its_parent_and_only_those(tmp_path, monkeypatch):
    """A power cut after private_dir returns cannot lose a folder it made (issue 19)."""
    synced = fsynced(monkeypatch)
    private_dir(tmp_path / "a" / "b")
    assert synced == [str(tmp_path), str(tmp_path / "a")]
    private_dir(tmp_path / "a" / "b")
    private_dir(tmp_path / "a")
    assert synced == [str(tmp_path), str(tmp_path / "a")]  # nothing made, nothing synced
    private_dir(tmp_path / "a" / "c")
    assert synced[2:] == [str(tmp_path / "a")]


def test_private_dir_makes_every_folder_it_creates_private_whatever_the_umask(tmp_path):
    """Parents it has to make are 0700 too (under umask 0 they came out 0777); what was there keeps its mode."""
    tmp_path.chmod(0o751)
    old = os.umask(0)
    try:
        private_dir(tmp_path / "a" / "b")
    finally:
        os.umask(old)
    assert (mode_of(tmp_path), mode_of(tmp_path / "a"), mode_of(tmp_path / "a" / "b")) == (0o751, 0o700, 0o700)


def test_private_dir_closes_an_existing_open_folder_and_keeps_what_it_holds(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    (folder / "kept").write_text("hello")
    assert private_dir(folder) == folder
    assert mode_of(folder) == 0o700
    assert (folder / "kept").read_text() == "hello"


def test_atomic_writes_make_files_0600_whatever_the_umask(tmp_path, umask):
    atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "b.txt", "hi")
    assert mode_of(tmp_path / "a.bin") == mode_of(tmp_path / "b.txt") == 0o600


def test_an_atomic_write_over_a_readable_file_leaves_it_private(tmp_path):
    path = tmp_path / "session.json"
    path.write_text("old")
    path.chmod(0o644)
    stale = tmp_path / ".session.json.tmp"
    stale.write_text("left by a crash")
    stale.chmod(0o666)
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and mode_of(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.json"]


@given(old=st.one_of(st.none(), st.binary(max_size=3000)), new=st.binary(max_size=3000))
@settings(max_examples=40, deadline=None)
def test_an_atomic_write_replaces_the_file_with_exactly_the_new_bytes_and_leaves_no_temp(tmp_path_factory, old, new):
    folder = tmp_path_factory.mktemp("atomic")
    path = folder / "notes.bin"
    if old is not None:
        path.write_bytes(old)
    atomic_write_bytes(path, new)
    assert path.read_bytes() == new
    assert [p.name for p in folder.iterdir()] == ["notes.bin"]


def test_atomic_write_text_is_utf8(tmp_path):
    atomic_write_text(tmp_path / "t.md", "Grüße — ✓\n")
    assert (tmp_path / "t.md").read_bytes() == "Grüße — ✓\n".encode("utf-8")


def test_every_byte_is_written_even_when_the_kernel_takes_a_few_at_a_time(tmp_path, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:5])))
    data = bytes(range(256)) * 7
    atomic_write_bytes(tmp_path / "f", data)
    assert (tmp_path / "f").read_bytes() == data


@given(
    old=st.binary(min_size=1, max_size=2000),
    new=st.binary(min_size=1, max_size=2000),
    fail_after=st.integers(0, 2000),
    code=st.sampled_from([errno.ENOSPC, errno.EIO, errno.EFBIG]),
)
@settings(max_examples=40, deadline=None)
def test_a_write_failing_mid_way_leaves_the_old_file_whole_and_no_temp(tmp_path_factory, old, new, fail_after, code):
    """os.write takes `fail_after` bytes in small pieces, then fails (a full disk, a dying card)."""
    folder = tmp_path_factory.mktemp("crash")
    path = folder / "session.json"
    path.write_bytes(old)
    real_write = os.write
    budget = [fail_after]

    def write(fd, data):
        if budget[0] <= 0:
            raise OSError(code, os.strerror(code))
        n = real_write(fd, bytes(data[: min(budget[0], 97)]))
        budget[0] -= n
        return n

    files.os.write = write
    try:
        atomic_write_bytes(path, new)
    except OSError as error:
        assert error.errno == code
        assert fail_after < len(new)
        assert path.read_bytes() == old
    else:
        assert fail_after >= len(new)
        assert path.read_bytes() == new
    finally:
        files.os.write = real_write
    assert [p.name for p in folder.iterdir()] == ["session.json"]


def test_a_failed_fsync_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "session.json"
    path.write_text("old")

    def fsync(fd):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError):
        atomic_write_text(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["session.json"]


def test_an_interrupt_mid_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "session.json"
    path.write_text("old")
    real_write = os.write

    def write(fd, data):
        real_write(fd, bytes(data[:3]))
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(path, "a new and longer text")
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["session.json"]


def test_a_failed_write_closes_its_descriptor(tmp_path, monkeypatch):
    def write(fd, data):
        raise OSError(errno.ENOSPC, "full")

    monkeypatch.setattr(os, "write", write)
    for _ in range(5):
        with pytest.raises(OSError):
            atomic_write_text(tmp_path / "f", "text")
    assert open_under(tmp_path) == []
    monkeypatch.undo()
    atomic_write_text(tmp_path / "f", "text")
    assert open_under(tmp_path) == []


class Recorder:
    """os.fsync, os.replace and fsync_dir, recorded in order (the real calls still happen)."""

    def __init__(self, monkeypatch):
        self.calls = []
        real_fsync, real_replace, real_fsync_dir = os.fsync, os.replace, files.fsync_dir

        def fsync(fd):
            self.calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
            real_fsync(fd)

        def replace(src, dst):
            self.calls.append(("replace", str(src), str(dst)))
            real_replace(src, dst)

        def fsync_dir(path):
            self.calls.append(("fsync_dir", str(path)))
            real_fsync_dir(path)

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(files, "fsync_dir", fsync_dir)


def test_the_data_is_durable_before_the_rename_and_the_rename_before_returning(tmp_path, monkeypatch):
    recorder = Recorder(monkeypatch)
    path = tmp_path / "session.json"
    atomic_write_text(path, "{}")
    tmp = str(tmp_path / ".session.json.tmp")
    assert recorder.calls == [
        ("fsync", tmp),
        ("replace", tmp, str(path)),
        ("fsync_dir", str(tmp_path)),
        ("fsync", str(tmp_path)),
    ]


def test_fsync_dir_syncs_that_folder_and_closes_it(tmp_path, monkeypatch):
    synced = fsynced(monkeypatch)
    with descriptors_kept():
        fsync_dir(tmp_path)
    assert synced == [str(tmp_path)]


def test_fsync_dir_refuses_a_file_and_closes_even_when_the_sync_fails(tmp_path, monkeypatch):
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError):
        fsync_dir(tmp_path / "f")

    def fsync(fd):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", fsync)
    with descriptors_kept(), pytest.raises(OSError):
        fsync_dir(tmp_path)


def test_a_reader_never_sees_a_half_written_file(tmp_path):
    """A reader polling the file while it is rewritten again and again sees only whole versions."""
    path = tmp_path / "session.json"
    versions = [bytes([n]) * (50_000 + 1000 * n) for n in range(20)]
    atomic_write_bytes(path, versions[0])
    seen = set()
    done = threading.Event()

    def read():
        while not done.is_set():
            seen.add(path.read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for version in versions[1:]:
            atomic_write_bytes(path, version)
    finally:
        done.set()
        reader.join()
    assert seen <= set(versions)
    assert path.read_bytes() == versions[-1]
