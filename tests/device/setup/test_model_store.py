"""The model store: checking a model dir, verified atomic installs from a zip or a local HTTP server."""

import fcntl
import hashlib
import http.server
import io
import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import zipfile
from pathlib import Path

import pytest

from audio.recognizer import check_model
from common.errors import ModelInstallFailed, ModelMissing
from device.setup.model_store import (
    DEFAULT_MODEL,
    LOCK_NAME,
    TEMP_PREFIX,
    ModelSpec,
    install_model,
    model_status,
    progress_printer,
)

NAME = "vosk-model-test-0.1"
LOOKAHEAD = ("am/final.mdl", "conf/mfcc.conf", "conf/model.conf", "graph/HCLr.fst", "graph/Gr.fst", "ivector/final.ie")


def model_entries(top: str = NAME, marker: bytes = b"v1", parts=LOOKAHEAD, padding: int = 0) -> dict[str, bytes]:
    """Zip entries of a tiny fake model; `padding` adds that many incompressible bytes."""
    entries = {f"{top}/{part}": marker + b" " + part.encode() for part in parts}
    if padding:
        entries[f"{top}/am/tree"] = os.urandom(padding)
    return entries


def write_zip(path: Path, entries: dict[str, bytes]) -> ModelSpec:
    """Write a zip of `entries` and return the spec that matches it exactly."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in entries.items():
            zipped.writestr(name, data)
    return spec_for(path.read_bytes())


def spec_for(data: bytes, url: str = "http://127.0.0.1:9/unused.zip") -> ModelSpec:
    return ModelSpec(name=NAME, url=url, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def make_model_dir(root: Path, parts) -> Path:
    for part in parts:
        (root / part).parent.mkdir(parents=True, exist_ok=True)
        (root / part).write_bytes(b"x")
    return root


def temp_leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.glob(f"{TEMP_PREFIX}*"))


@pytest.fixture
def dest(tmp_path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def good_zip(tmp_path) -> tuple[Path, ModelSpec]:
    path = tmp_path / "model.zip"
    return path, write_zip(path, model_entries())


@pytest.fixture
def server():
    """A local HTTP server: `server.files[path] = bytes`; anything else is 404."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            data = httpd.files.get(self.path)
            if data is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.files = {}
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_default_model_is_the_small_english_model():
    assert DEFAULT_MODEL.name == "vosk-model-small-en-us-0.15"
    assert DEFAULT_MODEL.url.endswith(f"/{DEFAULT_MODEL.name}.zip")
    assert (DEFAULT_MODEL.size, DEFAULT_MODEL.sha256[:8]) == (41_205_931, "30f26242")


# --- check_model -------------------------------------------------------------------------------


def test_check_model_accepts_the_real_korean_model(vosk_model):
    check_model(vosk_model)


def test_check_model_accepts_a_full_hclg_graph(tmp_path):
    check_model(make_model_dir(tmp_path / "m", ("am/final.mdl", "conf/mfcc.conf", "graph/HCLG.fst")))


@pytest.mark.parametrize(
    "parts, missing",
    [
        ((), "the folder does not exist"),
        (("conf/mfcc.conf", "graph/HCLG.fst"), "am/final.mdl is missing"),
        (("am/final.mdl", "graph/HCLG.fst"), "conf/mfcc.conf is missing"),
        (("am/final.mdl", "conf/mfcc.conf"), "no graph"),
        (("am/final.mdl", "conf/mfcc.conf", "graph/HCLr.fst"), "no graph"),
        (("am/final.mdl", "conf/mfcc.conf", "graph/Gr.fst"), "no graph"),
    ],
)
def test_check_model_refuses_an_incomplete_dir_and_names_the_fix(tmp_path, parts, missing):
    model = make_model_dir(tmp_path / "m", parts) if parts else tmp_path / "absent"
    with pytest.raises(ModelMissing) as caught:
        check_model(model)
    message = str(caught.value)
    assert message.startswith(f"No speech model at {model} ({missing}")
    assert "Install it with: reflect model install" in message and "--from FILE.zip" in message
    assert isinstance(caught.value, FileNotFoundError) and "\n" not in message


