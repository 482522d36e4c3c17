"""Runs one whole session on the PulseAudio rig in this process and prints what it produced as JSON.

The rig test runs it under `unshare --net`, so the session is proven to need no network.
Usage: python -m tests.device.flow.rig_session_driver WORKDIR [RECIPIENT]
With an age RECIPIENT, the session is sealed to it as soon as it is transcribed (privacy.readable_for_h = 0).
"""

import json
import sys
from pathlib import Path

from device.config import load_config
from device.flow.service import ServiceLoop
from device.setup.demo import MockButton
from device.setup.simulated_person import Ending, SimulatedPerson
from device.setup.wiring import build_device
from tests.rig import espeak_wav, korean_model, play_into_mic

ANSWERS = [
    "안녕하세요 오늘은 날씨가 정말 좋습니다",
    "저는 학교에 갑니다 그리고 친구를 만납니다",
    "",  # this question is left unanswered
    "우리는 어제 함께 밥을 먹었습니다",
]
PLAN = (Ending.PRESS, Ending.SILENCE, Ending.SKIP, Ending.PRESS)


def network_interfaces() -> list[str]:
    """The interfaces this process's network namespace has."""
    lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    return sorted(line.split(":")[0].strip() for line in lines)


def main(work: Path, recipient: str = "") -> dict:
    wavs = [espeak_wav(text, work / f"answer{n}.wav") if text else None for n, text in enumerate(ANSWERS, 1)]
    config = load_config(
        env={},
        overrides={
            # FLAC keeps every sample, so a direct decode of the saved file hears exactly what the live one did.
            "storage": {"data_dir": str(work / "data"), "cache_dir": str(work / "cache"), "audio_format": "flac"},
            "model": {"path": str(korean_model())},
            "listening": {"silence_after_speech_s": 2.5, "no_speech_s": 5.0},
            "privacy": {"recipient": recipient, "readable_for_h": 0},
        },
    )
    device = build_device(config)
    button = MockButton(config, device.parts.inbox.put)
    person = SimulatedPerson(lambda question: play_into_mic(wavs[question - 1]), button.press, button.hold, PLAN)
    device.parts.on_event = person.on_event
    try:
        button.press()
        notes = ServiceLoop(device, config.data_dir, replay=lambda: None).handle(device.parts.inbox.get(timeout=5))
        device.parts.worker.drain()
    finally:
        person.close()
        button.close()
        device.close()
    return {
        "folder": str(notes.folder),
        "wavs": [str(w) if w else None for w in wavs],
        "interfaces": network_interfaces(),
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), *sys.argv[2:])))
