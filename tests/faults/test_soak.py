"""A soak: 300 sessions back to back in one process on fakes; memory, file descriptors and threads stay put.

`make test` runs the first 90 of them (SOAK=full, `make soak`, all 300). Needs root for its tmpfs."""

import gc
import json
import subprocess
import threading
import time

import pytest

from audio.endpointing import EndpointSettings
from audio.fakes import ScriptedMicrophone, silence, speech
from device.flow.session import SessionSettings
from tests.device.flow.session_harness import RATE, FakeDevice
from tests.faults.support import leftovers, open_fds, proc_status, rounds, tiny_pack

SESSIONS = rounds(300, 90)
WARM_UP = 30
MAX_GROWTH_KB = 5 * 1024
SETTINGS = SessionSettings(endpoint=EndpointSettings(0.5, 1.0, 3.0), min_free_bytes=0)
ENDINGS = [
    lambda: [speech(0.6, RATE) + silence(0.6, RATE), speech(0.4, RATE) + silence(0.6, RATE)],  # both by silence
    lambda: [silence(1.1, RATE), speech(0.5, RATE) + [ScriptedMicrophone.LOSE]],  # skipped, then mic lost
    lambda: [speech(3.2, RATE), silence(1.1, RATE)],  # max length, then skipped
]


@pytest.fixture
def ram_disk(tmp_path):
    """The notes on a tmpfs: the soak measures leaks, not the test machine's fsync speed."""
    mount = tmp_path / "ram"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m,mode=0700", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.mark.slow
@pytest.mark.root
def test_three_hundred_sessions_leave_no_growth_in_memory_fds_or_threads(tmp_path, ram_disk):
    fake_device = FakeDevice(tmp_path)
    pack = tiny_pack(tmp_path / "packs")
    data = ram_disk / "data"
    try:
        # Threads and fds of earlier tests may still be winding down: only growth counts.
        base_fds, base_threads = open_fds(), set(threading.enumerate())
        base_os_threads = proc_status("Threads")
        started = time.monotonic()
        rss_after_warm_up = 0
        for n in range(SESSIONS):
            notes = fake_device.run(ENDINGS[n % len(ENDINGS)](), SETTINGS, data, pack)
            assert notes is not None
            fake_device.events.clear()
            fake_device.speaker.played.clear()
            if n + 1 == WARM_UP:
                gc.collect()
                rss_after_warm_up = proc_status("VmRSS")
        gc.collect()
        rss_end = proc_status("VmRSS")
        elapsed = time.monotonic() - started
        fds, threads, os_threads = open_fds(), set(threading.enumerate()), proc_status("Threads")
    finally:
        fake_device.close()
    folders = sorted((data / "sessions").iterdir())
    assert len(folders) == SESSIONS
    statuses = {json.loads((f / "session.json").read_text())["status"] for f in folders}
    assert statuses == {"complete", "ended_early"}
    assert leftovers(data) == []
    growth = rss_end - rss_after_warm_up
    print(
        f"\nsoak: {SESSIONS} sessions in {elapsed:.0f} s; RSS {rss_after_warm_up / 1024:.1f} MB after {WARM_UP}, "
        f"{rss_end / 1024:.1f} MB after {SESSIONS} (growth {growth / 1024:+.2f} MB); fds {base_fds} -> {fds}; "
        f"threads {len(base_threads)} -> {len(threads)} (OS threads {base_os_threads} -> {os_threads})"
    )
    assert growth < MAX_GROWTH_KB
    assert fds <= base_fds
    assert [t.name for t in threads - base_threads] == [] and os_threads <= base_os_threads
