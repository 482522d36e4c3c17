"""A tar of notes is taken as plain data, with Python's "data" filter or, on a Python without it (Debian
bookworm's 3.11.2, as on Raspberry Pi OS), by the same checks made by hand."""

import io
import stat
import tarfile

import pytest

from device.notes.tar_data import extract_data


@pytest.fixture(params=["data filter", "no data filter"])
def python(request, monkeypatch):
    if request.param == "no data filter":
        monkeypatch.delattr(tarfile, "data_filter", raising=False)  # a Python before 3.11.4 has none
    return request.param


def add(tar: tarfile.TarFile, name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"said", **fields) -> None:
    member = tarfile.TarInfo(name)
    member.type, member.size, member.mode = kind, len(data) if kind == tarfile.REGTYPE else 0, 0o644
    for key, value in fields.items():
        setattr(member, key, value)
    tar.addfile(member, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def made(tmp_path, *members) -> tarfile.TarFile:
    path = tmp_path / "notes.tar"
    with tarfile.open(path, "w") as tar:
        for name, kind, fields in members:
            add(tar, name, kind, **fields)
    return tarfile.open(path)


def test_plain_files_and_folders_come_out_whole_and_without_set_id_bits(tmp_path, python):
    tar = made(
        tmp_path,
        ("sessions", tarfile.DIRTYPE, {"mode": 0o777}),
        ("sessions/01.flac", tarfile.REGTYPE, {"mode": 0o4777}),
    )
    target = tmp_path / "out"
    target.mkdir()
    with tar:
        extract_data(tar, str(target))
    assert (target / "sessions" / "01.flac").read_bytes() == b"said"
    mode = stat.S_IMODE((target / "sessions" / "01.flac").stat().st_mode)
    assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_IWGRP | stat.S_IWOTH), oct(mode)


@pytest.mark.parametrize(
    "member",
    [
        ("../escaped.txt", tarfile.REGTYPE, {}),
        ("sessions/link", tarfile.SYMTYPE, {"linkname": "/etc/passwd"}),
        ("sessions/device", tarfile.CHRTYPE, {"devmajor": 1, "devminor": 3}),
    ],
    ids=["up and out", "a link out", "a device"],
)
def test_anything_but_a_plain_file_or_folder_inside_is_refused(tmp_path, python, member):
    tar = made(tmp_path, member)
    target = tmp_path / "out"
    target.mkdir()
    with tar, pytest.raises(tarfile.TarError):
        extract_data(tar, str(target))
    assert not (tmp_path / "escaped.txt").exists()


def test_an_absolute_name_never_lands_outside(tmp_path, python):
    """The filter strips the leading slash, the checks refuse the name: either way it stays out of the real path."""
    tar = made(tmp_path, (str(tmp_path / "escaped.txt"), tarfile.REGTYPE, {}))
    target = tmp_path / "out"
    target.mkdir()
    with tar:
        try:
            extract_data(tar, str(target))
        except tarfile.TarError:
            pass
    assert not (tmp_path / "escaped.txt").exists()
