"""Sealing: what was said goes into .age files the standard `age` opens; the device keeps only what was not said."""
import errno
import json
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pyrage import x25519

from audio.compress import compress_answer, decode
from bench.archive_factory import write_session
from common.errors import ExportRefused, KeyInvalid, SealedUnreadable
from device.notes import record, review_commands
from device.notes.archive import Archive
from device.notes.opening import identities, new_identity, open_archive
from device.notes.recovery import recover
from device.notes.sealing import is_due, recipient, seal_due, settle
from device.setup import cli
from tests.faults.support import small_tmpfs

SECRET_WORDS = [["zorblax", "quintessa", "mirvelle"], None, ["plumbrick", "vantaloop"]]
STARTED = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
LATER = STARTED + timedelta(days=2)


@pytest.fixture
def key(tmp_path) -> Path:
    path = tmp_path / "owner.key"
    new_identity(path)
    return path


def owner_of(key: Path):
    return identities(key)[0].to_public()


def compressed_session(data_dir: Path, words=SECRET_WORDS, started=STARTED) -> Path:
    """A finished session as the device leaves it: Opus answers, transcripts, transcript.md written by record."""
    folder = write_session(data_dir, started, words, rate=16000)
    raw = record.read(folder)
    for answer in raw["answers"]:
        if answer["audio"]:
            answer["audio"] = compress_answer(folder / answer["audio"]).name
    record.write(folder, raw)
    record.write_transcript(folder, raw)
    return folder


