"""Keeps `python -m bench` working: one quick run on the rig, checked for a complete report (never for its times)."""

import json
import math
import re
import subprocess
import sys

import pytest

from tests.rig import ROOT, STALL_SIGN, pass_on_stalls

pytestmark = [pytest.mark.slow, pytest.mark.root, pytest.mark.usefixtures("audio_rig")]  # root: a cgroup-v1 quota


ROWS = (
    "first sample of the session's first sound",
    "first sample of question 1",
    "Press ending an answer",
    "transcript final and notes saved",
    "CPU s per s of answer audio",
    "Peak resident memory",
    "ready for a press",
    "transcript lag at the end of a session",
    "model loaded",
    "Storage per minute of speech, as a session leaves it on disk",
    "Storage per minute of speech after",
    "list (new Archive, index built), 1,000 answers",
    "search two words, 10,000 answers",
    "Sealing a finished session to the owner's age key",
    "Stored size of a session sealed",
)


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "REPORT.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    pass_on_stalls(done.stderr)
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    underruns = re.search(r"ALSA underruns reported during the sessions, per run: ([\d, ]+)", text)
    pass_on_stalls(f"bench sessions: {STALL_SIGN}\n" * sum(int(n) for n in underruns.group(1).split(", ")))
    return text, json.loads(out.with_suffix(".json").read_text())


def test_every_figure_is_measured_beside_its_target(quick_report):
    text, figures = quick_report
    rows = figures["free"]
    for wanted in ROWS:
        matching = [row for row in rows if wanted in row["figure"]]
        assert matching, f"no row for {wanted!r}"
        for row in matching:
            assert math.isfinite(row["value"]) and row["value"] >= 0, row
            assert row["target"], row
            assert row["figure"] in text
    assert "| figure | project (median) | reference, same runs (median) | target | result |" in text


def test_the_report_names_the_machine_versions_and_command(quick_report):
    text, _ = quick_report
    for wanted in (
        "python -m bench --quick",
        "logical CPUs",
        "vosk 0.3.45",
        "numpy",
        "PortAudio",
        "eSpeak NG",
        "## How each figure is measured",
    ):
        assert wanted in text, wanted


def test_the_references_are_measured_in_the_same_run(quick_report):
    _, figures = quick_report
    rows = {row["figure"]: row for row in figures["free"]}
    end = next(row for name, row in rows.items() if "transcript final" in name)
    assert "bare Vosk fed the same chunks" in end["reference"] and "FinalResult()" in end["reference"]
    cpu = next(row for name, row in rows.items() if "CPU s per s" in name)
    assert "bare AcceptWaveform" in cpu["reference"]
    assert "recognizer" in cpu["detail"] and "speaker's threads, left out" in cpu["detail"]
    memory = next(row for name, row in rows.items() if "Peak resident memory" in name)
    assert "bare vosk.Model()" in memory["reference"]
    sealing = next(row for name, row in rows.items() if name.startswith("Sealing a finished session"))
    assert "bare pyrage.encrypt" in sealing["reference"]
