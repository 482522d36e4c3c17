"""Renders prompts to WAV files with pyttsx3 in a process of its own (run by PromptCache).

pyttsx3's espeak driver can return from runAndWait before the audio is written,
and is known to hang on a Pi; a child process with a deadline contains both.
Input on stdin: {"voice": str|null, "rate": int|null, "jobs": [[text, path], ...]}.
"""

import contextlib
import io
import json
import os
import sys
import threading

ATTEMPTS = 3
FINISH_TIMEOUT_S = 30.0


def render(jobs: list[list[str]], voice: str | None, rate: int | None) -> list[str]:
    """Render each (text, path); returns the paths that could not be rendered."""
    import pyttsx3

    engine = pyttsx3.init("espeak")
    finished = threading.Event()
    engine.connect("finished-utterance", lambda name, completed: finished.set())
    if voice:
        engine.setProperty("voice", voice)
    if rate:
        engine.setProperty("rate", rate)
    failed = []
    for text, path in jobs:
        for _ in range(ATTEMPTS):
            finished.clear()
            with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved to ..."
                engine.save_to_file(text, path)
                engine.runAndWait()
                finished.wait(FINISH_TIMEOUT_S)
            if os.path.exists(path) and os.path.getsize(path) > 44:
                break
        else:
            failed.append(path)
    return failed


def main() -> int:
    request = json.load(sys.stdin)
    failed = render(request["jobs"], request.get("voice"), request.get("rate"))
    for path in failed:
        print(f"no audio rendered for {path}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
