"""`reflect demo` as a person runs it: a subprocess, checked through the session.json it prints and saves."""

import json
import subprocess
import sys

from audio.compress import decode
from tests.rig import pass_on_stalls

ANSWERS = [
    "안녕하세요 오늘은 날씨가 정말 좋습니다",
    "저는 학교에 갑니다 그리고 친구를 만납니다",
    "조금 어색하지만 괜찮습니다",
]


def test_reflect_demo_runs_a_whole_session_and_prints_its_json(tmp_path, vosk_model):
    args = [
        sys.executable,
        "-m",
        "device.setup.cli",
        "demo",
        "--data-dir",
        str(tmp_path / "data"),
        "--model",
        str(vosk_model),
        "--answer-voice",
        "ko",
        "--json",
    ]
    for answer in ANSWERS:
        args += ["--answer", answer]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    pass_on_stalls(result.stderr)
    assert result.returncode == 0, result.stderr[-2000:]
    printed = json.loads(result.stdout)
    folder = tmp_path / "data" / "sessions" / printed["id"]
    assert json.loads((folder / "session.json").read_text()) == printed
    assert printed["status"] == "complete"
    assert [(a["status"], a["ended_by"]) for a in printed["answers"]] == [
        ("answered", "press"),
        ("answered", "silence"),
        ("skipped", "no_speech"),
        ("answered", "press"),
    ]
    for answer in printed["answers"]:
        if answer["status"] == "answered":
            samples, rate = decode(folder / answer["audio"])
            assert len(samples) / rate > 0.5
            assert answer["transcript"] and answer["words"]
    assert "[" in result.stderr and "listening" in result.stderr  # the timeline went to stderr


def test_reflect_demo_without_a_model_says_how_to_install_one(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "device.setup.cli", "demo", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "reflect model install" in result.stderr
