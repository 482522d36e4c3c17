"""`reflect backup` and `reflect restore`: verified copies that round-trip byte for byte, copy only what changed,
skip a session being recorded, keep sealed notes sealed, and never write over or chmod what is not theirs."""

import os
import stat
from datetime import timedelta

import pytest

from device.notes.sealing import seal_due
from device.setup import cli
from tests.device.notes.notes_holder import holding
from tests.device.notes.sealing_support import (
    LATER,
    SECRET_WORDS,
    STARTED,
    compressed_session,
    owner_of,
    said_anywhere,
)
from tests.faults.support import census

SAID = [w for answer in SECRET_WORDS if answer for w in answer]


def reflect(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def notes(tmp_path, key):
    """A data dir with two plain sessions (Opus, transcripts) and one sealed session."""
    data = tmp_path / "data"
    compressed_session(data, started=STARTED)
    seal_due(data, owner_of(key), 0, now=LATER)  # seals that first one
    compressed_session(data, words=[["plain", "words"], ["more"]], started=STARTED + timedelta(days=3))
    compressed_session(data, words=[["later", "ones"]], started=STARTED + timedelta(days=4))
    return data


def test_backup_and_restore_round_trip_plain_and_sealed_notes_byte_for_byte(notes, tmp_path, capsys):
    dest, restored = tmp_path / "stick" / "reflect", tmp_path / "restored"
    code, out, err = reflect(capsys, "backup", str(dest), "--data-dir", str(notes))
    assert (code, err) == (0, "")
    assert out.count("  copied ") == 3 and "verified (size and SHA-256)" in out
    assert census(dest / "sessions") == census(notes / "sessions")
    assert said_anywhere(dest, SAID) == []  # the sealed session went across sealed
    code, out, err = reflect(capsys, "restore", str(dest), "--data-dir", str(restored))
    assert (code, err) == (0, "")
    assert "Restored 3 sessions" in out
    assert census(restored / "sessions") == census(notes / "sessions")
    assert reflect(capsys, "notes", "--data-dir", str(dest))[1] == reflect(capsys, "notes", "--data-dir", str(notes))[1]


def test_a_second_backup_copies_nothing_and_rewrites_no_file(notes, tmp_path, capsys):
    dest = tmp_path / "backup"
    assert reflect(capsys, "backup", str(dest), "--data-dir", str(notes))[0] == 0
    files = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (dest / "sessions").rglob("*")}
    code, out, err = reflect(capsys, "backup", str(dest), "--data-dir", str(notes))
    assert (code, err) == (0, "")
    assert "Copied nothing new." in out and "Unchanged since the last backup: 3 sessions" in out
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (dest / "sessions").rglob("*")} == files


def test_what_changed_is_copied_and_a_sealed_session_leaves_no_plain_copy_behind(tmp_path, key, capsys):
    data, dest = tmp_path / "data", tmp_path / "backup"
    folder = compressed_session(data)
    assert reflect(capsys, "backup", str(dest), "--data-dir", str(data))[0] == 0
    assert said_anywhere(dest, SAID)
    (dest / "sessions" / folder.name / "my-note.txt").write_text("the owner's own file")
    seal_due(data, owner_of(key), 0, now=LATER)
    code, out, _ = reflect(capsys, "backup", str(dest), "--data-dir", str(data))
    assert code == 0 and f"copied  {folder.name}:" in out
    assert said_anywhere(dest, SAID) == []
    mine = dest / "sessions" / folder.name / "my-note.txt"
    assert mine.read_text() == "the owner's own file"  # not written by a backup: left alone
    mine.unlink()
    assert census(dest / "sessions") == census(data / "sessions")


def test_a_backup_while_a_session_records_keeps_every_finished_one_and_skips_the_live_one(tmp_path, capsys):
    data, dest = tmp_path / "data", tmp_path / "backup"
    finished = [compressed_session(data, words=[["one"]], started=STARTED + timedelta(days=d)).name for d in (1, 2)]
    with holding(data) as (_, live):
        before = census(data)
        code, out, err = reflect(capsys, "backup", str(dest), "--data-dir", str(data))
        assert census(data) == before  # the running service's notes: not a byte changed
    assert (code, err) == (0, "")
    assert f"skipped {live}: being recorded" in out
    assert sorted(p.name for p in (dest / "sessions").iterdir()) == sorted(finished)
    for name in finished:
        assert census(dest / "sessions" / name) == census(data / "sessions" / name)


def test_backup_keeps_the_mode_of_a_folder_already_there(notes, tmp_path, capsys):
    dest = tmp_path / "shared"
    dest.mkdir()
    os.chmod(dest, 0o1777)
    assert reflect(capsys, "backup", str(dest), "--data-dir", str(notes))[0] == 0
    assert stat.S_IMODE(dest.stat().st_mode) == 0o1777
    assert stat.S_IMODE((dest / "sessions").stat().st_mode) == 0o700


def test_backup_refuses_a_folder_with_sessions_it_did_not_write(notes, tmp_path, capsys):
    other = tmp_path / "other-notes"
    compressed_session(other, words=[["theirs"]])
    before = census(other)
    code, out, err = reflect(capsys, "backup", str(other), "--data-dir", str(notes))
    assert (code, out) == (2, "") and err.count("\n") == 1 and "no `reflect backup` wrote" in err
    assert census(other) == before
    code, _, err = reflect(capsys, "backup", str(notes / "sessions" / "x"), "--data-dir", str(notes))
    assert code == 2 and "overlaps the notes" in err


def test_restore_refuses_to_write_over_a_session_that_differs_and_writes_nothing(notes, tmp_path, capsys):
    dest = tmp_path / "backup"
    assert reflect(capsys, "backup", str(dest), "--data-dir", str(notes))[0] == 0
    newest = sorted((notes / "sessions").iterdir())[-1]
    (newest / "transcript.md").write_text("edited since the backup")
    before = census(notes / "sessions")
    code, out, err = reflect(capsys, "restore", str(dest), "--data-dir", str(notes))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and f"{newest.name} (transcript.md)" in err and "nothing was restored" in err
    assert census(notes / "sessions") == before


def test_restore_finds_a_backup_file_gone_bad_and_leaves_no_half_session(notes, tmp_path, capsys):
    dest, restored = tmp_path / "backup", tmp_path / "restored"
    assert reflect(capsys, "backup", str(dest), "--data-dir", str(notes))[0] == 0
    bad = sorted((dest / "sessions").iterdir())[-1] / "01.opus"
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the same size, one byte flipped: as a failing stick returns it
    bad.write_bytes(bytes(data))
    code, out, err = reflect(capsys, "restore", str(dest), "--data-dir", str(restored))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "does not match the SHA-256 its backup recorded" in err
    assert (
        sorted(p.name for p in (restored / "sessions").iterdir())
        == sorted(p.name for p in (notes / "sessions").iterdir())[:2]
    )
