"""Run inside the Pi twin with the device's own Python (and on x86, in a process of its own, to compare): load the
Korean model and decode audio files as the service's recognizer does (0.1 s chunks at the file's rate, then `pad_s`
of the silence the live recognizer heard while the endpointer waited); print the load time and, per file, its
length, what was fed (with the pad), the decode time and text as JSON.

    /opt/reflect/venv/bin/python decode.py MODEL PAD_S FILE ...
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import soundfile

from audio.recognizer import decode_samples, load_model


def decode(model_path: Path, pad_s: float, files: list[Path]) -> dict:
    """The model's load time and, for each file, what was fed, how long its decode took and the text."""
    started = time.monotonic()
    model = load_model(model_path)
    decoded: dict = {"load_s": time.monotonic() - started, "files": []}
    for name in files:
        samples, rate = soundfile.read(name, dtype="int16")
        padded = np.concatenate([samples, np.zeros(int(pad_s * rate), dtype=np.int16)])
        started = time.monotonic()
        text = decode_samples(model, padded, rate).text
        decoded["files"].append(
            {
                "audio_s": len(samples) / rate,
                "fed_s": len(padded) / rate,
                "decode_s": time.monotonic() - started,
                "text": text,
            }
        )
    return decoded


if __name__ == "__main__":
    model_path, pad_s, *names = sys.argv[1:]
    print(json.dumps(decode(Path(model_path), float(pad_s), [Path(name) for name in names]), ensure_ascii=False))
