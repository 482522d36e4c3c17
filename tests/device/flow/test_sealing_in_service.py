"""The device seals what is due at every start and, while idle, now and then (privacy.readable_for_h)."""

import threading
import time
from datetime import datetime, timedelta, timezone

from audio.fakes import FakeRecognizer, FakeSpeaker
from audio.synthesis import PromptCache
from audio.worker import Worker
from bench.archive_factory import write_session
from device.config import load_config
from device.flow import service
from device.flow.inbox import Inbox
from device.flow.parts import SessionParts
from device.flow.service import Device, ServiceLoop
from device.notes import record
from device.notes.opening import new_identity
from device.setup.wiring import build_device
from tests.faults.support import tiny_pack
from tests.rig import korean_model


def test_every_start_seals_the_sessions_that_are_due_and_only_those(tmp_path):
    data = tmp_path / "data"
    now = datetime.now(timezone.utc)
    old = write_session(data, now - timedelta(days=3), [["long", "ago"]], rate=8000)
    recent = write_session(data, now - timedelta(minutes=1), [["just", "now"]], rate=8000)
    record.write(recent, {**record.read(recent), "ended_at": now.isoformat()})
    public = new_identity(tmp_path / "key")
    config = load_config(
        env={},
        overrides={
            "storage": {"data_dir": str(data), "cache_dir": str(tmp_path / "cache"), "audio_format": "wav"},
            "model": {"path": str(korean_model())},
            "privacy": {"recipient": public},
        },
    )
    device = build_device(config, speaker=FakeSpeaker(), open_microphone=lambda: None)
    try:
        device.parts.worker.drain()
    finally:
        device.close()
    assert record.is_sealed(record.read(old))
    assert not record.is_sealed(record.read(recent))  # readable for 24 hours yet


def test_the_idle_service_asks_for_sealing_now_and_then(tmp_path, monkeypatch):
    monkeypatch.setattr(service, "SEAL_EVERY_S", 0.05)
    asked = []
    worker = Worker(FakeRecognizer)
    parts = SessionParts(
        FakeSpeaker(),
        lambda: None,
        PromptCache(tmp_path / "cache"),
        worker,
        Inbox(),
        seal=lambda: asked.append(threading.current_thread().name),
    )
    loop = ServiceLoop(Device(tiny_pack(tmp_path / "packs"), parts, None, model=None), tmp_path, replay=lambda: None)
    runner = threading.Thread(target=loop.run)
    runner.start()
    time.sleep(1.3)  # the loop wakes at least once a second
    loop.stopping.set()
    runner.join(5)
    worker.drain()
    worker.close()
    assert asked and set(asked) == {"worker"}  # on the recognizer's worker, never beside it