def test_model_status_reports_both_cases(dest, good_zip):
    path, spec = good_zip
    assert model_status(dest / NAME).startswith(f"Not installed: no speech model at {dest / NAME}")
    install_model(dest / NAME, source_zip=path, spec=spec)
    assert model_status(dest / NAME) == f"Installed at {dest / NAME} (0.0 MB on disk)."


# --- install from a local zip --------------------------------------------------------------------


def test_install_from_zip(dest, good_zip):
    path, spec = good_zip
    dest.mkdir(mode=0o755)
    installed = install_model(dest / NAME, source_zip=path, spec=spec)
    assert installed == dest / NAME
    check_model(installed)
    assert (installed / "am/final.mdl").read_bytes() == b"v1 am/final.mdl"
    assert sorted(p.name for p in dest.iterdir()) == sorted([NAME, LOCK_NAME])
    assert stat.S_IMODE(dest.stat().st_mode) == 0o700
    assert path.exists()


def test_install_puts_the_top_folder_at_the_model_path_whatever_its_name(dest, tmp_path):
    spec = write_zip(tmp_path / "m.zip", model_entries(top="some-other-name"))
    assert install_model(dest / NAME, source_zip=tmp_path / "m.zip", spec=spec) == dest / NAME
    check_model(dest / NAME)


def assert_nothing_installed(dest: Path) -> None:
    with pytest.raises(ModelMissing):
        check_model(dest / NAME)
    assert temp_leftovers(dest) == []


@pytest.mark.parametrize(
    "spoil, expected",
    [
        (lambda s: ModelSpec(s.name, s.url, s.size, "0" * 64), "checksum mismatch, expected SHA-256 0000"),
        (lambda s: ModelSpec(s.name, s.url, s.size + 1, s.sha256), "size mismatch, expected"),
    ],
    ids=["wrong checksum", "wrong size"],
)
def test_install_refuses_an_archive_that_does_not_match(dest, good_zip, spoil, expected):
    path, spec = good_zip
    with pytest.raises(ModelInstallFailed, match=expected) as caught:
        install_model(dest / NAME, source_zip=path, spec=spoil(spec))
    assert f"got {spec.sha256}" in str(caught.value) or f"got {spec.size}" in str(caught.value)
    assert_nothing_installed(dest)


def test_install_refuses_something_that_is_not_a_zip(dest, tmp_path):
    path = tmp_path / "model.zip"
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(ModelInstallFailed, match="model.zip is not a usable zip archive"):
        install_model(dest / NAME, source_zip=path, spec=spec_for(path.read_bytes()))
    assert_nothing_installed(dest)


@pytest.mark.parametrize("evil", ["../escaped.txt", f"{NAME}/../../escaped.txt", "/tmp/escaped.txt", "..\\escaped.txt"])
def test_install_refuses_path_traversal(dest, tmp_path, evil):
    path = tmp_path / "model.zip"
    spec = write_zip(path, {**model_entries(), evil: b"gotcha"})
    with pytest.raises(ModelInstallFailed, match="unsafe path in the model archive"):
        install_model(dest / NAME, source_zip=path, spec=spec)
    assert not (tmp_path / "escaped.txt").exists() and not (dest / "escaped.txt").exists()
    assert_nothing_installed(dest)


@pytest.mark.parametrize(
    "entries, expected",
    [
        (
            model_entries(parts=("conf/mfcc.conf", "graph/HCLG.fst")),
            "has no Vosk model inside: am/final.mdl is missing",
        ),
        ({**model_entries(), **model_entries(top="second")}, f"exactly one model folder, it holds: second, {NAME}"),
        ({"README": b"hi"}, "exactly one model folder, it holds: README"),
        ({}, "exactly one model folder, it holds: nothing"),
    ],
    ids=["incomplete model", "two folders", "loose file", "empty"],
)
def test_install_refuses_an_archive_without_one_model(dest, tmp_path, entries, expected):
    path = tmp_path / "model.zip"
    spec = write_zip(path, entries)
    with pytest.raises(ModelInstallFailed, match=expected):
        install_model(dest / NAME, source_zip=path, spec=spec)
    assert_nothing_installed(dest)


