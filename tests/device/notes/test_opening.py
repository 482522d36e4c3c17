"""Opening sealed notes on the owner's computer: `reflect open`, `reflect export --identity`, `reflect keys new`."""

import subprocess

import pyrage
import pytest
from pyrage import x25519

from audio.compress import decode
from common.errors import ExportRefused, KeyInvalid, SealedUnreadable
from device.notes import record, review_commands
from device.notes.archive import Archive
from device.notes.opening import identities, new_identity, open_archive
from device.notes.sealing import recipient, seal_due
from device.setup import cli
from tests.device.notes.sealing_support import LATER, compressed_session, files_in, owner_of


def test_open_makes_an_ordinary_archive_that_every_review_command_reads(tmp_path, key):
    data = tmp_path / "data"
    folder = compressed_session(data)
    before = record.read(folder)
    seal_due(data, owner_of(key), 0, now=LATER)
    (data / "sessions" / ".deleting-x").mkdir()  # hidden folders and stray files are not sessions
    (data / "sessions" / "notes.txt").write_text("stray")
    out = tmp_path / "opened"
    out.mkdir()  # an empty folder may be the destination
    assert open_archive(data, key, out) == 1
    assert [p.name for p in (out / "sessions").iterdir()] == [folder.name]
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
    code = cli.main(
        ["export", "--all", "--identity", str(key), "--out", str(tmp_path / "pages"), "--data-dir", str(data)]
    )
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
    assert err == (
        f"reflect: 01.opus.age of session {folder.name} was sealed to another key; use the identity "
        "whose public key is in this device's config\n"
    )
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".opened")] == []
    sealed_audio = folder / "03.opus.age"
    sealed_audio.write_bytes(sealed_audio.read_bytes()[:-40])
    with pytest.raises(
        SealedUnreadable, match=f"^03.opus.age of session {folder.name} is damaged and cannot be opened$"
    ):
        open_archive(data, key, out)
    assert not out.exists()
    with pytest.raises(KeyInvalid, match=r"^cannot read the identity file .*x \(No such file or directory\)$"):
        identities(tmp_path / "x")
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    with pytest.raises(KeyInvalid, match=r"^cannot read the identity file .*binary \(not text\)$"):
        identities(tmp_path / "binary")
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
    age_public = subprocess.run(
        ["age-keygen", "-y", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert age_public == public
    first = path.read_bytes()
    assert cli.main(["keys", "new", "--out", str(path)]) == 2
    assert path.read_bytes() == first


def test_keys_new_to_standard_output_prints_the_identity_alone_and_writes_no_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["keys", "new", "--out", "-"]) == 0
    printed = capsys.readouterr()
    comment, public_line, secret = printed.out.splitlines()
    public = printed.err.strip().split("\n")[-1]
    assert (comment, public_line) == ("# created by reflect keys new", f"# public key: {public}")
    assert str(x25519.Identity.from_str(secret).to_public()) == public and recipient(public)
    assert "Wrote your identity to standard output." in printed.err and list(tmp_path.iterdir()) == []


def test_age_keygen_identities_work_too(tmp_path):
    key = tmp_path / "age.key"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    data = tmp_path / "data"
    compressed_session(data)
    seal_due(data, owner_of(key), 0, now=LATER)
    assert open_archive(data, key, tmp_path / "opened") == 1


def test_open_copies_plain_sessions_as_they_are_and_unseals_every_sealed_file(tmp_path, key):
    data = tmp_path / "data"
    sealed = compressed_session(data)
    seal_due(data, owner_of(key), 0, now=LATER)
    plain = compressed_session(data, [["stillplain"]], LATER)
    before = files_in(plain)
    out = tmp_path / "opened"
    assert open_archive(data, key, out) == 2
    assert sorted(p.name for p in (out / "sessions" / sealed.name).iterdir()) == [
        "01.opus",
        "03.opus",
        "session.json",
        "transcript.md",
    ]
    copied = out / "sessions" / plain.name
    assert files_in(copied) == before
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in copied.iterdir())


