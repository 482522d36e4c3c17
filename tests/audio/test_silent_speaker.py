"""The silent stand-in speaker keeps real time: queued clips in turn, skip and stop like the PortAudio one."""

import threading
import time

import numpy as np

from audio.clips import Clip
from audio.speaker import SilentSpeaker

RATE = 1000


def clip(seconds: float) -> Clip:
    return Clip(np.zeros(int(RATE * seconds), dtype=np.float32), RATE)


def test_queued_clips_end_in_turn_each_after_its_own_duration():
    speaker = SilentSpeaker(RATE)
    ended: list[tuple[str, float]] = []
    done = threading.Event()
    started = time.monotonic()
    speaker.play(clip(0.1), lambda: ended.append(("first", time.monotonic() - started)))
    speaker.play_next(clip(0.1), lambda: (ended.append(("second", time.monotonic() - started)), done.set()))
    assert done.wait(2)
    assert [name for name, _ in ended] == ["first", "second"]
    assert 0.09 <= ended[0][1] < 0.19 and 0.19 <= ended[1][1] < 0.35


def test_skip_ends_the_current_clip_now_and_starts_the_next():
    speaker = SilentSpeaker(RATE)
    ended = []
    done = threading.Event()
    speaker.play(clip(5.0), lambda: ended.append("long"))
    speaker.play_next(clip(0.05), lambda: (ended.append("short"), done.set()))
    speaker.skip()
    assert ended == ["long"]
    assert done.wait(1) and ended == ["long", "short"]


def test_stop_and_a_new_play_drop_whatever_was_queued():
    speaker = SilentSpeaker(RATE)
    ended = []
    speaker.play(clip(0.05), lambda: ended.append("stopped"))
    speaker.play_next(clip(0.05), lambda: ended.append("dropped by stop"))
    speaker.stop()
    speaker.play(clip(0.05), lambda: ended.append("replaced"))
    speaker.play_next(clip(0.05), lambda: ended.append("dropped by play"))
    done = threading.Event()
    speaker.play(clip(0.3), lambda: (ended.append("last"), done.set()))  # ends well after any dropped clip would
    assert done.wait(2)
    assert ended == ["last"]