def test_missing_source_zip_is_an_install_failure(dest, tmp_path, good_zip):
    with pytest.raises(ModelInstallFailed, match="No such file"):
        install_model(dest / NAME, source_zip=tmp_path / "absent.zip", spec=good_zip[1])


# --- reinstall, leftovers, interruption ----------------------------------------------------------


def test_reinstall_replaces_the_older_model(dest, tmp_path, good_zip):
    install_model(dest / NAME, source_zip=good_zip[0], spec=good_zip[1])
    newer = tmp_path / "newer.zip"
    spec = write_zip(newer, model_entries(marker=b"v2", parts=("am/final.mdl", "conf/mfcc.conf", "graph/HCLG.fst")))
    install_model(dest / NAME, source_zip=newer, spec=spec)
    assert (dest / NAME / "am/final.mdl").read_bytes() == b"v2 am/final.mdl"
    assert not (dest / NAME / "graph/HCLr.fst").exists()
    assert sorted(p.name for p in dest.iterdir()) == sorted([NAME, LOCK_NAME])


def test_failed_reinstall_keeps_the_older_model(dest, good_zip):
    path, spec = good_zip
    install_model(dest / NAME, source_zip=path, spec=spec)
    with pytest.raises(ModelInstallFailed):
        install_model(dest / NAME, source_zip=path, spec=ModelSpec(spec.name, spec.url, spec.size, "f" * 64))
    assert (dest / NAME / "am/final.mdl").read_bytes() == b"v1 am/final.mdl"


def test_leftovers_of_an_interrupted_install_are_not_a_model_and_are_cleaned(dest, good_zip):
    # As if killed after the old model was renamed aside, before the new one was renamed in.
    work = dest / f"{TEMP_PREFIX}abc123"
    make_model_dir(work / "unpacked" / NAME, LOOKAHEAD)
    make_model_dir(work / "previous", LOOKAHEAD)
    (work / "download.zip").write_bytes(b"PK half")
    (dest / f"{TEMP_PREFIX}stray.zip").write_bytes(b"PK")
    with pytest.raises(ModelMissing):
        check_model(dest / NAME)
    install_model(dest / NAME, source_zip=good_zip[0], spec=good_zip[1])
    check_model(dest / NAME)
    assert temp_leftovers(dest) == []


def test_an_exception_mid_download_leaves_nothing_behind(dest, server, good_zip):
    path, spec = good_zip
    install_model(dest / NAME, source_zip=path, spec=spec)
    big_zip = dest.parent / "big.zip"
    big = write_zip(big_zip, model_entries(marker=b"v2", padding=300_000))
    server.files["/big.zip"] = big_zip.read_bytes()

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        install_model(
            dest / NAME, spec=ModelSpec(NAME, f"{server.url}/big.zip", big.size, big.sha256), progress=interrupt
        )
    assert (dest / NAME / "am/final.mdl").read_bytes() == b"v1 am/final.mdl"
    assert temp_leftovers(dest) == []


def test_kill_mid_download_then_a_clean_install(dest, server, tmp_path):
    path = tmp_path / "big.zip"
    spec = write_zip(path, model_entries(padding=400_000))
    server.files["/big.zip"] = path.read_bytes()
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from device.setup.model_store import ModelSpec, install_model

        def die_halfway(done, total):
            if done * 2 >= total:
                os.kill(os.getpid(), signal.SIGKILL)

        spec = ModelSpec({NAME!r}, {server.url + "/big.zip"!r}, {spec.size}, {spec.sha256!r})
        install_model(Path({str(dest / NAME)!r}), spec=spec, progress=die_halfway)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == -9, result.stderr.decode()
    assert len(temp_leftovers(dest)) == 1
    with pytest.raises(ModelMissing):
        check_model(dest / NAME)
    calls = []
    install_model(
        dest / NAME,
        spec=ModelSpec(NAME, f"{server.url}/big.zip", spec.size, spec.sha256),
        progress=lambda done, total: calls.append(done),
    )
    check_model(dest / NAME)
    assert temp_leftovers(dest) == [] and calls[-1] == spec.size


def test_a_concurrent_install_is_refused(dest, good_zip):
    dest.mkdir()
    with open(dest / LOCK_NAME, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ModelInstallFailed, match="another model install is running"):
            install_model(dest / NAME, source_zip=good_zip[0], spec=good_zip[1])
    install_model(dest / NAME, source_zip=good_zip[0], spec=good_zip[1])


