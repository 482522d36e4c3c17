"""A crash-safe WAV writer: audio reaches the disk as it is captured, the header kept true."""

import logging
import os
import struct
from pathlib import Path

import numpy as np

from common.files import FILE_MODE, PART_SUFFIX, fsync_dir, is_disk_full
from common.monotonic_clock import SYSTEM_CLOCK, MonotonicClock

log = logging.getLogger(__name__)

HEADER_BYTES = 44


def wav_header(rate: int, data_bytes: int) -> bytes:
    """The 44-byte header of a 16-bit mono PCM WAV file holding `data_bytes` of samples."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        rate,
        rate * 2,
        2,
        16,
        b"data",
        data_bytes,
    )


def header_rate(header: bytes) -> int | None:
    """The sample rate of one of our own headers (16-bit mono PCM), or None if `header` is not one."""
    if len(header) < HEADER_BYTES:
        return None
    riff, _, wave, fmt, fmt_size, kind, channels, rate, _, _, bits, _, _ = struct.unpack(
        "<4sI4s4sIHHIIHH4sI", header[:HEADER_BYTES]
    )
    if (riff, wave, fmt, fmt_size, kind, channels, bits) != (b"RIFF", b"WAVE", b"fmt ", 16, 1, 1, 16):
        return None
    return rate if 1000 <= rate <= 384000 else None


def finalize_part(part_path: Path, final_path: Path, fallback_rate: int) -> int | None:
    """Repair an unfinished `.part` (from a crash) into a playable `final_path`; return its frames.

    The audio is whatever the file holds: the header's sizes are set from the
    file's length and an odd trailing byte is dropped. A part with no audio at
    all is removed and None returned. Safe to repeat if interrupted: the part is
    fixed in place (the same way each time) and only then renamed.
    """
    fd = os.open(part_path, os.O_RDWR)
    try:
        header = os.pread(fd, HEADER_BYTES, 0)
        rate = header_rate(header) or fallback_rate
        written = os.fstat(fd)
        data_bytes = max(0, written.st_size - HEADER_BYTES) // 2 * 2
        if data_bytes:
            os.ftruncate(fd, HEADER_BYTES + data_bytes)
            os.pwrite(fd, wav_header(rate, data_bytes), 0)
            os.fchmod(fd, FILE_MODE)
            os.utime(fd, ns=(written.st_atime_ns, written.st_mtime_ns))  # still when the person last spoke
            os.fsync(fd)
    finally:
        os.close(fd)
    if not data_bytes:
        part_path.unlink()
        fsync_dir(part_path.parent)
        return None
    os.replace(part_path, final_path)
    fsync_dir(final_path.parent)
    return data_bytes // 2


SYNC_EVERY_S = 0.5
"""How often an answer's audio is made durable while it is recorded: a power cut loses what came since the start
of the last sync that completed, so this plus one sync's time (and what is still on its way from the microphone)."""


class WavWriter:
    """Writes `<final>.part`, syncing every `sync_every_s`, and renames it into place when done.

    At any moment the part file is a playable WAV holding all but at most
    `sync_every_s` (plus one sync's time) of what was written. A full disk (ENOSPC, EFBIG) on any write
    leaves the writer able to `finish()`: the file is cut back to the samples
    written whole (or, if even that cannot be made durable, to the last sync).
    """

    def __init__(
        self, final_path: Path, rate: int, sync_every_s: float = SYNC_EVERY_S, clock: MonotonicClock = SYSTEM_CLOCK
    ):
        self.final_path = final_path
        self.part_path = final_path.with_name(final_path.name + PART_SUFFIX)
        self.rate = rate
        self.sync_every_s = sync_every_s
        self.clock = clock
        self.data_bytes = 0
        self.synced_bytes = 0
        self._fd = os.open(self.part_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            os.fchmod(self._fd, FILE_MODE)
            self._write(wav_header(rate, 0))
            fsync_dir(self.part_path.parent)  # the syncs of its audio are worth nothing if the part's name is lost
        except BaseException:
            self.abandon()  # never leave an empty or header-less part behind
            raise
        self._last_sync = clock.now()

    @property
    def frames(self) -> int:
        return self.data_bytes // 2

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def write(self, samples: np.ndarray) -> None:
        """Append int16 mono samples; sync to disk once `sync_every_s` has passed since the last sync began.

        If the disk is full, part of `samples` may have reached the file; it is
        not counted, and `finish()` cuts it off.
        """
        data = samples.astype("<i2", copy=False).tobytes()
        self._write(data)
        self.data_bytes += len(data)
        if self.clock.now() - self._last_sync >= self.sync_every_s:
            self.sync()

    def sync(self) -> None:
        """Make everything written so far durable, with a header that describes it."""
        self._finalize_at(self.data_bytes)

    def _finalize_at(self, data_bytes: int) -> None:
        began = self.clock.now()  # the next sync is timed from here: a slow fsync must not stretch the interval
        if data_bytes < self.data_bytes or os.fstat(self._fd).st_size != HEADER_BYTES + data_bytes:
            os.ftruncate(self._fd, HEADER_BYTES + data_bytes)
        os.pwrite(self._fd, wav_header(self.rate, data_bytes), 0)
        os.fsync(self._fd)
        self.data_bytes = data_bytes
        self.synced_bytes = data_bytes
        self._last_sync = began

    def finish(self, keep_frames: int | None = None) -> Path | None:
        """Trim to `keep_frames` (if given), finalize the file and rename it to its final name.

        Returns the final path, or None when no audio could be kept (the part is removed).
        """
        keep = self.data_bytes if keep_frames is None else min(self.data_bytes, max(0, keep_frames) * 2)
        try:
            try:
                self._finalize_at(keep)
            except OSError as error:
                if not is_disk_full(error):
                    raise
                log.warning("disk full while finalizing %s; keeping the last synced audio", self.part_path.name)
                self._finalize_at(min(keep, self.synced_bytes))  # shrinking needs no new space
        except BaseException:
            os.close(self._fd)  # the part stays for recovery to repair
            self._fd = -1
            raise
        os.close(self._fd)
        self._fd = -1
        if self.data_bytes == 0:
            self.abandon()
            return None
        os.replace(self.part_path, self.final_path)
        fsync_dir(self.final_path.parent)
        return self.final_path

    def abandon(self) -> None:
        """Close without renaming (used when nothing worth keeping was written)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.part_path.unlink(missing_ok=True)
