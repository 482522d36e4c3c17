"""The answer writer syncs in the background: a slow disk never holds up a write, and nothing is lost to it."""
import errno
import os
import threading
import wave

import numpy as np
import pytest

from audio import wavfile
from audio.wavfile import WavWriter, is_disk_full

RATE = 16000
CHUNK = np.arange(1600, dtype=np.int16)


def samples_of(path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


def syncs_done() -> None:
    """Wait until every sync handed to the (single, first-in first-out) sync thread has run."""
    wavfile._SYNCER.submit(lambda: None).result(timeout=10)


@pytest.fixture
def held_fsync(monkeypatch):
    """os.fsync blocks until the test releases it, as an SD card's can for tens of milliseconds."""
    real_fsync, entered, release = os.fsync, threading.Event(), threading.Event()

    def slow_fsync(fd):
        entered.set()
        assert release.wait(timeout=10)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    yield entered, release
    release.set()


def test_writes_go_on_while_a_sync_waits_for_the_disk(tmp_path, held_fsync):
    entered, release = held_fsync
    writer = WavWriter(tmp_path / "01.wav", RATE, sync_every_s=0)
    writer.write(CHUNK)  # starts a sync, which is held in fsync
    assert entered.wait(timeout=10)
    for _ in range(9):
        writer.write(CHUNK)
    assert writer.frames == 10 * len(CHUNK) and not release.is_set()

    finishing = threading.Thread(target=writer.finish)
    finishing.start()
    finishing.join(timeout=0.3)
    assert finishing.is_alive(), "finish() sealed the file under a sync still in flight"
    release.set()
    finishing.join(timeout=10)
    assert np.array_equal(samples_of(tmp_path / "01.wav"), np.tile(CHUNK, 10))
    assert not (tmp_path / "01.wav.part").exists()


def test_a_background_sync_leaves_a_playable_part_describing_what_it_synced(tmp_path):
    writer = WavWriter(tmp_path / "01.wav", RATE, sync_every_s=0)
    writer.write(CHUNK)
    syncs_done()
    assert writer.synced_bytes == 2 * len(CHUNK)
    assert np.array_equal(samples_of(writer.part_path), CHUNK)
    writer.abandon()
    assert not writer.part_path.exists()


def test_a_sync_that_failed_for_lack_of_space_is_raised_by_the_next_write(tmp_path, monkeypatch):
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    writer = WavWriter(tmp_path / "01.wav", RATE, sync_every_s=0)
    writer.write(CHUNK)
    syncs_done()
    monkeypatch.setattr(os, "fsync", real_fsync)
    with pytest.raises(OSError) as raised:
        writer.write(CHUNK)
    assert is_disk_full(raised.value)
    assert writer.finish() == tmp_path / "01.wav"
    assert np.array_equal(samples_of(tmp_path / "01.wav"), CHUNK)
