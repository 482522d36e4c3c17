"""The bare engine, in a process of its own: vosk.Model() and KaldiRecognizer over the audio a session fed its
recognizer.

Only vosk and numpy are imported. Each answer is fed in the very chunks the session's
recognizer got, with SetWords(True) as the project asks; Result() is read whenever
AcceptWaveform says an utterance ended (no JSON parsing). Twice: as fast as Vosk takes
the chunks ("burst"), and paced as a microphone delivers them, each chunk handed over when
its last sample would have been captured ("paced", the device's own situation: Vosk costs
more CPU per second of audio when it is woken for each chunk than when it runs flat out).

Usage: python -m bench.bare_probe SPEC.json RESULT.json
"""

import json
import time

from bench.probes import cpu_s, now, peak_rss_mb, read_spec, write_result


def main() -> None:
    spec = read_spec()
    main_at = now()
    import numpy as np
    import vosk

    vosk.SetLogLevel(-1)
    imported_at = now()
    model = vosk.Model(spec["model"])
    loaded_at = now()
    answers = []
    rate = float(spec["rate"])
    for path in spec["fed_audio"]:
        data = np.load(path)
        audio, lengths = data["audio"], data["lengths"]
        chunks = np.split(audio, np.cumsum(lengths)[:-1])
        answer = {"fed_s": len(audio) / rate}
        for paced in (False, True):
            cpu0, start = cpu_s(), now()
            recognizer = vosk.KaldiRecognizer(model, rate)
            recognizer.SetWords(True)
            captured = start
            for chunk in chunks:
                if paced:
                    captured += len(chunk) / rate
                    time.sleep(max(0.0, captured - now()))
                if recognizer.AcceptWaveform(chunk.tobytes()):
                    recognizer.Result()
            final_at = now()
            text = json.loads(recognizer.FinalResult())["text"]
            done_at = now()
            del recognizer  # freeing it (about 0.1 s of CPU) belongs to this pass, as it does in the session's figure
            answer["paced" if paced else "burst"] = {
                "cpu_s": cpu_s() - cpu0,
                "wall_s": done_at - start,
                "finalize_s": done_at - final_at,
                "after_last_audio_s": done_at - (captured if paced else final_at),
                "text": text,
            }
        answers.append(answer)
    write_result(
        {
            "spawned_at": spec["spawned_at"],
            "main_at": main_at,
            "imported_at": imported_at,
            "model_load_s": loaded_at - imported_at,
            "model_loaded_at": loaded_at,
            "answers": answers,
            "peak_rss_mb": peak_rss_mb(),
        }
    )


if __name__ == "__main__":
    main()
