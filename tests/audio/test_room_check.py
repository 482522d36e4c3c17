"""The room check of `reflect doctor` and the service's start: the floor it measures and what it says of it."""

import threading
import time

import numpy as np
import pytest

from audio.fakes import ScriptedMicrophone, silence
from audio.room_check import listen, measure, noise_floor_dbfs, verdict
from bench.room_sounds import as_int16, at_rms_dbfs, pink_noise

RATE = 16000


@pytest.mark.parametrize("dbfs", [-60, -44, -35])
def test_the_floor_of_steady_noise_is_a_little_below_its_rms_level(dbfs):
    floor = noise_floor_dbfs(as_int16(at_rms_dbfs(pink_noise(3, RATE), dbfs)), RATE)
    assert dbfs - 4 < floor < dbfs


def test_speech_in_a_quiet_room_leaves_the_floor_at_the_room():
    room = at_rms_dbfs(pink_noise(3, RATE), -55)
    room[RATE : 2 * RATE] += 8000 * np.sin(2 * np.pi * 200 * np.arange(RATE) / RATE)
    assert noise_floor_dbfs(as_int16(room), RATE) < -50


def test_the_verdict_warns_with_the_fix_beyond_what_detection_handles_and_when_the_mic_hears_nothing():
    assert verdict(-50.0) == ("OK", "room noise floor -50 dBFS (detection handles up to -35)")
    assert verdict(-35.0)[0] == "OK" and verdict(-80.0)[0] == "OK"
    loud, quiet = verdict(-34.0), verdict(-80.5)
    assert loud[0] == "WARN" and "-34 dBFS" in loud[1] and "away from the fan" in loud[1]
    assert quiet[0] == "WARN" and "not muted" in quiet[1]


def test_listen_takes_just_the_seconds_asked_and_says_when_the_microphone_fails():
    heard = listen(ScriptedMicrophone([silence(3.5)]), 3.0)
    assert len(heard) == 3 * RATE
    with pytest.raises(RuntimeError, match="scripted loss"):
        listen(ScriptedMicrophone([silence(1) + [ScriptedMicrophone.LOSE]]), 3.0)
    with pytest.raises(ValueError):
        noise_floor_dbfs(np.zeros(10, dtype=np.int16), RATE)


def test_a_stop_ends_the_listening_at_once_and_closes_the_stream_with_no_verdict():
    stop = threading.Event()
    stop.set()
    microphone = ScriptedMicrophone([[]])  # a stream that delivers nothing: only the stop can end the wait
    started = time.monotonic()
    assert measure(microphone, stop) is None
    assert time.monotonic() - started < 1.0 and not microphone.running
    assert measure(ScriptedMicrophone([silence(3.5)]))[0] == "WARN"  # digital silence: the mic hears nothing


def test_a_stream_that_delivers_nothing_is_an_error_after_its_deadline():
    with pytest.raises(RuntimeError, match="delivered no audio"):
        listen(ScriptedMicrophone([[]]), 0.1)
