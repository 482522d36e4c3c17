"""The PortAudio speaker on the PulseAudio rig: queued clips follow each other without a gap; skip and stop."""

import threading

import numpy as np
import pytest

from audio.clips import Clip
from audio.speaker import SoundDeviceSpeaker
from tests.rig import SpeakerRecording

pytestmark = pytest.mark.usefixtures("audio_rig")

RATE = SpeakerRecording.RATE


def steady_tone(freq: float, seconds: float) -> Clip:
    """A sine at full steady level (no fades), so any silence between two clips shows in the recording."""
    t = np.arange(int(RATE * seconds)) / RATE
    return Clip((0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32), RATE)


def longest_silence(samples: np.ndarray) -> int:
    """The longest run of near-zero samples (a sine crosses zero for one sample at most)."""
    quiet = np.abs(samples.astype(np.int32)) < 200
    longest = run = 0
    for is_quiet in quiet:
        run = run + 1 if is_quiet else 0
        longest = max(longest, run)
    return longest


def running_speaker() -> SoundDeviceSpeaker:
    """A speaker whose stream is already running (a cold stream on the rig's null sink takes a moment to start)."""
    speaker = SoundDeviceSpeaker(rate=RATE)
    warm = threading.Event()
    speaker.play(Clip(np.zeros(RATE // 20, dtype=np.float32), RATE), warm.set)
    assert warm.wait(10), "the rig's speaker stream never started"
    return speaker


def sounding_part(samples: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) >= 200)
    return samples[loud[0] : loud[-1] + 1]


def test_a_queued_clip_follows_the_playing_one_without_a_gap():
    first, second = steady_tone(440, 0.4), steady_tone(660, 0.3)
    ended = []
    speaker = running_speaker()
    try:
        with SpeakerRecording() as recording:
            done = threading.Event()
            playing = speaker.play(first, lambda: ended.append("first"))
            queued = speaker.play_next(second, lambda: (ended.append("second"), done.set()))
            assert done.wait(5)
    finally:
        speaker.close()
    assert ended == ["first", "second"]
    assert queued.first_frame == playing.first_frame + len(first.samples)
    assert queued.first_sample_at >= playing.first_sample_at
    heard = sounding_part(recording.samples)
    assert abs(len(heard) - (len(first.samples) + len(second.samples))) <= RATE * 0.002
    assert longest_silence(heard) <= 2, "the second clip started after a silence"


def test_skip_ends_the_playing_clip_as_if_it_had_played_out_and_starts_the_queued_one():
    ended = []
    speaker = running_speaker()
    try:
        done = threading.Event()
        speaker.play(steady_tone(440, 5.0), lambda: ended.append("long"))
        queued = speaker.play_next(steady_tone(660, 0.2), lambda: (ended.append("short"), done.set()))
        speaker.skip()
        assert done.wait(2), "the queued clip did not play after a skip"
    finally:
        speaker.close()
    assert ended == ["long", "short"] and queued.first_sample_at is not None


def test_stop_silences_the_playing_clip_and_drops_the_queued_one():
    ended = []
    speaker = running_speaker()
    try:
        speaker.play(steady_tone(440, 5.0), lambda: ended.append("long"))
        queued = speaker.play_next(steady_tone(660, 0.1), lambda: ended.append("short"))
        speaker.stop()
        threading.Event().wait(0.5)
    finally:
        speaker.close()
    assert ended == [] and queued.first_sample_at is None


def test_a_gap_of_over_half_a_second_between_output_callbacks_is_logged_as_a_stall(caplog):
    """The rig's stall sign (tests/rig.py): a stream that stopped calling back, here held up by an on_done."""
    speaker = running_speaker()
    held_up = threading.Event()
    try:
        with caplog.at_level("WARNING", logger="audio.speaker"):
            speaker.play(steady_tone(440, 0.05), lambda: (held_up.wait(0.8), None))
            speaker.play_next(steady_tone(440, 0.05), held_up.set)
            assert held_up.wait(5)
    finally:
        speaker.close()
    assert any("audio output stalled" in message for message in caplog.messages), caplog.messages
