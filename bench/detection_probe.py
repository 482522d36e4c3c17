"""Speech detection alone, in a process of its own: the device's SpeechDetector over the audio a session fed its
recognizer, in the very chunks it got. Reports its CPU seconds per second of audio (flat out, one thread).

Usage: python -m bench.detection_probe SPEC.json RESULT.json
"""

import time

from bench.probes import read_spec, write_result


def main() -> None:
    spec = read_spec()
    import numpy as np

    from audio.voice_activity import SpeechDetector

    rate, cpu, seconds = int(spec["rate"]), 0.0, 0.0
    for path in spec["fed_audio"]:
        data = np.load(path)
        chunks = np.split(data["audio"], np.cumsum(data["lengths"])[:-1])
        detector = SpeechDetector(rate)
        start = time.thread_time()
        for chunk in chunks:
            detector.hear(chunk)
        cpu += time.thread_time() - start
        seconds += len(data["audio"]) / rate
    write_result({"cpu_s": cpu, "audio_s": seconds, "cpu_per_audio_s": cpu / seconds})


if __name__ == "__main__":
    main()
