"""The device on an emulated Pi 4: the real install.sh offline, then a whole session through the real service on
real ALSA devices, checked from outside afterwards. Needs root and qemu (`make twin`); never skipped."""

import json
import subprocess
import sys
import time

import pytest
import soundfile

from audio.recognizer import load_model
from tests.rig import ROOT, closest_direct_decode, korean_model, read_int16, speech_span_s, word_error_rate
from tests.twin import device

pytestmark = pytest.mark.twin
DECODE_SCRIPT = ROOT / "tests" / "twin" / "guest" / "decode.py"


def test_install_sh_on_arm64_installs_what_vosk_needs(installed):
    twin, output, _ = installed
    assert "libatomic1" in output, output
    assert twin.run("uname -m").strip() == "aarch64"
    twin.run("/opt/reflect/venv/bin/python -c 'import vosk'")


@pytest.fixture(scope="module")
def alsa_session(installed, answers, tmp_path_factory):
    """A whole two-answer session through the service on real ALSA, its notes fetched to the host, and its saved
    answers decoded inside the twin by the arm64 Vosk: (session record, saved audio files, the decode inside)."""
    twin, _, _ = installed
    started = time.monotonic()
    twin.run(f"{device.REFLECT} press")
    for number in (1, 2):
        device.wait_status(twin, rf"^listening: question {number}$", timeout=300)
        device.say(twin, number)
    device.wait_status(twin, r"^ready: session .* saved", timeout=300)
    session_s = time.monotonic() - started
    device.wait_for_transcripts(twin)
    print(f"\ntwin session: {session_s:.0f} s, transcripts after {time.monotonic() - started:.0f} s")

    folder = device.fetch_notes(twin, tmp_path_factory.mktemp("notes"))
    (name,) = [p.name for p in folder.iterdir()]
    session = json.loads((folder / name / "session.json").read_text())
    assert [a["status"] for a in session["answers"]] == ["answered", "answered"], session["answers"]
    files = [folder / name / a["audio"] for a in session["answers"]]
    inside = device.decode_inside(twin, files)
    print_arm64_figures(inside)
    return session, files, inside


def test_a_whole_session_on_real_alsa_is_kept_as_said(alsa_session, answers):
    """The saved answers are what the twin's recognizer heard: its live transcript against the closest of the
    direct decodes tests/rig.py tries (the same model on this x86; that arm64 decodes as x86 does is the next
    test's)."""
    session, files, _ = alsa_session
    assert session["status"] == "complete"
    model = load_model(korean_model())
    for answer, path, source in zip(session["answers"], files, answers[:2], strict=True):
        samples, rate = soundfile.read(path, dtype="int16")
        spoken, spoken_rate = read_int16(source)
        assert rate in (44100, 48000), "the microphone opened at a rate a USB microphone offers"
        assert abs(speech_span_s(samples, rate) - speech_span_s(spoken, spoken_rate)) < 0.5
        assert answer["transcript"].strip(), "the twin's recognizer heard words"
        error_rate, direct = closest_direct_decode(model, samples, rate, answer["transcript"])
        assert error_rate <= 0.5, (direct, answer["transcript"])


def print_arm64_figures(inside: dict) -> None:
    """The arm64 recognizer's figures in the twin, for bench/TWIN.md (emulated: TCG is not a Pi's speed)."""
    fed = sum(f["fed_s"] for f in inside["files"])
    decode = sum(f["decode_s"] for f in inside["files"])
    print(
        f"\narm64 under TCG: model load {inside['load_s']:.1f} s, decode real-time factor {decode / fed:.2f} "
        f"({fed:.1f} s of audio in {decode:.1f} s)"
    )


def test_an_unset_clock_is_reported_and_its_dates_marked(installed, alsa_session):
    """The twin, like an offline Pi 4, starts from the last saved time: nothing says its clock is right."""
    twin, _, _ = installed
    (session,) = device.sessions(twin).values()
    assert session["clock"]["trusted"] is False, session["clock"]
    doctor = twin.run(f"{device.REFLECT} doctor --data-dir {device.STATE}", check=False)
    assert any(line.startswith("WARN") and "clock" in line for line in doctor.splitlines()), doctor
    notes = twin.run(f"{device.REFLECT} notes --data-dir {device.STATE}")
    assert "about" in notes, notes


def test_the_recognizer_on_arm64_hears_what_it_hears_on_x86(alsa_session):
    """The aarch64 Vosk in the twin decodes the session's saved answers as the x86 one does here, each fed the same
    way (tests/twin/guest/decode.py on both); the twin's load time and real-time factor are printed above for
    bench/TWIN.md (emulated figures: TCG is not a Pi's speed).

    Here too the decode runs in a process of its own, as in the twin: what Vosk makes of audio it barely hears moves
    with every decode a process has made before, a new model or not (tests/rig.ALIGNMENTS). Decoded inside this
    test's process, after the session's other decodes, one answer once came out 4 words of 10 apart."""
    _, files, inside = alsa_session
    here = json.loads(
        subprocess.run(
            [
                sys.executable,
                str(DECODE_SCRIPT),
                str(korean_model()),
                str(device.SILENCE_AFTER_SPEECH_S),
                *map(str, files),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout
    )
    for arm, x86 in zip(inside["files"], here["files"], strict=True):
        assert arm["text"].strip() and word_error_rate(x86["text"], arm["text"]) <= 0.25, (x86["text"], arm["text"])
