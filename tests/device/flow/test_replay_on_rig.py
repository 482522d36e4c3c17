"""Replay with the button on the PulseAudio rig: each question is spoken, then the person's own recording plays."""

import os
import subprocess
import sys

import numpy as np

from audio.fakes import FakeRecognizer
from audio.recognizer import Transcript
from audio.speaker import SoundDeviceSpeaker
from audio.synthesis import PromptCache
from audio.wavfile import WavWriter
from audio.worker import Worker
from bench.archive_factory import espeak_samples
from content.packs import find_pack
from device.config import load_config
from device.flow.gestures import Gesture
from device.flow.inbox import Inbox
from device.flow.parts import SessionParts
from device.flow.player import Player
from device.flow.replay import Replay
from device.flow.service import Device, ServiceLoop
from device.flow.session import SessionSettings
from device.notes.archive import Archive
from device.notes.session_notes import SessionNotes
from device.setup.demo import MockButton
from tests.rig import ROOT, SpeakerRecording, locate, pass_on_stalls

RATE = 44100
ANSWERS = ["I feel safe with her in a way I rarely do.", "", "Warmth still makes me want to look away."]


def saved_session(data_dir, pack) -> list[np.ndarray | None]:
    """A session written the way the device writes one; returns each answer's samples."""
    notes = SessionNotes.begin(data_dir, pack, RATE)
    recorded = []
    for index, text in enumerate(ANSWERS, start=1):
        if not text:
            notes.add_answer(index, None, 0.0, "skipped", "no_speech")
            recorded.append(None)
            continue
        samples = espeak_samples(text, RATE, "en")
        writer = WavWriter(notes.audio_path(index), RATE)
        writer.write(samples)
        writer.finish()
        notes.add_answer(index, notes.audio_path(index).name, len(samples) / RATE, "answered", "press")
        notes.set_transcript(index, Transcript(text, ()))
        recorded.append(samples)
    notes.finish("ended_early")
    return recorded


def test_an_idle_hold_replays_each_question_then_its_recording(tmp_path, audio_rig):
    config = load_config(env={}, overrides={"storage": {"data_dir": str(tmp_path / "data")}, "button": {"hold_s": 0.5}})
    pack = find_pack("therapy-relationship")
    recorded = saved_session(config.data_dir, pack)
    speaker = SoundDeviceSpeaker()
    prompts = PromptCache(tmp_path / "cache")
    inbox = Inbox()
    parts = SessionParts(speaker, lambda: None, prompts, Worker(FakeRecognizer), inbox)
    replay = Replay(Archive(config.data_dir), Player(speaker, prompts, inbox))
    loop = ServiceLoop(Device(pack, parts, SessionSettings(), model=None), config.data_dir, replay.latest)
    button = MockButton(config, inbox.put)
    try:
        prompts.render_all(pack.questions)
        button.hold()
        gesture = inbox.get(timeout=5)
        assert gesture.gesture is Gesture.HOLD
        with SpeakerRecording() as recording:
            loop.handle(gesture)
    finally:
        button.close()
        parts.worker.close()
        speaker.close()

    heard = recording.samples
    last = 0.0
    for index, samples in enumerate(recorded, start=1):
        question = prompts.clip(pack.questions[index - 1])
        q_at, q_match = locate((question.samples * 32767).astype(np.int16), question.rate, heard, recording.RATE)
        assert q_match >= 0.8 and q_at >= last, (index, q_at, q_match)
        last = q_at + question.duration_s - 0.1
        if samples is None:
            continue
        a_at, a_match = locate(samples, RATE, heard, recording.RATE)
        assert a_match >= 0.8 and a_at >= last, (index, a_at, a_match)
        last = a_at + len(samples) / RATE - 0.1


def test_reflect_play_plays_one_answer_without_its_question(tmp_path, audio_rig):
    pack = find_pack("therapy-relationship")
    recorded = saved_session(tmp_path / "data", pack)
    command = [
        sys.executable,
        "-m",
        "device.setup.cli",
        "play",
        "latest",
        "3",
        "--no-question",
        "--data-dir",
        str(tmp_path / "data"),
    ]
    with SpeakerRecording() as recording:
        result = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        )
    pass_on_stalls(result.stderr)
    assert result.returncode == 0, result.stderr
    assert locate(recorded[2], RATE, recording.samples, recording.RATE)[1] >= 0.8
    question = PromptCache(tmp_path / "cache").clip(pack.questions[2])
    assert (
        locate((question.samples * 32767).astype(np.int16), question.rate, recording.samples, recording.RATE)[1] < 0.5
    )
