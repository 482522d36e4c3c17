"""privacy.readable_for_h when the wall clock jumps: a session is never sealed early (a clock set forward to the
truth) and never kept plain forever (a clock that went back); the wall clock, the trust in it and the boot clock
are all given, never read from the host."""

import json
from datetime import datetime, timedelta, timezone

from device.clock import ClockStatus, Uptime
from device.notes import record
from device.notes.readable_time import ReadableCount, wall_elapsed_s
from device.notes.sealing import is_due, seal_due
from device.notes.session_notes import SessionNotes
from tests.device.notes.sealing_support import owner_of
from tests.device.notes.test_session_notes import PACK

HOUR = 3600.0
FRIDAY = datetime(2026, 12, 4, 19, 30, tzinfo=timezone.utc)


def finished(data, ended: datetime, clock: ClockStatus):
    """A finished, transcribed session (one skipped answer) that ended at `ended` by a clock that was `clock`."""
    notes = SessionNotes.begin(data, PACK, 16000, now=ended - timedelta(minutes=10), clock=clock)
    notes.add_answer(1, None, 0.0, "skipped", "no_speech")
    notes.finish("complete")
    record.write(notes.folder, {**notes.record, "ended_at": ended.isoformat()})
    return notes.folder


def sealed(folder) -> bool:
    return record.is_sealed(record.read(folder))


def test_a_session_that_ended_after_now_is_sealed_once_the_device_has_counted_the_hours(tmp_path, key):
    """Sunday's session, then a power-off: the clock comes back on Friday, before the session ended."""
    data = tmp_path / "data"
    folder = finished(data, FRIDAY + timedelta(days=2), ClockStatus(True, "synchronised"))
    raw = record.read(folder)
    assert not is_due(raw, 24, FRIDAY + timedelta(days=1, hours=23))  # by the wall: below zero while it lags behind
    boot = "boot-after-power-off"

    def seal_at(seconds: float, boot_id=boot, now=FRIDAY):
        return seal_due(data, owner_of(key), 24, now=now, now_trusted=False, since_boot=Uptime(boot_id, seconds))

    assert seal_at(60).sealed == [] and not sealed(folder)  # first seen: counting starts
    saved = json.loads((data / ".seal-clock.json").read_text())
    assert saved == {"boot_id": boot, "at_s": 60, "counted": {folder.name: 0.0}}
    assert seal_at(60 + 23.9 * HOUR).sealed == []
    assert seal_at(60 + 24 * HOUR).sealed == [folder.name] and sealed(folder)
    assert not (data / ".seal-clock.json").exists()  # nothing waits any more


def test_the_count_carries_over_a_reboot_adding_only_the_new_boot_s_uptime(tmp_path, key):
    data = tmp_path / "data"
    folder = finished(data, FRIDAY + timedelta(days=2), ClockStatus(False, "restored"))
    now = dict(now=FRIDAY, now_trusted=False)
    seal_due(data, owner_of(key), 24, since_boot=Uptime("first", 100), **now)
    seal_due(data, owner_of(key), 24, since_boot=Uptime("first", 100 + 10 * HOUR), **now)  # 10 h counted
    seal_due(data, owner_of(key), 24, since_boot=Uptime("second", 13 * HOUR), **now)  # + at least 13 h
    assert json.loads((data / ".seal-clock.json").read_text())["counted"] == {folder.name: 23 * HOUR}
    assert not sealed(folder)
    assert seal_due(data, owner_of(key), 24, since_boot=Uptime("second", 14 * HOUR), **now).sealed == [folder.name]


def test_a_clock_set_forward_to_the_truth_never_seals_early(tmp_path, key):
    """Monday's session dated Friday (clock not set); then the clock is set to Monday: the date says 3 days."""
    data = tmp_path / "data"
    folder = finished(data, FRIDAY, ClockStatus(False, "restored"))
    monday = FRIDAY + timedelta(days=3, minutes=20)
    raw = record.read(folder)
    assert is_due(raw, 24, monday)  # the old rule: sealed twenty minutes after it ended
    assert wall_elapsed_s(raw, monday, now_trusted=True) is None
    report = seal_due(data, owner_of(key), 24, now=monday, now_trusted=True, since_boot=Uptime("b", 5))
    assert report.sealed == [] and not sealed(folder)
    assert (
        seal_due(
            data,
            owner_of(key),
            24,
            now=monday + timedelta(hours=23),
            now_trusted=True,
            since_boot=Uptime("b", 5 + 23 * HOUR),
        ).sealed
        == []
    )
    assert seal_due(
        data,
        owner_of(key),
        24,
        now=monday + timedelta(hours=24),
        now_trusted=True,
        since_boot=Uptime("b", 5 + 24 * HOUR),
    ).sealed == [folder.name]


def test_the_wall_clock_still_counts_where_it_cannot_overcount(tmp_path):
    trusted = finished(tmp_path / "a", FRIDAY, ClockStatus(True, "synchronised"))
    unset = finished(tmp_path / "b", FRIDAY, ClockStatus(False, "restored"))
    later = FRIDAY + timedelta(hours=24)
    assert is_due(record.read(trusted), 24, later, now_trusted=True)  # both set: the dates are real
    assert is_due(record.read(trusted), 24, later, now_trusted=False)  # a clock only ever restored runs behind
    assert is_due(record.read(unset), 24, later, now_trusted=False)  # both unset, in one run: a real difference
    assert not is_due(record.read(unset), 24, later - timedelta(seconds=1), counted_s=23.9 * HOUR)
    assert is_due(record.read(unset), 24, FRIDAY, counted_s=24 * HOUR, now_trusted=True)


def test_a_damaged_count_starts_again_from_zero_never_from_more(tmp_path):
    path = tmp_path / ".seal-clock.json"
    for garbage in ("", "[]", '{"boot_id": "b", "at_s": "x", "counted": {}}', '{"boot_id": "b"}'):
        path.write_text(garbage)
        count = ReadableCount.load(path, Uptime("b", 50 * HOUR))
        assert count.seconds("s") == 0.0
    path.write_text(json.dumps({"boot_id": "b", "at_s": 10.0, "counted": {"s": 5.0, "bad": "x", "inf": float("inf")}}))
    count = ReadableCount.load(path, Uptime("b", 25.0))
    assert count.counted == {"s": 20.0}
    assert ReadableCount.load(path, Uptime("b", 4.0)).seconds("s") == 5.0  # uptime below the checkpoint: counts 0 more
    assert ReadableCount.load(path, Uptime("", 4.0)).seconds("s") == 9.0  # no boot id: a smaller uptime means a reboot