# --- download over HTTP ---------------------------------------------------------------------------


def test_download_install_with_progress(dest, server, tmp_path):
    path = tmp_path / "served.zip"
    spec = write_zip(path, model_entries(padding=200_000))
    server.files["/models/m.zip"] = path.read_bytes()
    calls = []
    installed = install_model(
        dest / NAME,
        spec=ModelSpec(NAME, f"{server.url}/models/m.zip", spec.size, spec.sha256),
        progress=lambda done, total: calls.append((done, total)),
    )
    check_model(installed)
    assert len(calls) > 1
    assert [done for done, _ in calls] == sorted({done for done, _ in calls})
    assert calls[-1] == (spec.size, spec.size)
    assert temp_leftovers(dest) == []


@pytest.mark.parametrize("delta, expected", [(+10, "size mismatch, expected"), (-10, "expected .* bytes, got more")])
def test_download_of_the_wrong_length_is_refused(dest, server, good_zip, delta, expected):
    path, spec = good_zip
    server.files["/m.zip"] = path.read_bytes()
    with pytest.raises(ModelInstallFailed, match=expected):
        install_model(dest / NAME, spec=ModelSpec(NAME, f"{server.url}/m.zip", spec.size + delta, spec.sha256))
    assert_nothing_installed(dest)


def test_download_404(dest, server, good_zip):
    spec = good_zip[1]
    with pytest.raises(ModelInstallFailed, match=r"download of http://127\.0\.0\.1:\d+/absent.zip failed: HTTP 404"):
        install_model(dest / NAME, spec=ModelSpec(NAME, f"{server.url}/absent.zip", spec.size, spec.sha256))
    assert_nothing_installed(dest)


def test_download_connection_refused(dest, good_zip):
    spec = good_zip[1]
    with socket.socket() as closed:  # bound but never listening: connecting is refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/m.zip"
        with pytest.raises(ModelInstallFailed, match="cannot reach .*Connection refused.*--from FILE.zip") as caught:
            install_model(dest / NAME, spec=ModelSpec(NAME, url, spec.size, spec.sha256))
    assert "\n" not in str(caught.value)
    assert_nothing_installed(dest)


# --- progress bar --------------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_terminal_redraws_one_bar():
    out = FakeTerminal()
    show = progress_printer(out, width=10)
    for done in (0, 500_000, 500_001, 1_000_000):
        show(done, 1_000_000)
    frames = out.getvalue().split("\r")[1:]
    assert frames == [
        "[..........]   0% 0.0/1.0 MB",
        "[#####.....]  50% 0.5/1.0 MB",
        "[##########] 100% 1.0/1.0 MB\n",
    ]


def test_progress_elsewhere_prints_a_line_every_ten_percent():
    out = io.StringIO()
    show = progress_printer(out)
    for done in range(0, 1001, 5):
        show(done, 1000)
    lines = out.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[0] == "downloaded 0% (0.0/0.0 MB)" and lines[-1].startswith("downloaded 100%")


# --- where `reflect model install` puts it --------------------------------------------------------


@pytest.mark.parametrize("custom", [None, "my-model"], ids=["default path", "custom model.path"])
def test_reflect_model_install_puts_the_model_where_the_device_looks(tmp_path, good_zip, monkeypatch, capsys, custom):
    from device.setup.cli import _config, build_parser, cmd_model_install, cmd_model_status

    path, spec = good_zip
    default = ModelSpec(DEFAULT_MODEL.name, spec.url, spec.size, spec.sha256)  # the default model, from this zip
    monkeypatch.setitem(install_model.__kwdefaults__, "spec", default)
    argv = ["--data-dir", str(tmp_path / "data")] + (["--model", str(tmp_path / "models" / custom)] if custom else [])
    install = build_parser().parse_args(["model", "install", "--from", str(path), *argv])
    config = _config(install)
    assert cmd_model_install(install, config) == 0
    check_model(config.model_path)
    status = build_parser().parse_args(["model", "status", *argv])
    assert cmd_model_status(status, _config(status)) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"Installed at {config.model_path} (")
