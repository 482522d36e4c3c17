"""`reflect demo`: a whole session with no hardware: a simulated button, a synthesized person, the real recognizer."""

import json
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from audio.clips import read_wav
from audio.simulated_microphone import SimulatedMicrophone
from common.errors import ReflectError, SynthesisFailed
from device.config import Config
from device.flow.button import ButtonGestures
from device.flow.events import Event
from device.flow.service import ServiceLoop
from device.notes import record
from device.notes.owner import own
from device.setup.simulated_person import DEFAULT_PLAN, Ending, SimulatedPerson
from device.setup.wiring import build_device

DEMO_LISTENING = {"silence_after_speech_s": 2.5, "no_speech_s": 5.0}
"""Shorter waits than a real session's, so the demo shows every ending in about a minute."""
DEMO_MIC_RATE = 16000
PRESS_S = 0.1
NO_SPEAKER = "the demo runs without a speaker, in silence (each thing the device says still takes its time)"
STOCK_ANSWER = "This is a simulated answer."


def answer_script(
    questions: int, answers: Sequence[str], sample_answers: Sequence[str], plan: Sequence[Ending] = DEFAULT_PLAN
) -> dict[int, str]:
    """What the simulated person says to each question it answers, by question number; it lets the others
    pass in silence (skipped).

    The plan says which questions it would answer (DEFAULT_PLAN: every one but the third). Answers given
    (`--answer`) go, in order, to those questions; with fewer answers than that, the rest are skipped, and
    answers left over are not said. Without any, the pack's sample answers are used, one per question as
    the pack lists them, or a stock sentence when the pack has none."""
    answering = [q for q in range(1, questions + 1) if plan[(q - 1) % len(plan)] is not Ending.SKIP]
    if answers:
        return dict(zip(answering, answers))
    if sample_answers:
        return {q: sample_answers[q - 1] for q in answering if q <= len(sample_answers)}
    return {q: STOCK_ANSWER for q in answering}


def synthesize_answer(text: str, voice: str, rate: int) -> np.ndarray:
    """An answer spoken by espeak-ng (the simulated person's own voice), as int16 at `rate`."""
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "answer.wav"
        try:
            subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as error:
            raise SynthesisFailed(f"espeak-ng could not speak the demo answer in voice {voice!r}: {error}") from None
        clip = read_wav(wav).at_rate(rate)
    return (np.clip(clip.samples, -1, 1) * 32767).astype(np.int16)


@dataclass
class Timeline:
    """Prints what happens, with seconds since the demo began."""

    out: TextIO
    started: float = field(default_factory=time.monotonic)

    def say(self, what: str, detail: str = "") -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {what:<10} {detail}", file=self.out, flush=True)

    def on_event(self, event: Event) -> None:
        self.say(event.phase.value, event.detail)


class MockButton:
    """The configured button on gpiozero's MockFactory, pressed and held by code."""

    def __init__(self, config: Config, on_gesture, announce: Callable[[str], None] = lambda what: None):
        from gpiozero.pins.mock import MockFactory

        self.factory = MockFactory()
        self.hold_s = config.button.hold_s
        self.gestures = ButtonGestures(
            config.button.pin,
            self.hold_s,
            on_gesture,
            pin_factory=self.factory,
            double_press_s=config.button.double_press_s,
        )
        self.pin = self.factory.pin(config.button.pin)
        self.announce = announce

    def _push(self, seconds: float, what: str) -> None:
        self.announce(what)
        self.pin.drive_low()
        time.sleep(seconds)
        self.pin.drive_high()

    def press(self) -> None:
        self._push(PRESS_S, "press")

    def double_press(self) -> None:
        self._push(PRESS_S, "press")
        time.sleep(PRESS_S)
        self._push(PRESS_S, "double press")

    def hold(self) -> None:
        self._push(self.hold_s + 0.3, "hold")

    def close(self) -> None:
        self.gestures.close()
        self.factory.reset()


def run_demo(config: Config, answers: list[str], answer_voice: str | None, out: TextIO) -> tuple[dict, dict[int, str]]:
    """Run one simulated session end to end; returns the saved session.json and what the person said, by question."""
    config = config.replace("listening", **DEMO_LISTENING)
    timeline = Timeline(out)
    microphone = SimulatedMicrophone(DEMO_MIC_RATE, config.audio.chunk_s)
    device = build_device(config, open_microphone=lambda: microphone, without_speaker=NO_SPEAKER)
    questions = len(device.pack.questions)
    script = answer_script(questions, answers, device.pack.sample_answers)
    if len(answers) > len(script):
        timeline.say(
            "person",
            f"has {len(answers)} answers for the {len(script)} questions it answers; the last "
            f"{len(answers) - len(script)} go unsaid",
        )
    voice = answer_voice or device.pack.language
    spoken = {question: synthesize_answer(text, voice, microphone.rate) for question, text in script.items()}
    plan = [DEFAULT_PLAN[(q - 1) % len(DEFAULT_PLAN)] if q in script else Ending.SKIP for q in range(1, questions + 1)]
    button = MockButton(config, device.parts.inbox.put, lambda what: timeline.say("button", what))

    def speak(question: int) -> None:
        samples = spoken[question]
        timeline.say("person", f"answers question {question} ({len(samples) / microphone.rate:.1f} s of speech)")
        microphone.speak(samples)

    person = SimulatedPerson(speak, button.press, button.hold, plan)

    def on_event(event: Event) -> None:
        timeline.on_event(event)
        person.on_event(event)

    device.parts.on_event = on_event
    loop = ServiceLoop(device, config.data_dir, replay=lambda: None)
    try:
        button.press()
        notes = loop.handle(device.parts.inbox.get())
        timeline.say("waiting", "for the last transcripts")
        device.parts.worker.drain()
    finally:
        person.close()
        button.close()
        device.close()
    if notes is None:
        raise ReflectError("the demo session could not start; see the messages above")
    return record.read(notes.folder), script


def print_summary(session: dict, said: dict[int, str], out: TextIO) -> None:
    """Each answer as saved, what the simulated person said beside what the recognizer heard."""
    print(
        f"\nSaved session {session['id']} ({session['status']}{', sealed' if record.is_sealed(session) else ''}):",
        file=out,
    )
    for answer in session["answers"]:
        print(f"  {answer['index']}. {answer['question']}", file=out)
        if answer["status"] == "skipped":
            print(f"     skipped ({answer['ended_by']})", file=out)
        else:
            heard = "(sealed)" if record.is_sealed(session) else answer["transcript"] or "(nothing recognized)"
            print(f"     {answer['duration_s']:.1f} s, ended by {answer['ended_by']}", file=out)
            print(f"     said:  {said.get(answer['index'], '(nothing)')}", file=out)
            print(f"     heard: {heard}", file=out)


def main(config: Config, answers: list[str], answer_voice: str | None, as_json: bool) -> int:
    out = sys.stderr if as_json else sys.stdout
    logging.getLogger().setLevel(logging.WARNING)  # the timeline tells the story
    with own(config.data_dir, "demo"):
        record, said = run_demo(config, answers, answer_voice, out)
    print_summary(record, said, out)
    if as_json:
        print(json.dumps(record, indent=2, ensure_ascii=False))
    return 0
