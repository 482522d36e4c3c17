"""A crash-safe WAV writer: audio reaches the disk as it is captured, the header kept true."""
import os
import struct
import time
from pathlib import Path

from common.files import FILE_MODE, fsync_dir

HEADER_BYTES = 44
PART_SUFFIX = ".part"


def wav_header(rate: int, data_bytes: int) -> bytes:
    """The 44-byte header of a 16-bit mono PCM WAV file holding `data_bytes` of samples."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + data_bytes, b"WAVE",
        b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16,
        b"data", data_bytes,
    )


class WavWriter:
    """Writes `<final>.part`, syncing about once a second, and renames it into place when done.

    At any moment the part file is a playable WAV holding all but at most
    `sync_every_s` of what was written.
    """

    def __init__(self, final_path: Path, rate: int, sync_every_s: float = 1.0):
        self.final_path = final_path
        self.part_path = final_path.with_name(final_path.name + PART_SUFFIX)
        self.rate = rate
        self.sync_every_s = sync_every_s
        self.data_bytes = 0
        self._fd = os.open(self.part_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        os.fchmod(self._fd, FILE_MODE)
        self._write(wav_header(rate, 0))
        self._last_sync = time.monotonic()

    @property
    def frames(self) -> int:
        return self.data_bytes // 2

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def write(self, samples) -> None:
        """Append int16 mono samples; sync to disk when a second has passed since the last sync."""
        data = samples.astype("<i2", copy=False).tobytes()
        self._write(data)
        self.data_bytes += len(data)
        if time.monotonic() - self._last_sync >= self.sync_every_s:
            self.sync()

    def sync(self) -> None:
        """Make everything written so far durable, with a header that describes it."""
        os.pwrite(self._fd, wav_header(self.rate, self.data_bytes), 0)
        os.fsync(self._fd)
        self._last_sync = time.monotonic()

    def finish(self, keep_frames: int | None = None) -> Path:
        """Trim to `keep_frames` (if given), seal the file and rename it to its final name."""
        if keep_frames is not None and keep_frames < self.frames:
            self.data_bytes = keep_frames * 2
            os.ftruncate(self._fd, HEADER_BYTES + self.data_bytes)
        self.sync()
        os.close(self._fd)
        self._fd = -1
        os.replace(self.part_path, self.final_path)
        fsync_dir(self.final_path.parent)
        return self.final_path

    def abandon(self) -> None:
        """Close without renaming (used when nothing worth keeping was written)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.part_path.unlink(missing_ok=True)