def test_open_and_keys_new_say_what_is_wrong_in_one_line(tmp_path, key, capsys):
    assert cli.main(["open", str(tmp_path / "nowhere"), "--identity", str(key), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == f"reflect: {tmp_path / 'nowhere'} does not exist\n"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert cli.main(["open", str(tmp_path), "--identity", str(key), "--out", str(tmp_path / "full")]) == 2
    assert capsys.readouterr().err == (
        f"reflect: {tmp_path / 'full'} already exists and holds x; "
        "choose a new folder, or add --force to replace an opened archive\n"
    )
    assert cli.main(["keys", "new", "--out", str(key)]) == 2
    assert (
        capsys.readouterr().err
        == f"reflect: {key} already exists; choose a new file (an identity is never overwritten)\n"
    )
    assert cli.main(["keys", "new", "--out", str(tmp_path / "no" / "key")]) == 2
    assert (
        capsys.readouterr().err
        == f"reflect: cannot write the identity to {tmp_path / 'no' / 'key'} (No such file or directory)\n"
    )


def test_an_opening_is_built_hidden_beside_its_destination_and_removed_if_it_fails(tmp_path, key, monkeypatch):
    from device.notes import opening

    data = tmp_path / "data"
    compressed_session(data)
    seal_due(data, owner_of(key), 0, now=LATER)
    out = tmp_path / "notes" / "opened"
    built_in = []

    def fails(folder, target, keys):
        built_in.append(target.parent.parent)
        raise SealedUnreadable("damaged")

    monkeypatch.setattr(opening, "_open_session", fails)
    with pytest.raises(SealedUnreadable):
        open_archive(data, key, out)
    [building] = built_in
    assert building.parent == out.parent and building.name.startswith(".opened.opening-")
    assert list(out.parent.iterdir()) == []


def test_a_data_dir_without_sessions_opens_to_an_empty_archive(tmp_path, key):
    (tmp_path / "data" / "models" / "some-model").mkdir(parents=True)
    assert open_archive(tmp_path / "data", key, tmp_path / "opened") == 0
    assert list((tmp_path / "opened" / "sessions").iterdir()) == []


def test_a_tar_that_reaches_outside_its_folder_is_refused(tmp_path, key):
    import io
    import tarfile

    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        data = b"not yours"
        member = tarfile.TarInfo("../../escaped.txt")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    with pytest.raises(SealedUnreadable, match="neither an archive folder nor a readable tar file"):
        open_archive(evil, key, tmp_path / "opened")
    assert not (tmp_path / "opened").exists()
    assert not list(tmp_path.parent.glob("escaped.txt")) and not list(tmp_path.glob("**/escaped.txt"))


def test_a_damaged_session_in_the_copy_is_copied_as_it_is_beside_the_opened_ones(tmp_path, key):
    data = tmp_path / "data"
    folder = compressed_session(data)
    seal_due(data, owner_of(key), 0, now=LATER)
    damaged = data / "sessions" / "2020-01-01T00-00-00"
    damaged.mkdir()
    (damaged / "session.json").write_text("{not json")
    out = tmp_path / "opened"
    assert open_archive(data, key, out) == 2
    assert (out / "sessions" / damaged.name / "session.json").read_text() == "{not json"
    assert "zorblax" in review_commands.show(Archive(out), folder.name)


def test_an_identity_file_without_a_good_key_and_a_said_file_without_words_are_named_in_one_line(tmp_path, key):
    (tmp_path / "damaged.key").write_text("# public key: age1x\nAGE-SECRET-KEY-1NOPE\n")
    with pytest.raises(KeyInvalid, match=r"^.*damaged\.key holds a damaged age identity$"):
        identities(tmp_path / "damaged.key")
    (tmp_path / "empty.key").write_text("# nothing here\n")
    with pytest.raises(KeyInvalid, match=r"^.*empty\.key holds no age identity \(a line starting AGE-SECRET-KEY-\)$"):
        identities(tmp_path / "empty.key")
    data = tmp_path / "data"
    folder = compressed_session(data)
    seal_due(data, owner_of(key), 0, now=LATER)
    said = folder / "said.json.age"
    for words in (b"[]", b"not json"):
        said.write_bytes(pyrage.encrypt(words, [owner_of(key)]))
        with pytest.raises(SealedUnreadable, match=f"^said.json.age of session {folder.name} does not hold words$"):
            open_archive(data, key, tmp_path / "opened")
    said.write_bytes(pyrage.encrypt(b"{}", [x25519.Identity.generate().to_public()]))
    with pytest.raises(KeyInvalid, match=f"^said.json.age of session {folder.name} was sealed to another key;"):
        open_archive(data, key, tmp_path / "opened")
    said.unlink()
    said.mkdir()
    with pytest.raises(SealedUnreadable, match=r"^cannot read .*said\.json\.age \(Is a directory\)$"):
        open_archive(data, key, tmp_path / "opened")
    assert not (tmp_path / "opened").exists()


def test_a_folder_inside_a_session_is_left_out_of_its_opened_copy(tmp_path, key):
    data = tmp_path / "data"
    folder = compressed_session(data)
    seal_due(data, owner_of(key), 0, now=LATER)
    (folder / "stray").mkdir()
    assert open_archive(data, key, tmp_path / "opened") == 1
    assert "stray" not in [p.name for p in (tmp_path / "opened" / "sessions" / folder.name).iterdir()]


def test_open_into_a_full_folder_names_three_of_what_it_holds(tmp_path, key, capsys):
    full = tmp_path / "full"
    full.mkdir()
    for name in ("a", "b", "c", "d"):
        (full / name).write_text(name)
    assert cli.main(["open", str(tmp_path), "--identity", str(key), "--out", str(full)]) == 2
    assert (
        capsys.readouterr().err == f"reflect: {full} already exists and holds a, b, c ...; choose a new folder, "
        "or add --force to replace an opened archive\n"
    )


def test_open_into_a_folder_holding_three_things_names_all_three(tmp_path, key, capsys):
    full = tmp_path / "full"
    full.mkdir()
    for name in ("a", "b", "c"):
        (full / name).write_text(name)
    assert cli.main(["open", str(tmp_path), "--identity", str(key), "--out", str(full)]) == 2
    assert (
        capsys.readouterr().err == f"reflect: {full} already exists and holds a, b, c; choose a new folder, "
        "or add --force to replace an opened archive\n"
    )


def test_an_opened_archive_is_replaced_only_when_forced(tmp_path, key):
    data = tmp_path / "data"
    compressed_session(data)
    seal_due(data, owner_of(key), 0, now=LATER)
    out = tmp_path / "opened"
    assert open_archive(data, key, out) == 1
    compressed_session(data, [["later"]], LATER)
    with pytest.raises(ExportRefused, match=r"already exists and holds sessions; choose a new folder, or add --force"):
        open_archive(data, key, out)
    assert len(list((out / "sessions").iterdir())) == 1
    assert open_archive(data, key, out, force=True) == 2
    assert len(list((out / "sessions").iterdir())) == 2


def test_open_says_one_line_for_a_file_that_is_no_archive_and_for_an_out_that_is_a_file(tmp_path, key, capsys):
    junk = tmp_path / "junk.tar"
    junk.write_text("not a tar")
    assert cli.main(["open", str(junk), "--identity", str(key), "--out", str(tmp_path / "o")]) == 2
    assert (
        capsys.readouterr().err == f"reflect: {junk} is neither an archive folder nor a readable tar file "
        "(copy the device's data dir, or a tar of it, and open that)\n"
    )
    assert cli.main(["open", str(tmp_path), "--identity", str(key), "--out", str(junk)]) == 2
    assert capsys.readouterr().err == f"reflect: {junk} already exists and is not a folder\n"