def said_anywhere(root: Path, words) -> list[str]:
    """Every (file, word) where a word said appears in plain bytes anywhere under `root`."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            found += [f"{path.relative_to(root)}: {w}" for w in words if w.encode() in data]
    return found


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
    assert {k: v for k, v in sealed.items() if k not in ("answers", "sealed")} == \
        {k: v for k, v in before.items() if k != "answers"}
    for name in record.sealed_files(sealed):  # the standard tool, with nothing of this project
        opened = subprocess.run(["age", "-d", "-i", str(key), str(folder / name)], capture_output=True, check=True).stdout
        assert opened
    said = json.loads(subprocess.run(["age", "-d", "-i", str(key), str(folder / record.SAID_NAME)],
                                     capture_output=True, check=True).stdout)
    assert record.opened(sealed, said) == before
    audio = subprocess.run(["age", "-d", "-i", str(key), str(folder / "01.opus.age")], capture_output=True, check=True).stdout
    assert audio == plain_audio


def test_a_sealed_session_is_listed_but_not_searched_and_replay_refuses_its_audio(tmp_path, key):
    data = tmp_path / "data"
    compressed_session(data)
    compressed_session(data, [["plainword"]], STARTED + timedelta(days=3))
    seal_due(data, owner_of(key), 24, now=LATER)
    archive = Archive(data)
    assert len(archive.sessions()) == 2
    assert "1 sealed session(s) were not searched" in review_commands.search(archive, ["zorblax"])
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
    pending = json.loads(json.dumps(raw))
    pending["answers"][0]["transcript"] = None
    assert not is_due(pending, 0, LATER)


def test_open_makes_an_ordinary_archive_that_every_review_command_reads(tmp_path, key):
    data = tmp_path / "data"
    folder = compressed_session(data)
    before = record.read(folder)
    seal_due(data, owner_of(key), 0, now=LATER)
    out = tmp_path / "opened"
    assert open_archive(data, key, out) == 1
    opened = out / "sessions" / folder.name
    assert record.read(opened) == before
    assert decode(opened / "01.opus")[0].size
    archive = Archive(out)
    assert "zorblax" in review_commands.show(archive, "latest")
    assert "answer 1" in review_commands.search(archive, ["quintessa"])
    assert review_commands.export_cmd(archive, None, "html", tmp_path / "pages").startswith("Exported 1")
    assert [s for s in archive.listing().notices] == []


def test_open_takes_a_tar_export_and_export_with_identity_writes_pages(tmp_path, key, capsys):
    data = tmp_path / "data"
    compressed_session(data)
    seal_due(data, owner_of(key), 0, now=LATER)
    tar = tmp_path / "copy.tar.gz"
    subprocess.run(["tar", "-czf", str(tar), "-C", str(data), "sessions"], check=True)
    assert open_archive(tar, key, tmp_path / "from-tar") == 1
    code = cli.main(["export", "--all", "--identity", str(key), "--out", str(tmp_path / "pages"),
                     "--data-dir", str(data)])
    assert code == 0
    page = next((tmp_path / "pages").rglob("notes.md")).read_text()
    assert "zorblax" in page


def test_a_wrong_key_or_a_damaged_file_is_one_line_exit_2_and_writes_nothing(tmp_path, key, capsys):
    data = tmp_path / "data"
    folder = compressed_session(data)
    seal_due(data, owner_of(key), 0, now=LATER)
    other = tmp_path / "other.key"
    new_identity(other)
    out = tmp_path / "opened"
    assert cli.main(["open", str(data), "--identity", str(other), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another key" in err
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".opened")] == []
    sealed_audio = folder / "03.opus.age"
    sealed_audio.write_bytes(sealed_audio.read_bytes()[:-40])
    with pytest.raises(SealedUnreadable):
        open_archive(data, key, out)
    assert not out.exists()
    with pytest.raises(KeyInvalid):
        identities(tmp_path / "x")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep")
    with pytest.raises(ExportRefused):
        open_archive(data, key, taken)
    assert [p.name for p in taken.iterdir()] == ["mine.txt"]


def test_keys_new_writes_a_private_identity_once_and_warns_about_losing_it(tmp_path, capsys):
    path = tmp_path / "me.key"
    assert cli.main(["keys", "new", "--out", str(path)]) == 0
    out = capsys.readouterr().out
    assert "gone for good" in out and (path.stat().st_mode & 0o777) == 0o600
    public = out.strip().split("\n")[-1]
    assert str(identities(path)[0].to_public()) == public and recipient(public)
    age_public = subprocess.run(["age-keygen", "-y", str(path)], capture_output=True, text=True, check=True).stdout.strip()
    assert age_public == public
    first = path.read_bytes()
    assert cli.main(["keys", "new", "--out", str(path)]) == 2
    assert path.read_bytes() == first


def test_age_keygen_identities_work_too(tmp_path):
    key = tmp_path / "age.key"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    data = tmp_path / "data"
    compressed_session(data)
    seal_due(data, owner_of(key), 0, now=LATER)
    assert open_archive(data, key, tmp_path / "opened") == 1


def test_a_full_disk_while_sealing_keeps_the_plain_notes_and_a_later_pass_seals_them(tmp_path, key):
    with small_tmpfs(tmp_path / "card", "400k") as card:
        data = card / "data"
        folder = compressed_session(data, [["zorblax"]])
        filler = card / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as error:
            assert error.errno == errno.ENOSPC
        finally:
            os.close(fd)
        before = {p.name: p.read_bytes() for p in folder.iterdir()}
        report = seal_due(data, owner_of(key), 0, now=LATER)
        assert report.kept_for_later == [folder.name] and report.sealed == []
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
        filler.unlink()
        assert seal_due(data, owner_of(key), 0, now=LATER).sealed == [folder.name]
        assert said_anywhere(data, ["zorblax"]) == []


@pytest.mark.parametrize("moment", ["part", "sealed_not_noted", "noted_not_removed"])
def test_recovery_finishes_a_cut_short_sealing_either_way(tmp_path, key, moment):
    data = tmp_path / "data"
    folder = compressed_session(data)
    plain = {p.name: p.read_bytes() for p in folder.iterdir()}
    seal_due(data, owner_of(key), 0, now=LATER)
    sealed = {p.name: p.read_bytes() for p in folder.iterdir()}
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
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert after == (sealed if moment == "noted_not_removed" else plain)
    assert report.removed and not report.problems
    assert recover(data).removed == []


def test_settle_leaves_a_clean_folder_alone(tmp_path, key):
    folder = compressed_session(tmp_path / "data")
    assert settle(folder, record.read(folder)) == []
    seal_due(tmp_path / "data", owner_of(key), 0, now=LATER)
    assert settle(folder, record.read(folder)) == []


def test_a_recipient_that_is_not_one_is_a_one_line_config_error(tmp_path):
    from common.errors import ConfigInvalid
    from device.setup.config import load_config

    with pytest.raises(ConfigInvalid, match="privacy.recipient.*not an age recipient"):
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
    (due / "transcript.md").unlink()  # a crash between session.json and transcript.md: sealing still goes on
    with caplog.at_level("INFO", logger="device.notes.sealing"):
        assert seal_due(data, owner_of(key), 24, now=LATER).sealed == [due.name]
    assert [r.getMessage() for r in caplog.records if r.name == "device.notes.sealing"] == [
        f"session {due.name} sealed", "sealed 1 session(s)"]


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
        "sealing failed; the notes stay as they are until the next try"]


def test_open_copies_plain_sessions_as_they_are_and_unseals_every_sealed_file(tmp_path, key):
    data = tmp_path / "data"
    sealed = compressed_session(data)
    seal_due(data, owner_of(key), 0, now=LATER)
    plain = compressed_session(data, [["stillplain"]], LATER)
    before = {p.name: p.read_bytes() for p in plain.iterdir()}
    out = tmp_path / "opened"
    assert open_archive(data, key, out) == 2
    assert sorted(p.name for p in (out / "sessions" / sealed.name).iterdir()) == \
        ["01.opus", "03.opus", "session.json", "transcript.md"]
    copied = out / "sessions" / plain.name
    assert {p.name: p.read_bytes() for p in copied.iterdir()} == before
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in copied.iterdir())


def test_open_and_keys_new_say_what_is_wrong_in_one_line(tmp_path, key, capsys):
    assert cli.main(["open", str(tmp_path / "nowhere"), "--identity", str(key), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == f"reflect: {tmp_path / 'nowhere'} does not exist\n"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert cli.main(["open", str(tmp_path), "--identity", str(key), "--out", str(tmp_path / "full")]) == 2
    assert capsys.readouterr().err == f"reflect: {tmp_path / 'full'} already exists and is not empty; choose a new folder\n"
    assert cli.main(["keys", "new", "--out", str(key)]) == 2
    assert capsys.readouterr().err == f"reflect: {key} already exists; choose a new file (an identity is never overwritten)\n"
    assert cli.main(["keys", "new", "--out", str(tmp_path / "no" / "key")]) == 2
    assert capsys.readouterr().err == \
        f"reflect: cannot write the identity to {tmp_path / 'no' / 'key'} (No such file or directory)\n"
