"""A real device process for the fault tests on the PulseAudio rig, built like `reflect run --keyboard`.

    python -m tests.faults.rig_driver '<json settings>'

Real PortAudio speaker and microphone (through audio.microphone_watch), real cached
espeak-ng prompts, the real session and notes; a fake recognizer (the parent holds the
real Vosk model for recovery). Enter on stdin is a press, "h" a hold, EOF stops it.

It reports on stdout, one JSON object per line, written with a single os.write so a
SIGKILL never leaves half a line: every event, each chunk the microphone delivered,
each chunk written to an answer, each answer sealed (with its SHA-256, and a hard link
into `ref_dir` so the parent can compare after compression replaced it), each
compression, and each session sealed to an age key (settings "privacy"). Nothing it
prints is transcript text.
"""

import hashlib
import json
import logging
import os
import sys
import time
from pathlib import Path

from audio.fakes import FakeRecognizer
from audio.microphone import SoundDeviceMicrophone
from audio.microphone_watch import MicrophoneWatch, RecoveringSpeaker
from audio.speaker import SoundDeviceSpeaker
from audio.synthesis import PromptCache
from audio.worker import Worker
from device.config import load_config
from device.flow.button import KeyboardGestures
from device.flow.inbox import Inbox
from device.flow.parts import SessionParts
from device.flow.service import Device, ServiceLoop
from device.notes import sealing
from device.notes.recovery import recover
from device.notes.sealing import sealer
from device.setup.wiring import load_pack, session_settings


def emit(**fields) -> None:
    fields.setdefault("at", time.monotonic())
    os.write(1, (json.dumps(fields) + "\n").encode())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Reporter(logging.Handler):
    """Turns the session's own log records into report lines (and forwards device.* records as they are)."""

    def __init__(self, data_dir: Path, ref_dir: Path):
        super().__init__(logging.INFO)
        self.data_dir = data_dir
        self.ref_dir = ref_dir

    def _find(self, name: str) -> Path:
        return max((self.data_dir / "sessions").glob(f"*/{name}"), key=lambda p: p.stat().st_mtime_ns)

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "answer %d recorded: %s, %.1f s":
            path = self._find(record.args[1])
            os.link(path, self.ref_dir / f"{path.parent.name}-{path.name}")
            emit(kind="saved", session=path.parent.name, index=record.args[0], name=path.name, sha=sha256(path))
        elif record.msg == "answer %d compressed to %s":
            path = self._find(record.args[1])
            emit(kind="compressed", session=path.parent.name, index=record.args[0], name=path.name, sha=sha256(path))
        elif record.msg == "session %s sealed":
            emit(kind="sealed", session=record.args[0])
        if record.name.startswith(("device.", "audio.")):
            emit(kind="log", logger=record.name, level=record.levelname, message=record.getMessage())


class CountingWorker(Worker):
    """Reports how many frames of the current answer have been written (capture feeds it after each write)."""

    def __init__(self, microphone_count):
        super().__init__(FakeRecognizer)
        self.microphone_count = microphone_count
        self.written: dict[object, int] = {}

    def feed(self, handle, samples) -> None:
        self.written[handle] = self.written.get(handle, 0) + len(samples)
        emit(kind="fed", written=self.written[handle], delivered=self.microphone_count())
        super().feed(handle, samples)


class CountingMicrophone:
    """The real microphone, reporting each chunk it delivers (from PortAudio's thread)."""

    def __init__(self, microphone):
        self.microphone = microphone
        self.rate = microphone.rate
        self.delivered = 0

    def start(self, on_chunk, on_error) -> None:
        self.delivered = 0

        def chunk(samples):
            self.delivered += len(samples)
            emit(kind="mic", delivered=self.delivered)
            on_chunk(samples)

        self.microphone.start(chunk, on_error)

    def stop(self) -> None:
        self.microphone.stop()


class ReportingPrompts(PromptCache):
    def clip(self, text: str, rate: int | None = None):
        emit(kind="say", text=text)
        return super().clip(text, rate)


def slowed_sealing(pause_s: float) -> None:
    """Wait `pause_s` before each sealed file is written, so a kill aimed at sealing (a few ms on this
    machine) lands inside it, between any two of its steps; what each step does is unchanged."""
    write = sealing._write_sealed

    def slowed(*args):
        time.sleep(pause_s)
        write(*args)

    sealing._write_sealed = slowed


def main(settings: dict) -> int:
    os.umask(0o077)
    data_dir, ref_dir = Path(settings["data_dir"]), Path(settings["ref_dir"])
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().addHandler(Reporter(data_dir, ref_dir))
    emit(kind="started", pid=os.getpid())
    config = load_config(
        env={},
        overrides={
            "storage": {"data_dir": str(data_dir), "cache_dir": settings["cache_dir"], "min_free_mb": 1},
            "content": {"packs_dir": settings["packs_dir"], "pack": settings.get("pack", "tiny")},
            "listening": settings.get("listening", {}),
            "privacy": settings.get("privacy", {}),
        },
    )
    if settings.get("sealing_pause_s"):
        slowed_sealing(settings["sealing_pause_s"])
    if settings.get("recover_at_start", True):
        recover(data_dir, None)
        emit(kind="recovered")
    pack = load_pack(config)
    speaker = RecoveringSpeaker(lambda: SoundDeviceSpeaker(config.audio.output_device, config.audio.output_rate))
    counting: list[CountingMicrophone] = []

    def open_microphone():
        counting[:] = [
            CountingMicrophone(
                SoundDeviceMicrophone(config.audio.input_device, config.audio.input_rate, config.audio.chunk_s)
            )
        ]
        return counting[0]

    watch = MicrophoneWatch(open_microphone, before_rescan=speaker.release)
    parts = SessionParts(
        speaker=speaker,
        open_microphone=watch,
        prompts=ReportingPrompts(
            config.cache_dir / "prompts", config.speech.voice or pack.voice, config.speech.rate or pack.rate
        ),
        worker=CountingWorker(lambda: counting[0].delivered if counting else 0),
        inbox=Inbox(),
        on_event=lambda event: emit(
            kind="event",
            phase=event.phase.value,
            event=event.kind.value,
            ended_by=event.ended_by,
            question=event.question,
            at=event.at,
        ),
        seal=sealer(data_dir, config.privacy.recipient, config.privacy.readable_for_h),
    )
    device = Device(pack, parts, session_settings(config), model=None)
    loop = ServiceLoop(device, data_dir, replay=lambda: None)
    KeyboardGestures(parts.inbox.put, loop.stopping.set)
    emit(kind="ready")
    try:
        loop.run()
        parts.worker.drain()
    finally:
        parts.worker.close()
        speaker.close()
    emit(kind="exit")
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1])))
