"""Speech detection: the real WebRTC VAD, a noise floor that follows the room, hysteresis, 0.3 s to start."""

import numpy as np
import pytest

from audio.fakes import silence, speech
from audio.voice_activity import DetectorSettings, Heard, NoiseFloor, SpeechDetector, level_dbfs
from bench.room_sounds import as_int16, at_peak_dbfs, at_rms_dbfs, cough, door_slam, pink_noise

RATE = 16000
CHUNK = 1600


def always_speech(frame: bytes) -> bool:
    """A VAD that calls everything speech, so the level rules alone decide (WebRTC's learns a steady buzz as noise)."""
    return True


def gated(rate: int = RATE, settings: DetectorSettings = DetectorSettings()) -> SpeechDetector:
    return SpeechDetector(rate, settings, vad=always_speech)


def buzz(seconds: float, dbfs: float, rate: int = RATE) -> np.ndarray:
    """A steady voice-like buzz (150 Hz and harmonics) at an RMS level."""
    t = np.arange(int(seconds * rate)) / rate
    return as_int16(at_rms_dbfs(sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 12)), dbfs))


def chunks(samples: np.ndarray, size: int = CHUNK) -> list[np.ndarray]:
    return [samples[i : i + size] for i in range(0, len(samples), size)]


def hear_all(detector: SpeechDetector, parts) -> list[Heard]:
    return [detector.hear(part) for part in parts]


def speech_chunks(heard: list[Heard]) -> list[int]:
    return [i for i, h in enumerate(heard) if h.speech]


@pytest.mark.parametrize("rate, frame", [(16000, 160), (44100, 441), (48000, 480), (8000, 80), (22050, 220), (100, 1)])
def test_a_frame_is_10_ms_at_the_microphones_rate_and_at_least_a_sample(rate, frame):
    assert SpeechDetector(rate).frame == frame


def test_speech_shorter_than_a_frame_asked_for_still_needs_one_voiced_frame():
    detector = gated(RATE, DetectorSettings(min_speech_s=0.0))
    hear_all(detector, chunks(buzz(1.0, -60)))
    heard = detector.hear(np.concatenate([buzz(0.01, -20), buzz(0.09, -60)]))
    assert heard.onset_frame == 100 and heard.last_frame == 101


def test_the_onset_window_forgets_a_voiced_frame_exactly_its_length_ago():
    def onset_after_gap(quiet_frames: int) -> bool:
        detector = gated(RATE, DetectorSettings(min_speech_s=0.02, onset_window_s=0.05))
        hear_all(detector, chunks(buzz(1.0, -60)))
        gap = np.concatenate([buzz(0.01, -20), buzz(quiet_frames / 100, -60), buzz(0.01, -20), buzz(0.05, -60)])
        return detector.hear(gap).onset_frame is not None

    assert onset_after_gap(3) and not onset_after_gap(4)


def test_speech_goes_on_through_49_quiet_frames_and_stops_after_50():
    def after_pause(quiet_frames: int) -> list[int]:
        detector = gated()
        hear_all(detector, chunks(buzz(1.0, -60)))
        hear_all(detector, chunks(buzz(0.5, -20)))
        detector.hear(buzz(quiet_frames / 100, -60))
        return speech_chunks(hear_all(detector, chunks(buzz(0.1, -20))))

    assert after_pause(49) == [0] and after_pause(50) == []


