"""A real session: PortAudio on the PulseAudio rig, real espeak-ng prompts, real Vosk, gpiozero's MockFactory button."""

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from audio.compress import decode
from audio.recognizer import load_model
from tests.rig import (
    ROOT,
    closest_direct_decode,
    korean_model,
    pass_on_stalls,
    read_int16,
    similarity,
)

pytestmark = pytest.mark.usefixtures("audio_rig")


@pytest.fixture(scope="module")
def finished_session(tmp_path_factory):
    """One whole session on the rig, run with no network at all (a fresh network namespace).

    Returns (session.json, its folder, the answer WAVs played, the model, the namespace's interfaces).
    """
    work = tmp_path_factory.mktemp("rig-session")
    result = subprocess.run(
        ["unshare", "--net", sys.executable, "-m", "tests.device.flow.rig_session_driver", str(work)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    pass_on_stalls(result.stderr)
    assert result.returncode == 0, result.stderr[-3000:]
    produced = json.loads(result.stdout.splitlines()[-1])
    folder = Path(produced["folder"])
    record = json.loads((folder / "session.json").read_text())
    wavs = [Path(w) if w else None for w in produced["wavs"]]
    return record, folder, wavs, load_model(korean_model()), produced["interfaces"]


def test_the_session_ran_with_no_network(finished_session):
    *_, interfaces = finished_session
    assert interfaces == ["lo"]


def test_every_answer_ends_the_way_the_person_ended_it(finished_session):
    record, *_ = finished_session
    assert record["status"] == "complete"
    assert [(a["status"], a["ended_by"]) for a in record["answers"]] == [
        ("answered", "press"),
        ("answered", "silence"),
        ("skipped", "no_speech"),
        ("answered", "press"),
    ]


def test_saved_audio_holds_what_was_played(finished_session):
    record, folder, wavs, *_ = finished_session
    for answer in record["answers"]:
        if answer["status"] != "answered":
            continue
        saved, rate = decode(folder / answer["audio"])
        played, played_rate = read_int16(wavs[answer["index"] - 1])
        assert len(saved) / rate == pytest.approx(answer["duration_s"], abs=0.02)
        assert abs(len(saved) / rate - len(played) / played_rate) <= 0.25, answer["index"]
        assert similarity(played, played_rate, saved, rate) >= 0.8, answer["index"]


def test_live_transcript_matches_a_direct_decode_of_the_saved_file(finished_session):
    """The live transcript against the direct decode whose chunks fall where the microphone's did (tests/rig.py):
    each answer may differ by half, which no transcript of other audio does, and all of them together by a
    quarter."""
    record, folder, _, model, _ = finished_session
    edits = words = 0
    for answer in record["answers"]:
        if answer["status"] != "answered":
            continue
        error_rate, direct = closest_direct_decode(model, *decode(folder / answer["audio"]), answer["transcript"])
        heard = len(direct.split())
        print(f"answer {answer['index']}: {error_rate:.2f} of {heard} words differ from the closest direct decode")
        assert error_rate <= 0.5, (direct, answer["transcript"])
        edits, words = edits + error_rate * heard, words + heard
        assert answer["words"] and all(
            0 <= w["start"] <= w["end"] <= answer["duration_s"] + 0.5 for w in answer["words"]
        )
    assert edits / words <= 0.25, (edits, words)


def test_notes_are_private_and_complete(finished_session):
    record, folder, *_ = finished_session
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["01.flac", "02.flac", "04.flac", "session.json", "transcript.md"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())
    markdown = (folder / "transcript.md").read_text()
    assert "*(skipped)*" in markdown and record["answers"][0]["transcript"] in markdown
