"""The speech model loads only when something needs it (recovery: an answer without its transcript) or the device
starts, and nothing exits while Kaldi is still loading on another thread (issue 19: `reflect recover` ended in
SIGSEGV, exit 139, in 2 of 16 runs)."""

import os
import shutil
import subprocess
import sys
import threading
from datetime import datetime, timezone

import pytest

from audio import recognizer
from audio.fakes import FakeRecognizer, FakeSpeaker
from bench.archive_factory import write_session
from device.config import load_config
from device.notes import recovery
from device.setup import cli
from device.setup.wiring import build_device
from tests.faults.recovery_support import RATE, ROOT, begin, finished, speech

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
LENGTHS = (1, 2, 3, 4, 5, 6, 7, 8) * 2
"""Three words per unit: answers of 2 to 12.5 s to compress, so recovery ends at many moments of the model's load
(where it ends inside the load, the interpreter used to exit under it)."""
EXITS_AT_ONCE = """
import sys, time
from audio import recognizer

def slow_load(path):
    time.sleep(0.5)
    print("loaded", flush=True)

recognizer.load_model = slow_load
recognizer.ModelLoader(sys.argv[1]).start()
"""


def looks_like_a_model(folder):
    """A folder that passes the model check (nothing can load it)."""
    for part in ("am/final.mdl", "conf/mfcc.conf", "graph/HCLG.fst"):
        (folder / part).parent.mkdir(parents=True, exist_ok=True)
        (folder / part).write_bytes(b"")
    return folder


def config_for(tmp_path, data):
    """The settings from nothing but these folders, with a model that looks whole."""
    return load_config(
        env={},
        overrides={
            "storage": {"data_dir": str(data), "cache_dir": str(tmp_path / "cache")},
            "model": {"path": str(looks_like_a_model(tmp_path / "model"))},
        },
    )


def loads_recorded(monkeypatch, model="the model") -> list:
    """Every model load from now on (each returns `model`)."""
    loads = []
    monkeypatch.setattr(recognizer, "load_model", lambda path: loads.append(path) or model)
    return loads


def join_loaders() -> None:
    for thread in threading.enumerate():
        if thread.name == "model-loader":
            thread.join()


def test_reflect_recover_loads_no_model_when_no_answer_needs_a_transcript(tmp_path, monkeypatch):
    loads = loads_recorded(monkeypatch)
    data = tmp_path / "data"
    write_session(data, T0, [["calm"], None], rate=8000)
    assert cli.cmd_recover(None, config_for(tmp_path, data)) == 0
    join_loaders()
    assert loads == []


def test_reflect_recover_loads_the_model_once_for_the_answers_that_need_it(tmp_path, monkeypatch):
    loads = loads_recorded(monkeypatch)
    made = []
    monkeypatch.setattr(recovery, "AnswerRecognizer", lambda model, rate: made.append(model) or FakeRecognizer(rate))
    data = tmp_path / "data"
    notes = begin(data, tmp_path)
    finished(notes, 1, speech(0.5))
    finished(notes, 2, speech(0.5, 1))
    notes.finish("complete")
    config = config_for(tmp_path, data)
    assert cli.cmd_recover(None, config) == 0
    assert loads == [config.model_path] and made == ["the model", "the model"]


def test_a_loader_loads_once_whatever_asks_and_hands_a_failure_to_every_caller(tmp_path, monkeypatch):
    loads = loads_recorded(monkeypatch)
    loader = recognizer.ModelLoader(tmp_path)
    join_loaders()
    assert loads == []
    assert loader.start() is loader and loader.start() is loader
    assert loader.get() == "the model" and loader.get() == "the model" and loads == [tmp_path]

    def broken(path):
        raise recognizer.ModelMissing("no model here")

    monkeypatch.setattr(recognizer, "load_model", broken)
    failing = recognizer.ModelLoader(tmp_path)
    for _ in range(2):  # to whoever asks
        with pytest.raises(recognizer.ModelMissing, match="no model here"):
            failing.get()


def test_the_device_starts_loading_the_model_as_it_is_built_so_a_press_never_waits(tmp_path, monkeypatch):
    loads = loads_recorded(monkeypatch)
    config = config_for(tmp_path, tmp_path / "data")
    build_device(config, speaker=FakeSpeaker(), open_microphone=lambda: None).close()
    join_loaders()
    assert loads == [config.model_path]


def test_a_process_never_exits_beneath_a_model_load(tmp_path):
    """However a command ends (`reflect session` refused the button, a demo over at once), it waits for the load."""
    done = subprocess.run(
        [sys.executable, "-c", EXITS_AT_ONCE, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout) == (0, "loaded\n"), done.stderr[-2000:]


def test_reflect_recover_with_the_real_model_always_exits_cleanly(tmp_path, vosk_model):
    """A real process each time, on notes that need compressing but no transcript."""
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config")}
    runs = []
    for length in LENGTHS:
        data = tmp_path / "data"
        write_session(data, T0, [["word"] * 3 * length] * 2, rate=RATE)
        done = subprocess.run(
            [sys.executable, "-m", "device.setup.cli", "recover", "--data-dir", str(data), "--model", str(vosk_model)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        runs.append((done.returncode, done.stdout))
        shutil.rmtree(data)
    codes = [code for code, _ in runs]
    print(f"\nreflect recover with the real model, {len(codes)} runs: exit codes {codes}")
    assert codes == [0] * len(LENGTHS)
    assert {out for _, out in runs} == {"recovery: 2 compressed\n"}
