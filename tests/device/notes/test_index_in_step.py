"""The index keeps in step without looking at every session: a warm command trusts the data dir's change stamp,
and every change the writers or the folder make moves that stamp, so none is missed."""

import json
import os
import shutil
import time
from datetime import datetime, timezone

import pytest

from bench.archive_factory import make_archive, write_session
from device.notes import record
from device.notes.archive import Archive
from device.notes.sealing import seal_due
from tests.device.notes.sealing_support import LATER, owner_of

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


def at_rest(data):
    """Date the sessions folder an hour back, as in an archive nobody changed lately (out of the racy window)."""
    old = time.time() - 3600
    os.utime(data / "sessions", (old, old))


@pytest.fixture
def data(tmp_path):
    make_archive(tmp_path, 3, seed=2)
    write_session(tmp_path, T0, [["a", "walrus", "here"]])
    Archive(tmp_path).sessions()
    at_rest(tmp_path)
    Archive(tmp_path).sessions()  # the index now holds the stamp of an archive at rest
    return tmp_path


def walrus(data):
    return data / "sessions" / T0.strftime("%Y-%m-%d_%H%M%S")


def test_a_warm_command_trusts_the_stamp_and_reads_no_session_file(data):
    doc = json.loads((walrus(data) / "session.json").read_text())
    doc["answers"][0]["words"][1]["word"] = "seal"
    (walrus(data) / "session.json").write_text(json.dumps(doc))  # by hand, not by a writer: the stamp stays
    archive = Archive(data)
    assert len(archive.search(["walrus"])) == 1 and archive.search(["seal"]) == []
    archive.reindex()
    assert archive.search(["walrus"]) == [] and len(archive.search(["seal"])) == 1


def rewritten(data, key):
    raw = record.read(walrus(data))
    raw["answers"][0]["words"][1]["word"] = "seal"
    record.write(walrus(data), raw)  # as a session, recovery and sealing write it
    return 0


def added(data, key):
    write_session(data, T0.replace(year=2027), [["a", "seal", "there"]])
    return 1


def removed(data, key):
    shutil.rmtree(walrus(data))
    write_session(data, T0.replace(year=2027), [["seal"]])
    return 0


def sealed(data, key):
    seal_due(data, owner_of(key), 0, now=LATER)
    write_session(data, T0.replace(year=2027), [["seal"]])
    return 0


@pytest.mark.parametrize("change", [rewritten, added, removed, sealed])
def test_every_change_to_the_sessions_is_seen_by_the_next_command(data, key, change):
    walruses = change(data, key)
    archive = Archive(data)
    assert (len(archive.search(["walrus"])), len(archive.search(["seal"]))) == (walruses, 1)
    assert len(archive.sessions()) == len(record.session_folders(data / "sessions"))
    at_rest(data)  # the folder's time moved back: the stamp the index keeps still tells the change apart
    assert (len(Archive(data).search(["walrus"])), len(Archive(data).search(["seal"]))) == (walruses, 1)


def test_a_folder_changed_within_the_racy_window_is_looked_at_whole(data):
    layout = record.DataLayout(data)
    assert record.change_stamp(layout) is not None
    before = os.stat(data / "sessions")
    write_session(data, T0.replace(year=2027), [["seal"]])
    os.utime(data / "sessions", ns=(before.st_atime_ns, before.st_mtime_ns))  # as if in the same clock tick
    assert record.change_stamp(layout) is not None  # the folder's time did not move: this alone would miss it
    os.utime(data / "sessions")
    assert record.change_stamp(layout) is None  # changed just now: not trusted, every session is looked at
    assert len(Archive(data).search(["seal"])) == 1
