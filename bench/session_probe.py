"""One measured session in a process of its own (run by `python -m bench`).

The device is built as the service builds it (build_device + ServiceLoop.run on its
own flow thread) with the real PortAudio speaker on the rig, the real recognizer and
a SimulatedMicrophone fed with espeak-ng speech. Nothing of the project is edited or
patched: the speaker and the worker are wrapped (composition) and the events are
followed with an on_event listener, all with the project's own monotonic timestamps.

With "recognizer_cpu_share" in the spec, the recognizer's thread alone is limited to that share of a core
(bench/cpu_limit.py: a Pi-class recognizer); with "sessions": N, the person presses again as soon as a session
is saved, while its transcripts may still be in the making.

Usage: python -m bench.session_probe SPEC.json RESULT.json
"""

import threading
import time
from pathlib import Path

from bench.file_watch import FolderWatch
from bench.probes import cpu_s, now, peak_rss_mb, read_spec, resident_mb, threads_cpu_s, write_result


class TimedSpeaker:
    """The real speaker, noting for every clip when it was handed over, when its first sample went out and
    when it ended."""

    def __init__(self, inner):
        self.inner = inner
        self.rate = inner.rate
        self.clips: list[dict] = []

    def play(self, clip, on_done) -> None:
        self._hand_over(self.inner.play, clip, on_done)

    def play_next(self, clip, on_done) -> None:
        self._hand_over(self.inner.play_next, clip, on_done)

    def _hand_over(self, play, clip, on_done) -> None:
        entry = {"duration_s": clip.duration_s, "play_at": now(), "first_sample_at": None, "done_at": None}
        self.clips.append(entry)

        def done() -> None:
            entry["done_at"] = now()
            on_done()

        sounding = play(clip, done)
        entry["sounding"], entry["frames"] = sounding, len(sounding.samples)

    def skip(self) -> None:
        self.inner.skip()

    def overlay(self, clip) -> None:
        self.inner.overlay(clip)

    def stop(self) -> None:
        self.inner.stop()

    def close(self) -> None:
        self.inner.close()

    def settle(self) -> None:
        """Note when each clip's first sample went out (the sounding objects are not JSON)."""
        for entry in self.clips:
            sounding = entry.pop("sounding")
            entry["first_sample_at"], entry["first_frame"] = sounding.first_sample_at, sounding.first_frame

    def __getattr__(self, name):
        return getattr(self.inner, name)


