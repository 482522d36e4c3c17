"""A crash-safe WAV writer: audio reaches the disk as it is captured, the header kept true."""
import errno
import logging
import os
import struct
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from common.files import FILE_MODE, fsync_dir

log = logging.getLogger(__name__)

HEADER_BYTES = 44
PART_SUFFIX = ".part"
DISK_ERRORS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
"""errnos that mean "no room to write": the answer so far is sealed and kept."""


_SYNCER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wav-sync")
"""Where answers' files are made durable while they are recorded: an fsync (tens of ms on an SD card)
never holds up the thread that handles the microphone and the button."""


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in DISK_ERRORS


def wav_header(rate: int, data_bytes: int) -> bytes:
    """The 44-byte header of a 16-bit mono PCM WAV file holding `data_bytes` of samples."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + data_bytes, b"WAVE",
        b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16,
        b"data", data_bytes,
    )


def header_rate(header: bytes) -> int | None:
    """The sample rate of one of our own headers (16-bit mono PCM), or None if `header` is not one."""
    if len(header) < HEADER_BYTES:
        return None
    riff, _, wave, fmt, fmt_size, kind, channels, rate, _, _, bits, _, _ = struct.unpack("<4sI4s4sIHHIIHH4sI", header[:HEADER_BYTES])
    if (riff, wave, fmt, fmt_size, kind, channels, bits) != (b"RIFF", b"WAVE", b"fmt ", 16, 1, 1, 16):
        return None
    return rate if 1000 <= rate <= 384000 else None


def seal_part(part_path: Path, final_path: Path, fallback_rate: int) -> int | None:
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


class WavWriter:
    """Writes `<final>.part`, syncing about once a second in the background, and renames it into place when done.

    At any moment the part file is a playable WAV holding all but about
    `sync_every_s` of what was written. Syncs run on the shared sync thread, so
    `write` never waits for the disk to flush; a sync that failed is raised by
    the next `write`. A full disk (ENOSPC, EFBIG) on any write leaves the writer
    able to `finish()`: the file is cut back to the samples written whole (or, if
    even that cannot be made durable, to the last sync).
    """

    def __init__(self, final_path: Path, rate: int, sync_every_s: float = 1.0):
        self.final_path = final_path
        self.part_path = final_path.with_name(final_path.name + PART_SUFFIX)
        self.rate = rate
        self.sync_every_s = sync_every_s
        self.data_bytes = 0
        self.synced_bytes = 0
        self._syncing: Future | None = None
        self._fd = os.open(self.part_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            os.fchmod(self._fd, FILE_MODE)
            self._write(wav_header(rate, 0))
        except BaseException:
            self.abandon()  # never leave an empty or header-less part behind
            raise
        self._last_sync = time.monotonic()

    @property
    def frames(self) -> int:
        return self.data_bytes // 2

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def write(self, samples) -> None:
        """Append int16 mono samples; start a background sync when a second has passed since the last one.

        If the disk is full, part of `samples` may have reached the file; it is
        not counted, and `finish()` cuts it off.
        """
        if self._syncing is not None and self._syncing.done():
            self._syncing, failed = None, self._syncing.exception()
            if failed is not None:
                raise failed
        data = samples.astype("<i2", copy=False).tobytes()
        self._write(data)
        self.data_bytes += len(data)
        if self._syncing is None and time.monotonic() - self._last_sync >= self.sync_every_s:
            self._last_sync = time.monotonic()
            self._syncing = _SYNCER.submit(self._sync_header, self.data_bytes)

    def _sync_header(self, data_bytes: int) -> None:
        """On the sync thread: a header for the first `data_bytes`, then fsync (appends carry on meanwhile)."""
        os.pwrite(self._fd, wav_header(self.rate, data_bytes), 0)
        os.fsync(self._fd)
        self.synced_bytes = data_bytes

    def _sync_done(self) -> None:
        """Wait for a background sync in flight; the file is sealed (or dropped) after it, never under it."""
        syncing, self._syncing = self._syncing, None
        if syncing is not None and syncing.exception() is not None:
            log.warning("a background sync of %s failed: %s", self.part_path.name, syncing.exception())

    def sync(self) -> None:
        """Make everything written so far durable, with a header that describes it."""
        self._sync_done()
        self._seal_at(self.data_bytes)

    def _seal_at(self, data_bytes: int) -> None:
        if data_bytes < self.data_bytes or os.fstat(self._fd).st_size != HEADER_BYTES + data_bytes:
            os.ftruncate(self._fd, HEADER_BYTES + data_bytes)
        os.pwrite(self._fd, wav_header(self.rate, data_bytes), 0)
        os.fsync(self._fd)
        self.data_bytes = data_bytes
        self.synced_bytes = data_bytes
        self._last_sync = time.monotonic()

    def finish(self, keep_frames: int | None = None) -> Path | None:
        """Trim to `keep_frames` (if given), seal the file and rename it to its final name.

        Returns the final path, or None when no audio could be kept (the part is removed).
        """
        keep = self.data_bytes if keep_frames is None else min(self.data_bytes, max(0, keep_frames) * 2)
        self._sync_done()
        try:
            try:
                self._seal_at(keep)
            except OSError as error:
                if not is_disk_full(error):
                    raise
                log.warning("disk full while sealing %s; keeping the last synced audio", self.part_path.name)
                self._seal_at(min(keep, self.synced_bytes))  # shrinking needs no new space
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
        self._sync_done()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.part_path.unlink(missing_ok=True)
