"""Listening in a real room, on the PulseAudio rig: room noise played into the microphone under real espeak-ng
speech, heard through PortAudio by the real capture (detector, endpointer, WAV writer). For each room: how the
answer ended, when, and that the saved file holds every bit of the speech that was played."""

import queue
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from audio.answer_capture import AnswerCapture
from audio.endpointing import AnswerEndpointer, EndpointSettings, EndReason
from audio.microphone import SoundDeviceMicrophone
from audio.voice_activity import SpeechDetector
from bench.room_sounds import (
    LEAD_S,
    NO_SPEECH_S,
    SILENCE_AFTER_S,
    SLACK_S,
    at_peak_dbfs,
    at_rms_dbfs,
    babble,
    cough,
    door_slam,
    fan_noise,
    pink_noise,
    placed,
    speech_parts,
    write_wav,
)
from tests.rig import locate, read_int16

pytestmark = pytest.mark.usefixtures("audio_rig")


@dataclass
class Heard:
    ended: EndReason
    end_s: float
    """When the answer ended, in seconds of the microphone's stream."""
    stream: np.ndarray
    saved: np.ndarray | None
    rate: int


class Listening:
    """The real microphone on the rig and one answer's capture, while a WAV plays into the `mic` sink."""

    def __init__(self, tmp: Path, settings: EndpointSettings):
        self.microphone = SoundDeviceMicrophone()
        self.rate = self.microphone.rate
        self.path = tmp / "answer.wav"
        self.capture = AnswerCapture(
            self.path, self.rate, SpeechDetector(self.rate), AnswerEndpointer(settings), recognition=_Nowhere()
        )

    def hear(self, played: Path, timeout_s: float) -> Heard:
        """Listen while `played` plays into the rig's microphone. The rig's sink is digital silence until then,
        which no room is: the answer begins with the first chunk that holds the room, as a real one would (the
        noise was there before the listening tone)."""
        chunks: queue.Queue = queue.Queue()
        kept: list[np.ndarray] = []
        self.microphone.start(chunks.put, lambda reason: chunks.put(RuntimeError(reason)))
        chunk = chunks.get(timeout=timeout_s)  # the stream runs: from now on it hears all that is played
        player = subprocess.Popen(["paplay", "--device=mic", str(played)])
        try:
            while True:
                assert not isinstance(chunk, Exception), chunk
                if kept or chunk.any():  # a room is never digital silence: the answer begins once it is heard
                    kept.append(chunk)
                    if (ended := self.capture.add(chunk)) is not None:
                        break
                chunk = chunks.get(timeout=timeout_s)
        finally:
            self.microphone.stop()
            player.terminate()
            player.wait()
        self.capture.finish()
        saved = read_int16(self.path)[0] if self.capture.kept else None
        stream = np.concatenate(kept)
        return Heard(ended, len(stream) / self.rate, stream, saved, self.rate)


class _Nowhere:
    """Recognition is not what these tests are about (speech detection does not ask the recognizer)."""

    def feed(self, samples) -> None:
        pass


def room_noise(kind: str, seconds: float, rate: int) -> np.ndarray:
    return {"fan": fan_noise, "pink": pink_noise, "babble": babble}[kind](seconds, rate)


def play_file(tmp: Path, room: np.ndarray, speech: np.ndarray | None, rate: int) -> tuple[Path, np.ndarray]:
    """The room with the speech placed LEAD_S in, as played; returns the file and the mix."""
    mix = room + (placed(speech, LEAD_S, len(room) / rate, rate) if speech is not None else 0)
    return write_wav(tmp / "played.wav", mix, rate), mix


def speech_stretch(mix: np.ndarray, speech_len: int, rate: int) -> np.ndarray:
    """What was played from 50 ms before the first word to 50 ms after the last."""
    start, end = int((LEAD_S - 0.05) * rate), int(LEAD_S * rate) + speech_len + int(0.05 * rate)
    return np.clip(np.round(mix[start:end]), -32768, 32767)


def assert_all_speech_saved(heard: Heard, mix: np.ndarray, speech_len: int) -> None:
    """The played stretch from just before the first word to just after the last is in the saved file, whole."""
    stretch = speech_stretch(mix, speech_len, heard.rate)
    assert heard.saved is not None, "no answer was kept"
    offset, match = locate(stretch, heard.rate, heard.saved, heard.rate)
    assert match > 0.97, f"the speech is not in the saved answer as played (correlation {match:.3f})"
    assert offset >= 0 and round(offset * heard.rate) + len(stretch) <= len(heard.saved), "the answer cuts the speech"


def last_word_s(heard: Heard, mix: np.ndarray, speech_len: int) -> float:
    """When the last word was heard, in seconds of the microphone's stream (found there by cross-correlation)."""
    stretch = speech_stretch(mix, speech_len, heard.rate)
    offset, match = locate(stretch, heard.rate, heard.stream, heard.rate)
    assert match > 0.97, f"the speech was not found whole in what the microphone heard ({match:.3f})"
    return offset + len(stretch) / heard.rate - 0.05


