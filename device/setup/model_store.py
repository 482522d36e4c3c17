"""The Vosk speech model on disk: check it, install it (verified, extracted aside, renamed in), report it."""

import fcntl
import hashlib
import http.client
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TextIO

from audio.recognizer import INSTALL_HINT, missing_model_part
from common.errors import ModelInstallFailed
from common.files import fsync_dir, private_dir

Progress = Callable[[int, int], None]

TEMP_PREFIX = ".reflect-install-"
LOCK_NAME = ".reflect-install.lock"
CHUNK = 1 << 16
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class ModelSpec:
    """Where a model comes from and what its archive must be."""

    name: str
    url: str
    size: int
    sha256: str


DEFAULT_MODEL = ModelSpec(
    name="vosk-model-small-en-us-0.15",
    url="https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
    size=41_205_931,
    sha256="30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
)


def model_status(path: Path) -> str:
    """One line for `reflect model status`: where the model is and its size, or how to install it."""
    path = Path(path)
    missing = missing_model_part(path)
    if missing:
        return f"Not installed: no speech model at {path} ({missing}). {INSTALL_HINT}"
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return f"Installed at {path} ({size / 1e6:.1f} MB on disk)."


def progress_printer(stream: TextIO | None = None, width: int = 30) -> Progress:
    """A progress callback: a redrawn bar on a terminal, otherwise a plain line every 10 %."""
    out = stream or sys.stderr
    redraw = out.isatty()
    shown = -1

    def show(done: int, total: int) -> None:
        nonlocal shown
        percent = min(100, done * 100 // total) if total > 0 else 100
        step = percent if redraw else percent // 10 * 10
        if step == shown:
            return
        shown = step
        amount = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB"
        if redraw:
            filled = width * percent // 100
            end = "\n" if percent == 100 else ""
            out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {percent:3d}% {amount}{end}")
        else:
            out.write(f"downloaded {percent}% ({amount})\n")
        out.flush()

    return show


def _download(spec: ModelSpec, target: Path, progress: Progress | None) -> Path:
    """Stream `spec.url` into `target`, stopping as soon as it is longer than expected."""
    done = 0
    try:
        with urllib.request.urlopen(spec.url, timeout=TIMEOUT_SECONDS) as response, open(target, "wb") as out:
            while chunk := response.read(CHUNK):
                done += len(chunk)
                if done > spec.size:
                    raise ModelInstallFailed(f"download of {spec.url} failed: expected {spec.size} bytes, got more")
                out.write(chunk)
                if progress is not None:
                    progress(done, spec.size)
            out.flush()
            os.fsync(out.fileno())
    except urllib.error.HTTPError as error:
        raise ModelInstallFailed(f"download of {spec.url} failed: HTTP {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise ModelInstallFailed(
            f"cannot reach {spec.url}: {error.reason}; check the network, or install offline with --from FILE.zip"
        ) from error
    except (OSError, http.client.HTTPException) as error:
        raise ModelInstallFailed(f"download of {spec.url} failed after {done} bytes: {error}") from error
    return target


def _verify(archive: Path, spec: ModelSpec) -> None:
    """Raise ModelInstallFailed unless `archive` has exactly the size and SHA-256 of `spec`."""
    size = archive.stat().st_size
    if size != spec.size:
        raise ModelInstallFailed(f"{archive.name}: size mismatch, expected {spec.size} bytes, got {size}")
    digest = hashlib.sha256()
    with open(archive, "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != spec.sha256:
        raise ModelInstallFailed(
            f"{archive.name}: checksum mismatch, expected SHA-256 {spec.sha256}, got {digest.hexdigest()}"
        )


def _member_path(name: str) -> PurePosixPath:
    """The relative path of a zip entry, refusing anything that could land outside the extraction dir."""
    path = PurePosixPath(name)
    if "\\" in name or path.is_absolute() or ".." in path.parts or not path.parts:
        raise ModelInstallFailed(f"unsafe path in the model archive: {name!r}")
    return path


def _extract(archive: Path, root: Path) -> Path:
    """Unpack `archive` into the new dir `root`, every file fsynced; return its single top-level folder."""
    root.mkdir()
    try:
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                target = root.joinpath(*_member_path(info.filename).parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(info) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
                    os.fsync(out.fileno())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as error:
        raise ModelInstallFailed(f"{archive.name} is not a usable zip archive: {error}") from error
    for directory, _, _ in os.walk(root, topdown=False):
        fsync_dir(Path(directory))
    top = sorted(root.iterdir())
    if len(top) != 1 or not top[0].is_dir():
        names = ", ".join(p.name for p in top) or "nothing"
        raise ModelInstallFailed(f"{archive.name} must hold exactly one model folder, it holds: {names}")
    return top[0]


def _remove_leftovers(dest_dir: Path) -> None:
    """Delete temp files and dirs that an interrupted install left in `dest_dir`."""
    for leftover in dest_dir.glob(f"{TEMP_PREFIX}*"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()


def _swap_in(model: Path, final: Path, work: Path) -> None:
    """Rename `model` to `final`; an older install is first renamed into `work`, removed with it."""
    if final.exists() or final.is_symlink():
        os.rename(final, work / "previous")
    os.rename(model, final)
    fsync_dir(final.parent)


def install_model(
    model_path: Path,
    *,
    source_zip: Path | None = None,
    spec: ModelSpec = DEFAULT_MODEL,
    progress: Progress | None = None,
) -> Path:
    """Download (or take `source_zip`), verify, unpack and install the model as exactly `model_path` (where
    the device looks for it: `config.model_path`), whatever the archive's folder is called.

    Until the final rename nothing at that path changes; everything temporary lives in one dir named
    TEMP_PREFIX... beside it, removed on the way out or by the next install.
    """
    final = Path(model_path)
    if source_zip is not None and not Path(source_zip).is_file():  # said before anything is made beside the model
        why = "not a file" if Path(source_zip).exists() else "No such file"
        raise ModelInstallFailed(f"{source_zip}: {why}; give --from the downloaded model zip")
    dest_dir = private_dir(final.parent)
    with open(dest_dir / LOCK_NAME, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ModelInstallFailed(f"another model install is running in {dest_dir}") from None
        _remove_leftovers(dest_dir)
        work = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=dest_dir))
        try:
            archive = Path(source_zip) if source_zip is not None else _download(spec, work / "download.zip", progress)
            _verify(archive, spec)
            model = _extract(archive, work / "unpacked")
            missing = missing_model_part(model)
            if missing:
                raise ModelInstallFailed(f"{archive.name} has no Vosk model inside: {missing} in {model.name}/")
            _swap_in(model, final, work)
            return final
        except OSError as error:
            raise ModelInstallFailed(f"installing {spec.name} as {final} failed: {error}") from error
        finally:
            shutil.rmtree(work, ignore_errors=True)