def test_level_is_rms_in_dbfs_and_silence_is_minus_120():
    frames = np.array([[32768 // 10] * 4, [0] * 4, [-32768] * 4])
    assert level_dbfs(frames) == pytest.approx([-20.0, -120.0, 0.0], abs=0.01)


def test_the_floor_a_chunk_is_judged_against_is_the_one_before_it_and_never_below_the_lowest():
    floor = NoiseFloor(DetectorSettings())
    assert floor.update(np.full(10, -40.0)) == -70.0
    assert floor.update(np.full(10, -90.0)) == -40.0
    assert floor.dbfs == pytest.approx(-70.0)  # the percentile is -90, below the lowest floor


def test_the_floor_is_the_20th_percentile_of_the_last_5_s():
    floor = NoiseFloor(DetectorSettings())
    floor.update(np.array([-60.0] * 20 + [-30.0] * 80))
    assert floor.dbfs == pytest.approx(-36.0)  # numpy's linear interpolation: 0.8 of the way from -60 to -30
    floor.update(np.full(500, -40.0))  # five seconds later, only the new room is left
    assert floor.dbfs == -40.0
    shortest = NoiseFloor(DetectorSettings(floor_window_s=0.001))  # at least one frame
    shortest.update(np.full(1, -50.0))
    shortest.update(np.full(1, -40.0))
    assert shortest.dbfs == -40.0
    assert NoiseFloor(DetectorSettings(floor_window_s=0.1, floor_percentile=50.0)).update(np.full(1, 1.0)) == -70.0


def test_speech_after_silence_starts_at_its_first_frame_once_03_s_are_voiced():
    detector = SpeechDetector(RATE)
    heard = hear_all(detector, silence(1.0) + speech(2.0) + silence(1.0))
    onsets = [(i, h.onset_frame) for i, h in enumerate(heard) if h.onset_frame is not None]
    assert onsets == [(12, 100)]  # 0.3 s of voiced frames takes the fake's syllables about 0.3 s
    assert speech_chunks(heard) == list(range(12, 30))
    assert heard[29].last_frame == 300
    assert detector.speaking is False or heard[-1].speech is False


def test_a_cough_or_a_door_is_not_speech():
    room = at_rms_dbfs(pink_noise(4, RATE), -50)
    room[int(1 * RATE) : int(1 * RATE) + int(0.4 * RATE)] += at_peak_dbfs(door_slam(RATE), -6)
    room[int(2.5 * RATE) : int(2.5 * RATE) + int(0.25 * RATE)] += at_peak_dbfs(cough(RATE), -10)
    heard = hear_all(SpeechDetector(RATE), chunks(as_int16(room)))
    assert [h for h in heard if h.speech or h.onset_frame is not None] == []


@pytest.mark.parametrize("dbfs", [-50, -44, -38, -35])
def test_steady_noise_is_never_speech_and_speech_over_it_is(dbfs):
    room = at_rms_dbfs(pink_noise(10, RATE), dbfs)
    noise_only = hear_all(SpeechDetector(RATE), chunks(as_int16(room)))
    assert speech_chunks(noise_only) == []
    voice = np.concatenate(speech(2.0))
    room[4 * RATE : 6 * RATE] += voice
    heard = hear_all(SpeechDetector(RATE), chunks(as_int16(room)))
    assert speech_chunks(heard)[0] in range(40, 46) and speech_chunks(heard)[-1] == 59


def test_a_buzz_must_rise_the_margin_over_the_floor_to_start_and_the_margin_less_hysteresis_to_go_on():
    def started(dbfs: float) -> bool:
        detector = gated()
        hear_all(detector, chunks(buzz(1.0, -50)))  # the floor: -50
        return any(h.onset_frame is not None for h in hear_all(detector, chunks(buzz(0.5, dbfs))))

    assert not started(-41.2) and started(-40.8)

    def goes_on(dbfs: float) -> list[int]:
        detector = gated()
        hear_all(detector, chunks(buzz(1.0, -50)))
        hear_all(detector, chunks(buzz(0.4, -30)))
        return speech_chunks(hear_all(detector, chunks(buzz(0.3, dbfs))))

    assert goes_on(-44.8) == [0, 1, 2]
    assert goes_on(-45.2) == []


def test_a_pause_longer_than_the_release_ends_speech_and_it_must_start_again():
    settings = DetectorSettings()
    detector = gated(RATE, settings)
    hear_all(detector, chunks(buzz(1.0, -60)))
    hear_all(detector, chunks(buzz(0.5, -20)))
    assert detector.speaking
    hear_all(detector, chunks(buzz(0.4, -60)))  # shorter than the release: still speaking
    assert detector.speaking and speech_chunks(hear_all(detector, chunks(buzz(0.1, -20)))) == [0]
    hear_all(detector, chunks(buzz(0.6, -60)))
    assert not detector.speaking
    again = hear_all(detector, chunks(buzz(0.5, -20)))
    assert speech_chunks(again) == [2, 3, 4] and again[2].onset_frame == 260


def test_a_short_burst_does_not_start_speech_but_bursts_within_the_onset_window_add_up():
    def onset_after(parts) -> bool:
        detector = gated()
        hear_all(detector, chunks(buzz(1.0, -60)))
        return any(h.onset_frame is not None for h in hear_all(detector, parts))

    assert not onset_after(chunks(buzz(0.29, -20)) + chunks(buzz(1.0, -60)))
    assert onset_after(chunks(buzz(0.3, -20)))
    assert onset_after(chunks(buzz(0.15, -20)) + chunks(buzz(0.5, -60)) + chunks(buzz(0.15, -20)))
    assert not onset_after(chunks(buzz(0.15, -20)) + chunks(buzz(1.0, -60)) + chunks(buzz(0.15, -20)))


@pytest.mark.parametrize("rate", [44100, 48000, 8000])
def test_other_rates_are_heard_through_16_khz_with_the_frames_counted_at_their_own_rate(rate):
    detector = SpeechDetector(rate)
    heard = hear_all(detector, chunks(np.concatenate([buzz(1.0, -60, rate), buzz(1.0, -20, rate)]), rate // 10))
    onset = next(h.onset_frame for h in heard if h.onset_frame is not None)
    assert onset in range(100, 112) and heard[-1].last_frame == 200


def test_chunks_that_split_frames_are_joined_and_a_chunk_shorter_than_a_frame_hears_nothing_yet():
    detector = gated()
    assert detector.hear(np.zeros(100, dtype=np.int16)) == Heard(False)
    heard = hear_all(detector, chunks(np.concatenate([buzz(1.0 - 100 / RATE, -60), buzz(1.0, -20)]), 1234))
    assert next(h.onset_frame for h in heard if h.onset_frame is not None) == 100
    assert heard[-1].last_frame == 200


def test_a_frame_the_vad_has_not_had_yet_is_no_speech():
    detector = gated(44100, DetectorSettings(min_speech_s=0.01))
    heard = detector.hear(buzz(0.1, -20, 44100))  # the resampler holds back the last few milliseconds
    assert heard.onset_frame == 0 and 5 <= heard.last_frame < 10
    at_16_khz = gated(RATE, DetectorSettings(min_speech_s=0.01)).hear(buzz(0.1, -20))  # nothing to resample
    assert at_16_khz.last_frame == 10


def test_a_chunk_that_holds_two_starts_reports_the_first():
    detector = gated()
    hear_all(detector, chunks(buzz(1.0, -60)))
    heard = detector.hear(np.concatenate([buzz(0.4, -20), buzz(0.6, -60), buzz(0.4, -20)]))
    assert heard.onset_frame == 100 and heard.last_frame == 240


def test_a_soft_speaker_over_noise_is_heard_from_the_first_word_to_the_last_and_no_further():
    from bench.room_sounds import espeak, placed
    from bench.vad_comparison import SPEECH

    voice = at_peak_dbfs(espeak(SPEECH, RATE), -30)
    room = at_rms_dbfs(pink_noise(12, RATE), -50) + placed(voice, 2.0, 12, RATE)
    heard = hear_all(SpeechDetector(RATE), chunks(as_int16(room)))
    spoken_until = 2.0 + len(voice) / RATE
    onsets = [h.onset_frame for h in heard if h.onset_frame is not None]
    assert len(onsets) == 1 and 200 <= onsets[0] <= 205
    assert spoken_until * 100 - 5 <= [h.last_frame for h in heard if h.speech][-1] <= spoken_until * 100 + 2