def answer_in_room(
    tmp,
    kind: str,
    dbfs: float,
    peak_dbfs: float = -10.0,
    pauses_s=(),
    silence_after_s=SILENCE_AFTER_S,
    meter: bool = False,
):
    rate = SoundDeviceMicrophone().rate
    speech, _ = speech_parts(rate, peak_dbfs, pauses_s, meter)
    length_s = LEAD_S + len(speech) / rate + silence_after_s + SLACK_S + 2.0
    path, mix = play_file(tmp, at_rms_dbfs(room_noise(kind, length_s + 1.0, rate), dbfs), speech, rate)
    settings = EndpointSettings(silence_after_s, NO_SPEECH_S, max_length_s=length_s)
    heard = Listening(tmp, settings).hear(path, timeout_s=5)
    return heard, mix, len(speech), silence_after_s


def assert_ended_by_silence_in_time(heard: Heard, mix, speech_len: int, silence_after_s: float) -> None:
    late = heard.end_s - last_word_s(heard, mix, speech_len)
    assert heard.ended is EndReason.SILENCE, f"ended by {heard.ended.value}, {late:.1f} s after the last word"
    assert silence_after_s - 0.3 <= late <= silence_after_s + SLACK_S, f"ended {late:.1f} s after the last word"


@pytest.mark.parametrize("kind", ["fan", "pink"])
@pytest.mark.parametrize("dbfs", [-60, -50, -44, -38, -35])
def test_in_steady_noise_an_answer_ends_by_silence_soon_after_the_last_word(tmp_path, kind, dbfs):
    heard, mix, speech_len, after = answer_in_room(tmp_path, kind, dbfs)
    assert_ended_by_silence_in_time(heard, mix, speech_len, after)
    assert_all_speech_saved(heard, mix, speech_len)


def test_with_a_tv_babbling_at_minus_45_an_answer_ends_by_silence_soon_after_the_last_word(tmp_path):
    heard, mix, speech_len, after = answer_in_room(tmp_path, "babble", -45)
    assert_ended_by_silence_in_time(heard, mix, speech_len, after)
    assert_all_speech_saved(heard, mix, speech_len)


def test_a_soft_speaker_peaking_at_minus_30_over_minus_50_noise_is_recorded_and_ends_by_silence(tmp_path):
    """Speech peaking at -30 dBFS on a level meter (its loudest 100 ms), the scale the room's -50 dBFS is on: most
    of its words lie 10-15 dB over the room. (Its sample peaks at about -19 dBFS. Scaled instead to a sample peak of
    -30, its median word would sit at the noise's own level, which bench/VAD_SOFT_SPEAKER.md shows no level rule
    here tells from babble or a door's tail.)"""
    heard, mix, speech_len, after = answer_in_room(tmp_path, "pink", -50, peak_dbfs=-30, meter=True)
    assert_ended_by_silence_in_time(heard, mix, speech_len, after)
    assert_all_speech_saved(heard, mix, speech_len)


def test_thinking_pauses_of_5_s_do_not_end_an_answer_with_the_default_7_s(tmp_path):
    heard, mix, speech_len, after = answer_in_room(
        tmp_path, "fan", -44, pauses_s=(5.0, 5.0), silence_after_s=EndpointSettings().silence_after_speech_s
    )
    assert_ended_by_silence_in_time(heard, mix, speech_len, after)
    assert_all_speech_saved(heard, mix, speech_len)


def no_answer_in(tmp_path, room: np.ndarray, rate: int) -> Heard:
    path, _ = play_file(tmp_path, room, None, rate)
    settings = EndpointSettings(SILENCE_AFTER_S, NO_SPEECH_S, max_length_s=NO_SPEECH_S + 5)
    return Listening(tmp_path, settings).hear(path, timeout_s=5)


@pytest.mark.parametrize("kind", ["fan", "pink"])
def test_only_noise_is_skipped_after_the_no_speech_time_and_keeps_no_file(tmp_path, kind):
    rate = SoundDeviceMicrophone().rate
    heard = no_answer_in(tmp_path, at_rms_dbfs(room_noise(kind, NO_SPEECH_S + 3, rate), -35), rate)
    assert heard.ended is EndReason.NO_SPEECH and heard.end_s == pytest.approx(NO_SPEECH_S, abs=0.01)
    assert heard.saved is None and list(tmp_path.glob("answer*")) == []


def test_a_door_slam_and_a_cough_in_the_no_speech_time_are_not_an_answer(tmp_path):
    rate = SoundDeviceMicrophone().rate
    length = NO_SPEECH_S + 3
    room = at_rms_dbfs(pink_noise(length, rate), -50)
    room += placed(at_peak_dbfs(door_slam(rate), -3), LEAD_S, length, rate)
    room += placed(at_peak_dbfs(cough(rate), -6), LEAD_S + 2.0, length, rate)
    heard = no_answer_in(tmp_path, room, rate)
    assert heard.ended is EndReason.NO_SPEECH and heard.saved is None and list(tmp_path.glob("answer*")) == []
