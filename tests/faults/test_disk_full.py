"""A real full disk: a 2 MB tmpfs (ENOSPC) and RLIMIT_FSIZE on a session process (EFBIG)."""

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from audio.compress import decode
from audio.endpointing import EndpointSettings
from audio.fakes import speech
from audio.wavfile import HEADER_BYTES
from common.files import free_bytes
from content.phrases import PHRASES
from device.flow.events import EventKind, Phase
from device.flow.inbox import AudioChunk
from device.flow.session import SessionSettings
from device.notes.record import RESERVE_NAME
from device.notes.recovery import recover
from tests.device.flow.session_harness import RATE
from tests.faults.support import audio_seconds, leftovers, session_records, small_tmpfs, tiny_pack

pytestmark = pytest.mark.durable
ROOT = Path(__file__).resolve().parents[2]
DISK_BYTES = 2 * 1024 * 1024
SETTINGS = SessionSettings(endpoint=EndpointSettings(1.0, 3.0, 300.0), min_free_bytes=600_000)


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs; fails (never skips) where it cannot be mounted."""
    with small_tmpfs(tmp_path / "disk", str(DISK_BYTES)) as mount:
        yield mount


def only_session(data_dir: Path):
    [(folder, record)] = session_records(data_dir)
    return folder, record


@pytest.mark.root
def test_enospc_mid_answer_keeps_the_answer_says_so_and_returns_to_ready(small_disk, fake_device, tmp_path):
    data = small_disk / "data"
    pack = tiny_pack(tmp_path / "packs")
    notes = fake_device.run([speech(20, RATE) + speech(100, RATE)], SETTINGS, data, pack)  # far more than fits
    assert notes is not None
    folder, record = only_session(data)
    [answer] = record["answers"]
    assert (answer["status"], answer["ended_by"]) == ("answered", "disk_full")
    assert record["status"] == "ended_early"
    assert answer["duration_s"] > 30, "most of the disk's worth of speech is kept"
    samples, rate = decode(folder / answer["audio"])
    assert len(samples) / rate == pytest.approx(answer["duration_s"], abs=0.02)
    assert fake_device.said(PHRASES.disk_full)
    assert [e.kind for e in fake_device.events if e.phase is Phase.ERROR] == [EventKind.DISK_FULL]
    assert fake_device.events[-1].phase is Phase.READY
    assert leftovers(data) == [], "no part, temp, reserve or empty file is left"
    assert answer["transcript"] is not None  # the recognizer still heard it

    # Compression (after recognition) gave most of the space back; fill it again below the floor.
    # The device keeps running: the next press is refused out loud, nothing is written.
    assert answer["audio"] == "01.opus"
    (small_disk / "filler").write_bytes(bytes(free_bytes(data) - SETTINGS.min_free_bytes // 2))
    fake_device.speaker.played.clear()
    assert fake_device.run([speech(2, RATE)], SETTINGS, data, pack) is None
    assert fake_device.said(PHRASES.no_space_to_start)
    assert fake_device.events[-1].phase is Phase.READY
    assert len(session_records(data)) == 1 and leftovers(data) == []


@pytest.mark.root
def test_enospc_when_even_the_notes_cannot_be_written_keeps_the_audio_for_recovery(
    small_disk, real_time_device, tmp_path
):
    """The disk fills (and the space reserve is gone) mid-answer: session.json cannot take the answer."""
    data = small_disk / "data"
    pack = tiny_pack(tmp_path / "packs")
    filler = small_disk / "filler"

    def fill_the_disk():
        for reserve in data.rglob(RESERVE_NAME):
            reserve.unlink()
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(bytes(65536))
            except OSError:
                pass

    def when_recording():
        """Runs in the microphone's script: wait (on a thread) for the answer's part to hold the 2 s said so far
        (the flow may still be writing them under load), then fill the disk."""

        def wait_then_fill():
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                parts = list(data.rglob("01.wav.part"))
                if parts and parts[0].stat().st_size >= HEADER_BYTES + 2 * RATE * 2:
                    break
                time.sleep(0.005)
            fill_the_disk()
            for chunk in speech(30, RATE):
                real_time_device.inbox.put(AudioChunk(capture_ids[0], chunk))

        threading.Thread(target=wait_then_fill).start()

    capture_ids = []
    real_time_device.inbox.put = recording_capture_ids(real_time_device.inbox.put, capture_ids)
    real_time_device.run([speech(2, RATE) + [when_recording]], SETTINGS, data, pack)
    assert real_time_device.said(PHRASES.disk_full)
    assert real_time_device.events[-1].phase is Phase.READY
    assert leftovers(data) == []
    folder, record = only_session(data)
    assert record["status"] == "in_progress" and record["answers"] == []  # the last good session.json
    [audio] = [p for p in folder.iterdir() if p.name.startswith("01.")]  # WAV, or Opus if that still fitted
    assert audio_seconds(audio) >= 2.0

    filler.unlink()
    report = recover(data)
    assert report.noted and report.interrupted
    _, record = only_session(data)
    assert [(a["status"], a["audio"]) for a in record["answers"]] == [("interrupted", audio.name)]
    assert record["status"] == "interrupted"


def recording_capture_ids(put, ids):
    """Wraps inbox.put to learn the session's capture id from its first chunk."""

    def spy(item):
        if isinstance(item, AudioChunk) and not ids:
            ids.append(item.capture)
        put(item)

    return spy


EFBIG_SESSION = textwrap.dedent("""
    import json, resource, signal, sys, tempfile
    from pathlib import Path
    from audio.fakes import speech
    from audio.endpointing import EndpointSettings
    from content.phrases import PHRASES
    from device.flow.session import SessionSettings
    from tests.device.flow.session_harness import RATE, FakeDevice
    from tests.faults.support import tiny_pack

    tmp, limit = Path(sys.argv[1]), int(sys.argv[2])
    fake_device = FakeDevice(tmp)
    pack = tiny_pack(tmp / "packs")
    fake_device.prompts.render_all([*pack.prompts, *PHRASES.all()])  # before the limit: prompt WAVs are bigger
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    settings = SessionSettings(endpoint=EndpointSettings(1.0, 3.0, 300.0), min_free_bytes=0)
    out = []
    for n in range(2):
        fake_device.speaker.played.clear()
        notes = fake_device.run([speech(60, RATE)], settings, tmp / "data", pack)
        out.append({"folder": str(notes.folder), "disk_full_said": fake_device.said(PHRASES.disk_full),
                    "last_phase": fake_device.events[-1].phase.value})
    fake_device.close()
    print(json.dumps(out))
""")


def test_efbig_from_rlimit_fsize_keeps_the_answer_and_the_next_session_works(tmp_path):
    limit = 600_000
    result = subprocess.run(
        [sys.executable, "-c", EFBIG_SESSION, str(tmp_path), str(limit)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    runs = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(runs) == 2
    for run in runs:
        assert run["disk_full_said"] and run["last_phase"] == "ready"
        folder = Path(run["folder"])
        record = json.loads((folder / "session.json").read_text())
        [answer] = record["answers"]
        assert (answer["status"], answer["ended_by"]) == ("answered", "disk_full")
        samples, rate = decode(folder / answer["audio"])
        assert len(samples) / rate == pytest.approx(answer["duration_s"], abs=0.02)
        assert answer["duration_s"] == pytest.approx((limit - 44) / 2 / RATE, abs=0.25)
        assert record["status"] == "ended_early"
    assert leftovers(tmp_path / "data") == []
    assert os.path.getsize(Path(runs[0]["folder"]) / "session.json") < limit
