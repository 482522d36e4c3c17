"""Opening sealed notes on the owner's computer, and making the owner's key.

`open_archive` turns a copied archive (a data dir, its sessions folder, one session folder, or a tar
of any of those) into an ordinary archive folder that every review command reads. It builds the
whole result beside its destination and renames it into place at the end, so a wrong key or a
damaged file leaves nothing written half-way.
"""

import json
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

import pyrage
from pyrage import x25519

from common.errors import ExportRefused, KeyInvalid, SealedUnreadable
from common.files import FILE_MODE, atomic_write_bytes, output_dir, private_dir
from device.notes import record
from device.notes.record import RECORD_NAME, SAID_NAME, SEALED_SUFFIX, DataLayout
from device.notes.tar_data import extract_data

LOSS_WARNING = (
    "Keep this file safe and off the device. Whoever has it can open your sealed notes; "
    "if you lose it, your sealed notes are gone for good: nobody can open them."
)
WRONG_KEY = "No matching keys found"


def new_identity(out: Path) -> str:
    """`reflect keys new`: write a new age identity to `out` (0600, never over a file; "-" for standard output) and
    return its recipient."""
    identity = x25519.Identity.generate()
    public = identity.to_public()
    text = f"# created by reflect keys new\n# public key: {public}\n{identity}\n"
    if str(out) == "-":
        sys.stdout.write(text)
        return str(public)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        raise KeyInvalid(f"{out} already exists; choose a new file (an identity is never overwritten)") from None
    except OSError as error:
        raise KeyInvalid(f"cannot write the identity to {out} ({error.strerror})") from None
    with os.fdopen(fd, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    return str(public)


def identities(path: Path) -> list[x25519.Identity]:
    """The age identities in an identity file (as `reflect keys new` or age-keygen write it)."""
    try:
        lines = Path(path).read_bytes().decode().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise KeyInvalid(
            f"cannot read the identity file {path} ({getattr(error, 'strerror', None) or 'not text'})"
        ) from None
    try:
        found = [x25519.Identity.from_str(line.strip()) for line in lines if line.strip().startswith("AGE-SECRET-KEY-")]
    except (pyrage.IdentityError, ValueError):
        raise KeyInvalid(f"{path} holds a damaged age identity") from None
    if not found:
        raise KeyInvalid(f"{path} holds no age identity (a line starting AGE-SECRET-KEY-)")
    return found


def unseal(path: Path, keys: list[x25519.Identity]) -> bytes:
    """The plain bytes of one sealed file; KeyInvalid for the wrong key, SealedUnreadable if it is damaged."""
    try:
        plain: bytes = pyrage.decrypt(path.read_bytes(), keys)
        return plain
    except pyrage.DecryptError as error:
        if str(error) == WRONG_KEY:
            raise KeyInvalid(
                f"{path.name} of session {path.parent.name} was sealed to another key; "
                "use the identity whose public key is in this device's config"
            ) from None
        raise SealedUnreadable(f"{path.name} of session {path.parent.name} is damaged and cannot be opened") from None
    except OSError as error:
        raise SealedUnreadable(f"cannot read {path} ({error.strerror})") from None


def session_folders(root: Path) -> list[Path]:
    """The session folders of a copied archive: a data dir, its sessions folder, or one session folder."""
    if (root / RECORD_NAME).is_file():
        return [root]
    if DataLayout(root).sessions.is_dir():
        root = DataLayout(root).sessions
    folders = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if root.name != DataLayout(root).sessions.name:  # a data dir with no sessions folder yet
        folders = [p for p in folders if (p / RECORD_NAME).exists()]
    return sorted(folders)


def open_archive(source: Path, identity: Path, out: Path, force: bool = False) -> int:
    """Open every sealed session of `source` into a new archive at `out`; return how many sessions it holds.

    An empty `out` keeps its mode, and so do its parents; a full one is replaced only with `force`, and only
    when it holds an archive (nothing but a sessions folder)."""
    keys = identities(identity)
    out = Path(out).expanduser().resolve()
    _check_out(out, force)
    source = Path(source).expanduser()
    if not source.exists():
        raise SealedUnreadable(f"{source} does not exist")
    output_dir(out.parent)
    building = Path(tempfile.mkdtemp(prefix=f".{out.name}.opening-", dir=out.parent))
    try:
        with _unpacked(source) as root:
            folders = session_folders(root)
            target = private_dir(DataLayout(building).sessions)
            for folder in folders:
                _open_session(folder, private_dir(target / folder.name), keys)
        _swap_in(building, out)
    except BaseException:
        shutil.rmtree(building)
        raise
    return len(folders)


def _check_out(out: Path, force: bool) -> None:
    """ExportRefused if `out` is a file, or a folder with something in it that `force` may not replace."""
    if not out.exists():
        return
    inside = sorted(p.name for p in out.iterdir()) if out.is_dir() else None
    if inside is None or inside and not (force and inside == [DataLayout(out).sessions.name]):
        held = (
            "is not a folder" if inside is None else f"holds {', '.join(inside[:3])}{' ...' if len(inside) > 3 else ''}"
        )
        hint = "" if inside is None or force else "; choose a new folder, or add --force to replace an opened archive"
        raise ExportRefused(f"{out} already exists and {held}{hint}")


def _swap_in(building: Path, out: Path) -> None:
    """Rename the finished archive to `out`; a folder already there lends its mode, and its old archive is removed."""
    if not out.exists():
        os.rename(building, out)
        return
    os.chmod(building, out.stat().st_mode & 0o7777)
    old = building.with_name(building.name + ".old")
    os.rename(out, old)
    os.rename(building, out)
    shutil.rmtree(old)


class _unpacked:
    """A folder as it is, or a tar file extracted to a private temporary folder for the time of the `with`."""

    def __init__(self, source: Path):
        self.source = source
        self.temp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Path:
        if self.source.is_dir():
            return self.source
        self.temp = tempfile.TemporaryDirectory()
        try:
            with tarfile.open(self.source) as tar:
                extract_data(tar, self.temp.name)
        except (tarfile.TarError, OSError):
            self.temp.cleanup()
            raise SealedUnreadable(
                f"{self.source} is neither an archive folder nor a readable tar file "
                "(copy the device's data dir, or a tar of it, and open that)"
            ) from None
        return Path(self.temp.name)

    def __exit__(self, *exc: object) -> None:
        if self.temp is not None:
            self.temp.cleanup()


def _open_session(folder: Path, target: Path, keys: list[x25519.Identity]) -> None:
    """Copy one session folder, unsealing its sealed files and putting what was said back in session.json."""
    try:
        raw = record.read(folder)
    except Exception:
        raw = None  # damaged: copied as it is, for the archive to set aside and report
    sealed = set(record.sealed_files(raw)) if raw is not None else set()
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name == RECORD_NAME and raw is not None and record.is_sealed(raw):
            continue
        if path.name in sealed and path.name != SAID_NAME:
            atomic_write_bytes(target / path.name.removesuffix(SEALED_SUFFIX), unseal(path, keys))
        elif path.name not in sealed:
            shutil.copyfile(path, target / path.name)
            os.chmod(target / path.name, FILE_MODE)
    if raw is not None and record.is_sealed(raw):
        plain = unseal(folder / SAID_NAME, keys)  # a wrong key or an unreadable file says so itself
        try:
            said = json.loads(plain)
        except ValueError:
            said = None
        if not isinstance(said, dict):
            raise SealedUnreadable(f"{SAID_NAME} of session {folder.name} does not hold words")
        record.write(target, record.opened(raw, said), noted=False)
