"""The rig's room scenarios (tests/audio/test_room_on_rig.py) replayed offline through the detector and the
endpointer at 44.1 kHz, over several noise seeds and chunk phases, to see how reliably each passes.

`python -m bench.room_replay [setting=value ...]` overrides DetectorSettings (e.g. margin_db=8.0);
env SEEDS="1 2 3" picks the noise seeds, ONLY=soft one scenario. Figures: bench/VAD_SOFT_SPEAKER.md."""

import os
import sys

import numpy as np

from audio.endpointing import AnswerEndpointer, EndpointSettings, EndReason
from audio.voice_activity import DetectorSettings, SpeechDetector
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
)

RATE = 44100
PHASES = (0, 1500, 3100)
"""Samples cut from the start: where the stream's first chunk falls in the played file."""


def run(mix: np.ndarray, settings: EndpointSettings, detector: DetectorSettings, phase: int):
    """How the answer ended, when (s), and the first onset (s), for the mix heard in 0.1 s chunks."""
    pcm = np.clip(np.round(mix[phase:]), -32768, 32767).astype(np.int16)
    heard, ends, chunk, onset = SpeechDetector(RATE, detector), AnswerEndpointer(settings), RATE // 10, None
    for i in range(0, len(pcm), chunk):
        part = pcm[i : i + chunk]
        h = heard.hear(part)
        onset = h.onset_frame / 100 if onset is None and h.onset_frame is not None else onset
        if (reason := ends.process(len(part) / RATE, h.speech)) is not None:
            return reason, (i + len(part)) / RATE, onset
    return None, len(pcm) / RATE, onset


def noise(kind: str, seconds: float, seed: int) -> np.ndarray:
    return (
        babble(seconds, RATE)
        if kind == "babble"
        else {"fan": fan_noise, "pink": pink_noise}[kind](seconds, RATE, seed=seed)
    )


def answer(detector, kind, dbfs, seed, phase, peak=-10.0, pauses=(), after=SILENCE_AFTER_S, meter=False):
    """An answer in the room: passes if it ends by silence in the test's bounds, with its onset at the first word."""
    speech, _ = speech_parts(RATE, peak, pauses, meter)
    length = LEAD_S + len(speech) / RATE + after + SLACK_S + 2.0
    room = at_rms_dbfs(noise(kind, length + 1.0, seed), dbfs)
    mix = room + placed(speech, LEAD_S, len(room) / RATE, RATE)
    reason, end, onset = run(mix, EndpointSettings(after, NO_SPEECH_S, max_length_s=length), detector, phase)
    late = end - (LEAD_S + len(speech) / RATE - phase / RATE)
    ok = (
        reason is EndReason.SILENCE
        and after - 0.3 <= late <= after + SLACK_S
        and onset is not None
        and onset <= LEAD_S - phase / RATE + 0.1
    )
    return ok, f"{reason and reason.value} {late:.2f} s after the last word, onset {onset}"


def nothing(detector, room, phase):
    """No answer in the room: passes if skipped as no speech."""
    reason, _, onset = run(
        room, EndpointSettings(SILENCE_AFTER_S, NO_SPEECH_S, max_length_s=NO_SPEECH_S + 5), detector, phase
    )
    return reason is EndReason.NO_SPEECH, f"{reason and reason.value}, onset {onset}"


def door_and_cough(detector, seed, phase):
    length = NO_SPEECH_S + 3
    room = (
        at_rms_dbfs(pink_noise(length, RATE, seed=seed), -50)
        + placed(at_peak_dbfs(door_slam(RATE), -3), LEAD_S, length, RATE)
        + placed(at_peak_dbfs(cough(RATE), -6), LEAD_S + 2.0, length, RATE)
    )
    return nothing(detector, room, phase)


def scenarios():
    steady = [
        (f"{kind} {db} dBFS", lambda d, s, p, kind=kind, db=db: answer(d, kind, db, s, p))
        for kind in ("fan", "pink")
        for db in (-60, -50, -44, -38, -35)
    ]
    return steady + [
        ("babble -45 dBFS", lambda d, s, p: answer(d, "babble", -45, s, p)),
        ("soft speaker", lambda d, s, p: answer(d, "pink", -50, s, p, peak=-30.0, meter=True)),
        ("thinking pauses", lambda d, s, p: answer(d, "fan", -44, s, p, pauses=(5.0, 5.0), after=7.0)),
        ("only fan", lambda d, s, p: nothing(d, at_rms_dbfs(noise("fan", NO_SPEECH_S + 3, s), -35), p)),
        ("only pink", lambda d, s, p: nothing(d, at_rms_dbfs(noise("pink", NO_SPEECH_S + 3, s), -35), p)),
        ("door and cough", door_and_cough),
    ]


def main() -> None:
    overrides = dict(arg.split("=") for arg in sys.argv[1:])
    detector = DetectorSettings(**{k: float(v) if "." in v else int(v) for k, v in overrides.items()})
    seeds = [int(s) for s in os.environ.get("SEEDS", "1 2 3 4 5").split()]
    only = os.environ.get("ONLY", "")
    for name, scenario in scenarios():
        if only in name:
            results = [scenario(detector, seed, phase) for seed in seeds for phase in PHASES]
            failed = [why for ok, why in results if not ok]
            print(f"{name:16s} {len(results) - len(failed)}/{len(results)}", failed[:2], flush=True)


if __name__ == "__main__":
    main()
