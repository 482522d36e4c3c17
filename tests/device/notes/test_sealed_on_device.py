"""Sealed notes on the device: `play` says once that the session is sealed and stops; `export` without the
owner's key refuses in one line with the fix."""

import numpy as np
import pytest

from audio.fakes import FakeSpeaker
from audio.synthesis import PromptCache
from content.phrases import PHRASES
from device.config import load_config
from device.notes.sealing import seal_due
from device.setup import cli, runner
from device.setup.wiring import load_pack
from tests.device.notes.sealing_support import LATER, compressed_session, owner_of
from tests.faults.support import census


@pytest.fixture
def sealed(tmp_path, key, monkeypatch):  # noqa: F811 - the fixture imported above
    """A data dir with one sealed session, and a home whose prompt cache is the test's."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    data = tmp_path / "data"
    folder = compressed_session(data)
    seal_due(data, owner_of(key), 0, now=LATER)
    return data, folder.name


def test_play_on_a_sealed_session_says_once_that_it_is_sealed_and_stops(sealed, monkeypatch, capsys):
    data, session = sealed
    speaker = FakeSpeaker()
    monkeypatch.setattr(runner, "open_speaker", lambda config: speaker)
    assert cli.main(["play", "latest", "--data-dir", str(data)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"reflect: session {session} is sealed") and "reflect open" in err
    config = load_config(overrides={"storage": {"data_dir": str(data)}})
    pack = load_pack(config)
    said = PromptCache(config.cache_dir / "prompts", pack.voice, pack.rate).clip(PHRASES.notes_sealed, speaker.rate)
    assert len(speaker.played) == 1 and np.array_equal(speaker.played[0].samples, said.samples)


def test_export_of_sealed_notes_without_the_key_refuses_in_one_line_and_writes_nothing(sealed, tmp_path, capsys):
    data, session = sealed
    before = census(data)
    for which in (["latest"], ["--all"]):
        assert cli.main(["export", *which, "--out", str(tmp_path / "pages"), "--data-dir", str(data)]) == 2
        out, err = capsys.readouterr()
        assert (out, err) == (
            "",
            f"reflect: session {session} is sealed; export with --identity YOUR-KEY to open them first\n",
        )
    assert not (tmp_path / "pages").exists()
    assert {k: v for k, v in census(data).items() if not k.startswith("index")} == {
        k: v for k, v in before.items() if not k.startswith("index")
    }
