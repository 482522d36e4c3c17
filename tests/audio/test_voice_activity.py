"""Speech detection: which 10 ms frames of a chunk are louder than the speech threshold."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from audio.voice_activity import SpeechDetector

AT_256 = -42.14419939295737
"""The dBFS whose threshold is exactly 256.0 (so a level of 256 sits on the edge)."""


def level(frames: int, amplitude: int, frame: int = 160) -> np.ndarray:
    """`frames` 10 ms frames at 16 kHz of a square wave whose RMS is exactly `amplitude`."""
    wave = np.tile(np.array([amplitude, -amplitude], dtype=np.int16), frames * frame // 2)
    return wave


def test_frames_are_10_ms_at_every_common_rate():
    for rate, frame in ((8000, 80), (16000, 160), (44100, 441), (48000, 480)):
        assert SpeechDetector(rate).frame == frame


def test_a_tiny_rate_still_has_frames_of_one_sample():
    assert SpeechDetector(50).frame == 1
    assert SpeechDetector(100).frame == 1


def test_the_voiced_frames_are_the_loud_ones_by_index():
    detector = SpeechDetector(16000)
    chunk = level(10, 0)
    chunk[3 * 160: 4 * 160] = level(1, 3000)
    chunk[7 * 160: 8 * 160] = level(1, 3000)
    assert detector.voiced_frames(chunk).tolist() == [3, 7]


def test_the_default_threshold_is_minus_45_dbfs():
    """-45 dBFS of full scale (32768) is an RMS of 184.3."""
    detector = SpeechDetector(16000)
    assert detector.voiced_frames(level(5, 185)).tolist() == [0, 1, 2, 3, 4]
    assert detector.voiced_frames(level(5, 184)).tolist() == []


def test_the_threshold_follows_the_setting_in_dbfs():
    detector = SpeechDetector(16000, threshold_dbfs=-20.0)  # RMS 3276.8
    assert detector.voiced_frames(level(2, 3277)).tolist() == [0, 1]
    assert detector.voiced_frames(level(2, 3276)).tolist() == []


def test_a_frame_exactly_at_the_threshold_is_not_speech():
    detector = SpeechDetector(16000, threshold_dbfs=AT_256)
    assert detector.voiced_frames(level(1, 256)).tolist() == []
    assert detector.voiced_frames(level(1, 257)).tolist() == [0]


def test_dbfs_is_measured_from_int16_full_scale():
    """A frame a hair above 256 RMS (-42.144 dBFS of 32768) is speech at that threshold."""
    frame = np.full(160, 256, dtype=np.int16)
    frame[0] = 257  # RMS 256.006
    assert SpeechDetector(16000, threshold_dbfs=AT_256).voiced_frames(frame).tolist() == [0]


def test_a_loud_frame_is_voiced_whatever_the_sign_of_its_samples():
    detector = SpeechDetector(16000)
    negative = np.full(160, -2000, dtype=np.int16)
    assert detector.voiced_frames(negative).tolist() == [0]


def test_a_full_scale_frame_is_voiced():
    assert SpeechDetector(16000).voiced_frames(level(1, 32767)).tolist() == [0]


def test_a_partial_frame_at_the_end_of_a_chunk_is_not_judged():
    detector = SpeechDetector(16000)
    chunk = np.concatenate([level(1, 0), level(1, 3000)[:159]])
    assert detector.voiced_frames(chunk).tolist() == []


def test_a_chunk_shorter_than_one_frame_has_no_voiced_frames_and_indexes_nothing():
    detector = SpeechDetector(16000)
    short = level(1, 3000)[:100]
    voiced = detector.voiced_frames(short)
    assert voiced.tolist() == [] and voiced.dtype.kind == "i"
    assert short[voiced].tolist() == []  # usable as an index, like any other answer


def test_exactly_one_loud_frame_is_found():
    assert SpeechDetector(16000).voiced_frames(level(1, 3000)).tolist() == [0]


def test_speech_needs_30_ms_of_voiced_frames_by_default_and_at_least_one_frame():
    assert SpeechDetector(16000).min_voiced == 3
    assert SpeechDetector(16000, min_voiced_s=0.05).min_voiced == 5
    assert SpeechDetector(16000, min_voiced_s=0.0).min_voiced == 1
    assert SpeechDetector(16000, min_voiced_s=0.016).min_voiced == 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([0, 100, 184, 185, 1000, 20000]), min_size=1, max_size=20), st.integers(0, 159))
def test_each_frame_is_judged_on_its_own_level(levels, tail):
    """A chunk of frames at known levels (plus a partial frame): the voiced ones are those above -45 dBFS."""
    chunk = np.concatenate([level(1, amplitude) for amplitude in levels] + [level(1, 20000)[:tail]])
    expected = [i for i, amplitude in enumerate(levels) if amplitude >= 185]
    assert SpeechDetector(16000).voiced_frames(chunk).tolist() == expected
