"""Which folders under sessions/ are sessions, which are still being written, and the highest session number."""

import json
from datetime import datetime, timezone

from bench.archive_factory import write_session
from device.notes import record


def test_session_folders_are_the_plain_folders_by_name(tmp_path):
    sessions = tmp_path / "sessions"
    later = write_session(tmp_path, datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc), [["b"]])
    earlier = write_session(tmp_path, datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc), [["a"]])
    (sessions / ".2026-12-07_090000.building").mkdir()  # a writer's temporary folder
    (sessions / "notes.txt").write_text("not a session")
    (sessions / "elsewhere").symlink_to(earlier)
    assert record.session_folders(sessions) == [earlier, later]
    assert record.session_folders(tmp_path / "nowhere") == []


def test_a_session_is_being_written_while_in_progress_or_holding_a_part(tmp_path):
    folder = write_session(tmp_path, datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc), [["a"]])
    raw = record.read(folder)
    assert not record.being_written(folder, raw)
    assert record.being_written(folder, dict(raw, status="in_progress"))
    (folder / "02.wav.part").write_bytes(b"")
    assert record.being_written(folder, raw)


def test_the_highest_session_number_of_no_notes_is_0(tmp_path):
    assert record.highest_seq(tmp_path / "sessions") == 0
    folder = write_session(tmp_path, datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc), [["a"]])
    raw = json.loads((folder / "session.json").read_text())
    assert record.highest_seq(tmp_path / "sessions") == raw.get("seq", 1)


def test_the_highest_session_number_counts_neither_hidden_folders_nor_plain_files(tmp_path):
    sessions = tmp_path / "sessions"
    folder = write_session(tmp_path, datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc), [["a"]])
    building = sessions / ".2026-12-07_090000.building"  # a writer's temporary copy of a session
    building.mkdir()
    (building / "session.json").write_bytes((folder / "session.json").read_bytes())
    (sessions / "notes.txt").write_text("not a session")
    assert record.highest_seq(sessions) == 1
