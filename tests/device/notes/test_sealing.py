"""Sealing: what was said goes into .age files the standard `age` opens; the device keeps only what was not said."""

import errno
import json
import os
import shutil
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest
from pyrage import x25519

from common.errors import KeyInvalid
from device.clock import ClockStatus
from device.notes import record, review_commands
from device.notes.archive import Archive
from device.notes.record import DataLayout
from device.notes.recovery import recover
from device.notes.sealing import is_due, recipient, seal_due, seal_session, sealer, settle
from tests.device.notes.dated_sessions import dated_session
from tests.device.notes.sealing_support import (
    LATER,
    SECRET_WORDS,
    STARTED,
    compressed_session,
    files_in,
    owner_of,
    said_anywhere,
)
from tests.faults.support import small_tmpfs


def test_sealing_leaves_nothing_said_in_the_data_dir_and_age_opens_every_sealed_file(tmp_path, key):
    data = tmp_path / "data"
    folder = compressed_session(data)
    before = record.read(folder)
    plain_audio = (folder / "01.opus").read_bytes()
    words = [w for answer in SECRET_WORDS if answer for w in answer]
    Archive(data).search(["zorblax"])  # the index holds the words now
    assert said_anywhere(data, words)

    report = seal_due(data, owner_of(key), 24, now=LATER)

    assert report.sealed == [folder.name]
    assert said_anywhere(data, words) == []
    sealed = record.read(folder)
    assert record.is_sealed(sealed) and all("transcript" not in a and "words" not in a for a in sealed["answers"])
    assert [a["audio"] for a in sealed["answers"]] == ["01.opus.age", None, "03.opus.age"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(record.sealed_files(sealed) + ["session.json"])
    assert {k: v for k, v in sealed.items() if k not in ("answers", "sealed")} == {
        k: v for k, v in before.items() if k != "answers"
    }
    for name in record.sealed_files(sealed):  # the standard tool, with nothing of this project
        opened = subprocess.run(
            ["age", "-d", "-i", str(key), str(folder / name)], capture_output=True, check=True
        ).stdout
        assert opened
    said = json.loads(
        subprocess.run(
            ["age", "-d", "-i", str(key), str(folder / record.SAID_NAME)], capture_output=True, check=True
        ).stdout
    )
    assert record.opened(sealed, said) == before
    audio = subprocess.run(
        ["age", "-d", "-i", str(key), str(folder / "01.opus.age")], capture_output=True, check=True
    ).stdout
    assert audio == plain_audio


def test_a_sealed_session_is_listed_but_not_searched_and_replay_refuses_its_audio(tmp_path, key):
    data = tmp_path / "data"
    compressed_session(data)
    compressed_session(data, [["plainword"]], STARTED + timedelta(days=3))
    seal_due(data, owner_of(key), 24, now=LATER)
    archive = Archive(data)
    assert len(archive.sessions()) == 2
    assert "1 sealed session was not searched" in review_commands.search(archive, ["zorblax"])
    assert "plainword" in review_commands.search(archive, ["plainword"])
    sealed = archive.load("2026-03-01_090000")
    assert sealed.sealed and "(sealed)" in review_commands.show(archive, sealed.id)
    assert [p.problem for p in archive.replay(sealed) if p.samples is None and p.problem][0].endswith("`reflect open`")


def test_sessions_stay_readable_for_readable_for_h_and_unfinished_ones_are_never_sealed(tmp_path, key):
    raw = record.read(compressed_session(tmp_path / "data"))
    ended = datetime.fromisoformat(raw["ended_at"])
    assert not is_due(raw, 24, ended + timedelta(hours=23.9))
    assert is_due(raw, 24, ended + timedelta(hours=24))
    assert is_due(raw, 0, ended)
    assert not is_due({**raw, "status": "in_progress"}, 0, LATER)
    started = datetime.fromisoformat(raw["started_at"])  # no end time (a crash): counted from the start
    assert not is_due({**raw, "ended_at": None}, 24, started + timedelta(hours=23))
    assert is_due({**raw, "ended_at": None}, 24, started + timedelta(hours=24))
    assert is_due({**raw, "ended_at": "not a time"}, 24, started)  # no usable time: sealed rather than kept plain
    assert is_due({k: v for k, v in raw.items() if k not in ("ended_at", "started_at")}, 24, started)
    pending = json.loads(json.dumps(raw))
    pending["answers"][0]["transcript"] = None
    assert not is_due(pending, 0, LATER)


def test_with_no_time_counted_by_the_device_a_session_is_due_by_the_wall_clock_alone(tmp_path):
    raw = record.read(compressed_session(tmp_path / "data"))
    ended = datetime.fromisoformat(raw["ended_at"])
    one_second = 1 / 3600
    assert not is_due(raw, one_second, ended)
    assert not is_due(raw, one_second, ended + timedelta(seconds=0.5))
    assert is_due(raw, one_second, ended + timedelta(seconds=1))


def _fill(path):
    """Write zeros to `path` until the disk it is on is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)


@pytest.mark.root  # mounts a small tmpfs
def test_a_full_disk_while_sealing_keeps_the_plain_notes_and_a_later_pass_seals_them(tmp_path, key, caplog):
    with small_tmpfs(tmp_path / "card", "400k") as card:
        data = card / "data"
        folder = compressed_session(data, [["zorblax"]])
        filler = card / "filler"
        _fill(filler)
        before = files_in(folder)
        with caplog.at_level("WARNING", logger="device.notes.sealing"):
            report = seal_due(data, owner_of(key), 0, now=LATER)
        assert report.kept_for_later == [folder.name] and report.sealed == []
        assert [r.getMessage() for r in caplog.records] == [
            f"disk full while sealing session {folder.name}; it stays readable until the next try"
        ]
        assert files_in(folder) == before
        filler.unlink()
        assert seal_due(data, owner_of(key), 0, now=LATER).sealed == [folder.name]
        assert said_anywhere(data, ["zorblax"]) == []


@pytest.mark.root  # mounts a small tmpfs
def test_a_full_disk_when_the_readable_time_is_saved_is_logged_and_the_next_pass_saves_it(tmp_path, key, caplog):
    with small_tmpfs(tmp_path / "card", "400k") as card:
        data = card / "data"
        compressed_session(data, [["zorblax"]])  # readable for a year: it waits, and its time is counted
        _fill(card / "filler")
        with caplog.at_level("WARNING", logger="device.notes.sealing"):
            report = seal_due(data, owner_of(key), 24 * 365, now=LATER)
        assert (report.sealed, report.kept_for_later) == ([], [])
        assert [r.getMessage() for r in caplog.records] == [
            "disk full: the readable time of waiting sessions is counted from the last pass that saved it"
        ]
        assert not DataLayout(data).seal_clock.exists()
        (card / "filler").unlink()
        seal_due(data, owner_of(key), 24 * 365, now=LATER)
        assert DataLayout(data).seal_clock.exists()


def test_a_session_sealed_by_itself_leaves_no_word_in_the_index_before_the_pass_syncs_it(tmp_path, key):
    """The index forgets a session's words before its record says sealed: a kill before the pass ends (which
    indexes the sealed sessions again) leaves no word said in the index file."""
    data = tmp_path / "data"
    folder = compressed_session(data)
    archive = Archive(data)
    archive.search(["zorblax"])  # the index holds the words now
    words = [w for answer in SECRET_WORDS if answer for w in answer]
    seal_session(folder, record.read(folder), owner_of(key), LATER, archive)
    assert record.is_sealed(record.read(folder))
    assert said_anywhere(data, words) == []
    assert folder.name not in archive.index.worded()


@pytest.mark.parametrize("moment", ["part", "sealed_not_noted", "noted_not_removed"])
def test_recovery_finishes_a_cut_short_sealing_either_way(tmp_path, key, moment):
    data = tmp_path / "data"
    folder = compressed_session(data)
    plain = files_in(folder)
    seal_due(data, owner_of(key), 0, now=LATER)
    sealed = files_in(folder)
    for name in sealed:  # put the folder back as the kill left it
        (folder / name).unlink()
    if moment == "part":
        files = {**plain, "01.opus.age.part": sealed["01.opus.age"][:100]}
    elif moment == "sealed_not_noted":
        files = {**plain, **{k: v for k, v in sealed.items() if k != "session.json"}}
    else:
        files = {**plain, **sealed}
    for name, data_ in files.items():
        (folder / name).write_bytes(data_)
    report = recover(data)
    after = files_in(folder)
    assert after == (sealed if moment == "noted_not_removed" else plain)
    assert report.removed and not report.problems
    assert recover(data).removed == []


def test_recovery_removes_a_sealed_sessions_words_the_index_still_holds(tmp_path, key):
    """Whatever left them there (a kill between sealing and the index update, in a version that forgot the
    session only then), recovery drops a sealed session's words from the index file and keeps the others'."""
    data = tmp_path / "data"
    folder = compressed_session(data)
    words = [w for answer in SECRET_WORDS if answer for w in answer]
    index = data / "index.sqlite3"
    archive = Archive(data)
    assert archive.search(["zorblax"])
    archive.index.conn.close()
    with_words = index.read_bytes()
    seal_due(data, owner_of(key), 0, now=LATER)
    index.write_bytes(with_words)  # the index as the kill left it: the sealed session's words still in
    compressed_session(data, [["plainword"]], STARTED + timedelta(days=3))  # a plain one, made after the pass
    assert record.is_sealed(record.read(folder)) and said_anywhere(data, words)

    report = recover(data)

    assert said_anywhere(data, words) == []
    assert report.unindexed == [folder.name] and report.changed and not report.problems
    assert recover(data).unindexed == []
    archive = Archive(data)
    assert archive.search(["zorblax"]) == [] and archive.sealed_count() == 1 and archive.search(["plainword"])


def test_settle_leaves_a_clean_folder_alone(tmp_path, key):
    folder = compressed_session(tmp_path / "data")
    assert settle(folder, record.read(folder)) == []
    seal_due(tmp_path / "data", owner_of(key), 0, now=LATER)
    assert settle(folder, record.read(folder)) == []


def test_a_recipient_that_is_not_one_is_a_one_line_config_error(tmp_path):
    from common.errors import ConfigInvalid
    from device.config import load_config

    with pytest.raises(
        ConfigInvalid,
        match=r"privacy.recipient: 'age1nope' is not an age recipient \(age1 and 58 more "
        r"letters, as `reflect keys new` or age-keygen prints it\)$",
    ):
        load_config(env={"REFLECT_PRIVACY_RECIPIENT": "age1nope"})
    good = str(x25519.Identity.generate().to_public())
    assert load_config(env={"REFLECT_PRIVACY_RECIPIENT": good}).privacy.recipient == good
    assert load_config(env={}).privacy.recipient == ""


def test_a_pass_seals_every_due_session_past_damaged_and_unfinished_ones_and_logs_it(tmp_path, key, caplog):
    data = tmp_path / "data"
    damaged = compressed_session(data, [["one"]], STARTED - timedelta(days=2))
    (damaged / "session.json").write_text("{")
    broken = compressed_session(data, [["two"]], STARTED - timedelta(days=1))
    record.write(broken, {**record.read(broken), "answers": "nope"})
    unfinished = compressed_session(data, [["three"]], STARTED)
    record.write(unfinished, {**record.read(unfinished), "status": "in_progress"})
    due = compressed_session(data, [["four"]], STARTED + timedelta(hours=1))
    (data / "sessions" / "notes.txt").write_text("a stray file")
    shutil.copytree(due, data / "sessions" / ".being-deleted")  # hidden folders are not sessions
    (due / "transcript.md").unlink()  # a crash between session.json and transcript.md: sealing still goes on
    with caplog.at_level("INFO", logger="device.notes.sealing"):
        assert seal_due(data, owner_of(key), 24, now=LATER).sealed == [due.name]
    assert [r.getMessage() for r in caplog.records if r.name == "device.notes.sealing"] == [
        f"session {due.name} sealed",
        "sealed 1 session(s)",
    ]
    assert not record.is_sealed(record.read(data / "sessions" / ".being-deleted"))


def test_a_sealing_that_fails_half_way_removes_what_it_sealed_and_keeps_the_plain_notes(tmp_path, key, monkeypatch):
    from device.notes import sealing

    data = tmp_path / "data"
    folder = compressed_session(data)
    before = files_in(folder)
    write, calls = sealing._write_sealed, []

    def full_on_the_third(*args):
        calls.append(args[0].name)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        write(*args)

    monkeypatch.setattr(sealing, "_write_sealed", full_on_the_third)
    assert seal_due(data, owner_of(key), 0, now=LATER).kept_for_later == [folder.name]
    assert calls == ["01.opus.age", "03.opus.age", "said.json.age"]
    assert files_in(folder) == before


def test_the_device_sealer_keeps_readable_for_h_and_logs_a_failure(tmp_path, key, caplog, monkeypatch):
    from device.notes import sealing

    data = tmp_path / "data"
    folder = compressed_session(data, [["fresh"]], datetime.now(timezone.utc))
    record.write(folder, {**record.read(folder), "ended_at": datetime.now(timezone.utc).isoformat()})
    public = str(owner_of(key))
    sealing.sealer(data, public, 24)()
    assert not record.is_sealed(record.read(folder))
    assert sealing.sealer(data, "", 0)() is None and not record.is_sealed(record.read(folder))
    sealing.sealer(data, public, 0)()
    assert record.is_sealed(record.read(folder))
    monkeypatch.setattr(sealing, "seal_due", lambda *args: 1 / 0)
    sealing.sealer(data, public, 0)()
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "sealing failed; the notes stay as they are until the next try"
    ]


def test_a_long_bad_recipient_is_quoted_by_its_first_16_letters_only():
    with pytest.raises(KeyInvalid) as raised:
        recipient("age1" + "q" * 60)
    assert str(raised.value).startswith("'age1qqqqqqqqqqqq' is not an age recipient")


def test_a_kill_before_a_sealed_file_is_renamed_leaves_its_part_which_recovery_removes(tmp_path, key, monkeypatch):
    """Each sealed file is written as NAME.age.part and renamed: the name recovery knows to clear."""
    import common.files

    class Killed(BaseException):
        pass

    def killed_at_the_rename(source, target):
        raise Killed

    data = tmp_path / "data"
    folder = compressed_session(data)
    plain = files_in(folder)
    monkeypatch.setattr(common.files.os, "replace", killed_at_the_rename)
    with pytest.raises(Killed):
        seal_due(data, owner_of(key), 0, now=LATER)
    monkeypatch.undo()
    assert sorted(set(p.name for p in folder.iterdir()) - set(plain)) == ["01.opus.age.part"]
    assert recover(data).removed and files_in(folder) == plain


def test_recovery_removes_a_plain_part_of_an_answer_left_beside_a_sealed_session(tmp_path, key):
    data = tmp_path / "data"
    folder = compressed_session(data)
    seal_due(data, owner_of(key), 0, now=LATER)
    sealed = files_in(folder)
    (folder / "01.wav.part").write_bytes(b"RIFF plain speech")
    assert [name.rsplit("/", 1)[-1] for name in recover(data).removed] == ["01.wav.part"]
    assert files_in(folder) == sealed


def test_a_full_disk_on_one_session_leaves_it_for_later_and_the_pass_goes_on(tmp_path, key, monkeypatch):
    from device.notes import sealing

    data = tmp_path / "data"
    first = compressed_session(data, [["one"]], STARTED)
    second = compressed_session(data, [["two"]], STARTED + timedelta(hours=1))
    seal = sealing.seal_session

    def full_for_the_first(folder, *args):
        if folder == first:
            raise OSError(errno.ENOSPC, "No space left on device")
        seal(folder, *args)

    monkeypatch.setattr(sealing, "seal_session", full_for_the_first)
    report = seal_due(data, owner_of(key), 0, now=LATER)
    assert (report.kept_for_later, report.sealed) == ([first.name], [second.name])


def test_a_sealed_record_says_when_it_was_sealed_and_what_and_opens_with_missing_words_empty():
    raw = {
        "id": "s",
        "answers": [
            {"index": 1, "audio": "01.opus", "transcript": "hello", "words": [{"word": "hello"}]},
            {"index": 2, "audio": None, "transcript": "", "words": []},
        ],
    }
    files = ["01.opus.age", "said.json.age"]
    sealed = record.sealed(raw, files, STARTED)
    assert sealed["sealed"] == {"at": "2026-03-01T09:00:00+00:00", "files": files}
    assert sealed["answers"] == [{"index": 1, "audio": "01.opus.age"}, {"index": 2, "audio": None}]
    assert record.opened(sealed, record.said(raw)) == raw
    empty = [
        {"index": 1, "audio": "01.opus", "transcript": "", "words": []},
        {"index": 2, "audio": None, "transcript": "", "words": []},
    ]
    assert record.opened(sealed, {})["answers"] == empty  # a said file that lost its words opens with none
    assert record.opened(sealed, {"answers": ["junk", {"index": 2}]})["answers"] == empty


def test_the_sealed_count_passes_over_a_folder_not_yet_a_session(tmp_path, key):
    data = tmp_path / "data"
    compressed_session(data)
    seal_due(data, owner_of(key), 0, now=LATER)
    (data / "sessions" / "2026-03-04_100000").mkdir()  # a session being started: no session.json yet
    assert Archive(data).sealed_count() == 1


@pytest.mark.parametrize("trust, sealed", [("no", True), ("yes", False)])
def test_sealing_asks_the_clock_with_the_configured_trust(tmp_path, key, trust, sealed):
    # Begun by a clock that was not set: its dates count only while the clock is still not set (they would
    # overcount once it is), so four days after it ended it is due with clock.trust "no" and waits with "yes".
    notes = dated_session(
        tmp_path, datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc), {1: "words"}, clock=ClockStatus(False, "test")
    )
    later = datetime.fromisoformat(notes.record["ended_at"]) + timedelta(days=4)
    report = seal_due(tmp_path, owner_of(key), 24, now=later, trust=trust)
    assert bool(report.sealed) is sealed


def test_a_session_not_yet_due_does_not_stop_a_later_one_from_being_sealed(tmp_path, key):
    waiting = dated_session(
        tmp_path, datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc), {1: "words"}, clock=ClockStatus(False, "test")
    )  # its dates cannot be counted by a set clock
    due = dated_session(tmp_path, datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc), {1: "words"}, tag=2000)
    later = datetime.fromisoformat(due.record["ended_at"]) + timedelta(days=4)
    report = seal_due(tmp_path, owner_of(key), 24, now=later, now_trusted=True)
    assert report.sealed == [due.folder.name] and waiting.folder.name < due.folder.name


@pytest.mark.parametrize("trust, sealed", [("no", True), ("yes", False)])
def test_the_device_sealer_asks_the_clock_with_the_configured_trust(tmp_path, key, trust, sealed):
    # Readable for 3.6 ms: by the wall clock of a session begun with the clock not set, only while it is not set.
    notes = dated_session(
        tmp_path, datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc), {1: "words"}, clock=ClockStatus(False, "test")
    )
    time.sleep(0.05)
    sealer(tmp_path, str(owner_of(key)), 1e-6, trust=trust)()
    assert record.is_sealed(record.read(notes.folder)) is sealed