class TimedWorker:
    """The real worker, keeping the audio each answer fed it and noting when its notes were saved."""

    def __init__(self, inner):
        self.inner = inner
        self.jobs: list[dict] = []
        self._by_handle: dict[int, dict] = {}
        self.saved = threading.Semaphore(0)
        self.session = 1
        """The session the next answers belong to."""

    def begin(self, rate: int):
        handle = self.inner.begin(rate)
        job = {
            "rate": rate,
            "chunks": [],
            "begin_at": now(),
            "session": self.session,
            "index": 1 + sum(j["session"] == self.session for j in self.jobs),
        }
        self.jobs.append(job)
        self._by_handle[id(handle)] = job
        return handle

    def recognize(self, rate: int):
        from audio.worker import RecognitionJob

        return RecognitionJob(self, rate)

    def feed(self, handle, samples) -> None:
        self._by_handle[id(handle)]["chunks"].append(samples)
        self.inner.feed(handle, samples)

    def end(self, handle, on_transcript) -> None:
        job = self._by_handle[id(handle)]
        job["end_at"] = now()

        def done(transcript) -> None:
            job["transcript_at"] = now()
            on_transcript(transcript)  # the session notes it (session.json, transcript.md)
            job["text"] = transcript.text if transcript else None

        def recognizer_done() -> None:
            """Queued after the end, so it runs once the recognizer is freed too (Kaldi takes ~0.1 s for that)."""
            job["recognizer_done_at"] = now()
            job["cpu_at_recognizer_done"], job["threads_at_recognizer_done"] = cpu_s(), threads_cpu_s()
            job["recognizer_thread"] = str(threading.get_native_id())
            self.saved.release()

        self.inner.end(handle, done)
        self.inner.later(recognizer_done)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def main() -> None:
    spec = read_spec()
    main_at = now()
    import numpy as np

    from audio.simulated_microphone import SimulatedMicrophone
    from audio.speaker import SoundDeviceSpeaker
    from bench.cpu_limit import ThreadCpuLimit
    from content.phrases import PHRASES
    from device.config import load_config
    from device.flow.events import EventKind, Phase
    from device.flow.service import ServiceLoop
    from device.setup.demo import MockButton
    from device.setup.simulated_person import Ending, SimulatedPerson
    from device.setup.wiring import build_device

    imported_at = now()

    config = load_config(
        env={},
        overrides={
            "storage": {"data_dir": spec["data_dir"], "cache_dir": spec["cache_dir"]},
            "model": {"path": spec["model"]},
            "content": {"pack": spec["pack"], "packs_dir": spec["packs_dir"]},
        },
    )
    answers = [np.load(path) for path in spec["answers"]]
    microphone = SimulatedMicrophone(spec["mic_rate"], config.audio.chunk_s)
    events: list[dict] = []
    listening: list[dict] = []
    gestures: list[float] = []
    ready = threading.Event()
    finished = threading.Event()

    before_speaker = set(threads_cpu_s())
    resident_before, libraries_before = resident_mb()
    try:
        speaker = SoundDeviceSpeaker(config.audio.output_device, config.audio.output_rate)
    except Exception as error:
        raise SystemExit(f"no PortAudio speaker ({error}): start the rig (bash scripts/audio-rig.sh start)")
    resident_after, libraries_after = resident_mb()
    speaker_libraries = {path: mb for path, mb in libraries_after.items() if path not in libraries_before}
    speaker_threads = {
        tid: Path(f"/proc/self/task/{tid}/comm").read_text().strip() for tid in set(threads_cpu_s()) - before_speaker
    }  # PortAudio's callback, the audio library's
    speaker = TimedSpeaker(speaker)
    device = build_device(config, speaker=speaker, open_microphone=lambda: microphone)
    built_at = now()
    limit = None
    if spec.get("recognizer_cpu_share"):
        limit = ThreadCpuLimit(spec["recognizer_cpu_share"])
        limit.add(device.parts.worker.thread_id)
    worker = TimedWorker(device.parts.worker)
    device.parts.worker = worker
    button = MockButton(config, lambda gesture: (gestures.append(gesture.at), device.parts.inbox.put(gesture)))
    person = SimulatedPerson(
        lambda question: microphone.speak(answers[(question - 1) % len(answers)]),
        button.press,
        button.hold,
        plan=(Ending.PRESS,),
        think_s=spec["think_s"],
    )

    def on_event(event) -> None:
        events.append(
            {"phase": event.phase.value, "kind": event.kind.value, "question": event.question, "at": event.at}
        )
        if event.phase is Phase.LISTENING:
            listening.append({"question": event.question, "at": event.at, "cpu": cpu_s(), "threads": threads_cpu_s()})
        if event.phase is Phase.READY:
            (finished if event.kind is EventKind.SESSION_SAVED else ready).set()
        person.on_event(event)

    device.parts.on_event = on_event
    loop = ServiceLoop(device, config.data_dir, replay=lambda: None)
    flow = threading.Thread(target=loop.run, name="flow", daemon=True)
    flow.start()
    marks: dict[str, float] = {}

    def wait_model() -> None:
        device.model.get()
        marks["model_loaded_at"] = now()

    def wait_prompts() -> None:
        device.parts.prompts.render_all(device.pack.prompts + PHRASES.all())  # waits for the background batch
        marks["prompts_rendered_at"] = now()

    waiters = [threading.Thread(target=wait_model), threading.Thread(target=wait_prompts)]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join(timeout=300)
    ready.wait(timeout=60)

    time.sleep(1.0)  # let start-up settle, then the idle cost: speaker stream open, flow waiting for a press
    idle_cpu, idle_at = cpu_s(), now()
    time.sleep(spec["idle_s"])
    idle_rate = (cpu_s() - idle_cpu) / (now() - idle_at)

    sessions_dir = config.layout.sessions
    sessions_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    watch = FolderWatch(sessions_dir)
    presses = []
    for session in range(1, spec.get("sessions", 1) + 1):
        worker.session = session
        finished.clear()
        presses.append({"at": now(), "transcripts_pending": sum("transcript_at" not in j for j in worker.jobs)})
        button.press()
        if not finished.wait(timeout=spec["timeout_s"]):
            raise SystemExit(f"session {session} did not finish in time")
    for _ in worker.jobs:
        if not worker.saved.acquire(timeout=spec["timeout_s"]):
            raise SystemExit("a transcript never arrived")
    peak = peak_rss_mb()
    time.sleep(0.2)  # the last renames reach the watcher
    for job in worker.jobs:
        # set_transcript writes session.json, then transcript.md: the notes are saved when that lands
        job["saved_at"] = watch.landed("transcript.md", job["transcript_at"])
        job["compressed_at"] = watch.landed(f"{job['index']:02d}.opus", job["transcript_at"])
    throttled_s = limit.throttled_s() if limit else 0.0
    loop.stopping.set()
    flow.join(timeout=5)
    person.close()
    button.close()
    device.close()
    if limit:
        limit.close()
    speaker.settle()

    audio = []
    for n, job in enumerate(worker.jobs, start=1):
        path = f"{spec['work_dir']}/fed{n}.npz"
        chunks = job.pop("chunks")
        np.savez(path, audio=np.concatenate(chunks).astype(np.int16), lengths=np.array([len(c) for c in chunks]))
        job["fed_s"] = sum(len(c) for c in chunks) / job["rate"]
        audio.append(path)
    sessions = sorted((config.data_dir / "sessions").iterdir())
    write_result(
        {
            "spawned_at": spec["spawned_at"],
            "main_at": main_at,
            "imported_at": imported_at,
            "built_at": built_at,
            "ready_at": next(e["at"] for e in events if e["phase"] == "ready"),
            **marks,
            "idle_cpu_per_s": idle_rate,
            "speaker_threads": speaker_threads,
            "flow_thread": str(flow.native_id),
            "peak_rss_mb": peak,
            "speaker_rss_mb": resident_after - resident_before,
            "speaker_libraries_mb": {Path(path).name: mb for path, mb in speaker_libraries.items()},
            "speaker_rate": speaker.rate,
            "gestures": gestures,
            "clips": speaker.clips,
            "events": events,
            "listening": listening,
            "jobs": worker.jobs,
            "fed_audio": audio,
            "session_dir": str(sessions[-1]),
            "session_dirs": [str(s) for s in sessions],
            "presses": presses,
            "recognizer_throttled_s": throttled_s,
        }
    )


if __name__ == "__main__":
    main()
