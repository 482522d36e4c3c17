"""The speech references, in a process of their own: how soon the bare engines start sounding a text.

* pyttsx3: `engine.say(text)` + `engine.runAndWait()` on an engine made beforehand. Its espeak
  driver synthesises the whole text into memory, writes a temporary WAV, then runs
  `aplay FILE -q` through the shell. An `aplay` wrapper first on PATH adds `-v` and sends
  aplay's stderr to a FIFO read here: the FIFO opening is "aplay is being started", and
  aplay's first `-v` line (the PCM setup dump, printed after the hardware parameters are set
  and right before its write loop) is "aplay hands its first period to ALSA now".
* espeak-ng CLI piped to aplay: `espeak-ng --stdout TEXT | aplay -q -v -D default`, the pipe
  relayed through this process so the arrival of espeak-ng's audio is timed. aplay reads one
  whole period from the pipe before its first write, so its first write happens at the later
  of: its setup dump, and a header plus one period of audio having come out of espeak-ng.

Both are timed up to the first write into ALSA (the moment comparable to the device's
first sample handed to PortAudio); aplay is then stopped, since the rest is not measured.
With ALSA's pulse plugin the sound itself starts later still (start_threshold is a full
buffer), so these are lower bounds on the references' time to first sound.

Usage: python -m bench.tts_probe SPEC.json RESULT.json
"""

import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from bench.probes import now, read_spec, write_result

WRAPPER = """#!/bin/sh
exec 2>"$REFLECT_BENCH_APLAY_FIFO"
echo "pid $$" >&2
exec {aplay} -v "$@"
"""


class AplayWatcher:
    """Reads the wrapped aplay's stderr from a FIFO: when it started, its pid, when its setup dump came."""

    def __init__(self, fifo: Path):
        self.fifo = fifo
        self.runs: queue.Queue = queue.Queue()
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while True:
            with open(self.fifo, "rb", buffering=0) as stream:
                run = {"exec_at": now()}
                lines = _lines(stream)
                first = next(lines, b"")
                run["pid"] = int(first.split()[1]) if first.startswith(b"pid ") else None
                for line in lines:
                    if not line.startswith(b"Playing"):
                        run["setup_at"] = now()
                        break
                self.runs.put(run)
                if run.get("pid"):
                    _stop(run["pid"])
                for _ in lines:
                    pass


def _lines(stream):
    buffer = b""
    while chunk := stream.read(4096):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line
    if buffer:
        yield buffer


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def pyttsx3_runs(text: str, rate: int, runs: int, work: Path, aplay: str) -> list[dict]:
    import pyttsx3

    bin_dir = work / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "aplay"
    wrapper.write_text(WRAPPER.format(aplay=aplay))
    wrapper.chmod(0o755)
    fifo = work / "aplay.fifo"
    os.mkfifo(fifo)
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    os.environ["REFLECT_BENCH_APLAY_FIFO"] = str(fifo)
    watcher = AplayWatcher(fifo)
    engine = pyttsx3.init("espeak")
    engine.setProperty("rate", rate)
    results = []
    for n in range(runs + 1):  # the first is a warm-up
        say_at = now()
        engine.say(text if n else "Ready.")
        engine.runAndWait()
        returned_at = now()
        run = watcher.runs.get(timeout=30)
        if n:
            results.append(
                {
                    "say_at": say_at,
                    **run,
                    "returned_at": returned_at,
                    "first_write_s": run["setup_at"] - say_at,
                    "aplay_started_s": run["exec_at"] - say_at,
                }
            )
    return results


def espeak_aplay_runs(text: str, rate: int, runs: int, aplay: str) -> list[dict]:
    results = []
    for n in range(runs + 1):  # the first is a warm-up
        start = now()
        espeak = subprocess.Popen(
            ["espeak-ng", "-s", str(rate), "--stdout", text if n else "Ready."], stdout=subprocess.PIPE
        )
        player = subprocess.Popen(
            [aplay, "-q", "-v", "-D", "default", "-"], stdin=subprocess.PIPE, stderr=subprocess.PIPE
        )
        arrivals: list[tuple[float, int]] = []

        def relay() -> None:
            total = 0
            try:
                while data := os.read(espeak.stdout.fileno(), 65536):
                    total += len(data)
                    arrivals.append((now(), total))
                    player.stdin.write(data)
                    player.stdin.flush()
            except (BrokenPipeError, OSError):
                pass

        relayer = threading.Thread(target=relay, daemon=True)
        relayer.start()
        setup_at, period_frames = None, None
        for line in player.stderr:
            if setup_at is None:
                setup_at = now()
            if line.strip().startswith(b"period_size"):
                period_frames = int(line.split(b":")[1])
                break
        espeak.wait(timeout=30)
        relayer.join(timeout=30)
        player.kill()
        player.wait()
        if not n:
            continue
        needed = 44 + 2 * (period_frames or 0)
        period_at = next((at for at, total in arrivals if total >= needed), arrivals[-1][0])
        results.append(
            {
                "start_at": start,
                "setup_s": setup_at - start,
                "first_audio_s": arrivals[0][0] - start,
                "first_period_s": period_at - start,
                "period_frames": period_frames,
                "first_write_s": max(setup_at, period_at) - start,
            }
        )
    return results


def main() -> None:
    spec = read_spec()
    aplay = shutil.which("aplay")
    if not aplay:
        write_result({"error": "aplay is not installed (Debian package alsa-utils)"})
        return
    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "pyttsx3": pyttsx3_runs(spec["text"], spec["rate"], spec["runs"], Path(tmp), aplay),
            "espeak_aplay": espeak_aplay_runs(spec["text"], spec["rate"], spec["runs"], aplay),
        }
    write_result(result)


if __name__ == "__main__":
    main()
