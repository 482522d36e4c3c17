"""The bare engine, in a process of its own: vosk.Model() and KaldiRecognizer over the audio a session fed its recognizer.

Only vosk and numpy are imported. Each answer is fed in the very chunks the session's
recognizer got, as fast as Vosk takes them, with SetWords(True) as the project asks;
Result() is read whenever AcceptWaveform says an utterance ended (no JSON parsing).

Usage: python -m bench.bare_probe SPEC.json RESULT.json
"""
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
    for path in spec["fed_audio"]:
        data = np.load(path)
        audio, lengths = data["audio"], data["lengths"]
        chunks = np.split(audio, np.cumsum(lengths)[:-1])
        cpu0, start = cpu_s(), now()
        recognizer = vosk.KaldiRecognizer(model, float(spec["rate"]))
        recognizer.SetWords(True)
        for chunk in chunks:
            if recognizer.AcceptWaveform(chunk.tobytes()):
                recognizer.Result()
        final_at = now()
        text = recognizer.FinalResult()
        answers.append({"fed_s": len(audio) / spec["rate"], "cpu_s": cpu_s() - cpu0, "wall_s": now() - start,
                        "finalize_s": now() - final_at, "final": text})
    write_result({"spawned_at": spec["spawned_at"], "main_at": main_at, "imported_at": imported_at,
                  "model_load_s": loaded_at - imported_at, "model_loaded_at": loaded_at,
                  "answers": answers, "peak_rss_mb": peak_rss_mb()})


if __name__ == "__main__":
    main()
