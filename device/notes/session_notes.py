"""One session's notes on disk: a folder of answer recordings, session.json and transcript.md."""

import logging
import os
import threading
from datetime import datetime
from pathlib import Path

from audio.recognizer import Transcript
from common.files import FILE_MODE, fsync_dir, is_disk_full, new_private_dir, private_dir
from content.packs import Pack
from device.clock import ClockStatus, clock_status
from device.notes import record as session_record
from device.notes.record import RESERVE_NAME, AnswerStatus, DataLayout, EndedBy, Raw, SessionStatus, answer_audio_name

RESERVE_BYTES = 256 * 1024
"""Space held back while a session runs, freed when the disk fills so its notes can still be written."""

log = logging.getLogger(__name__)


def _new_folder(data_dir: Path, started: datetime) -> Path:
    """A fresh folder named by the start time, with -2, -3 ... if that second is taken."""
    parent = private_dir(DataLayout(data_dir).sessions)
    base = started.strftime("%Y-%m-%d_%H%M%S")
    for n in range(1, 1000):
        folder = parent / (base if n == 1 else f"{base}-{n}")
        try:
            return new_private_dir(folder)
        except FileExistsError:
            continue
    raise FileExistsError(f"too many sessions started at {base}")


class SessionNotes:
    """Keeps session.json and transcript.md true after every change; safe to update from two threads."""

    def __init__(self, folder: Path, record: Raw):
        self.folder = folder
        self.record = record
        self._lock = threading.Lock()

    @classmethod
    def begin(
        cls, data_dir: Path, pack: Pack, sample_rate: int, now: datetime | None = None, clock: ClockStatus | None = None
    ) -> "SessionNotes":
        """A new session's folder and record: the next number, the start time, and whether the clock was trusted
        (`clock`; by default read from the system)."""
        started = (now or datetime.now()).astimezone()
        layout = DataLayout(Path(data_dir))
        clock = clock or clock_status()
        folder = _new_folder(data_dir, started)
        try:
            seq = session_record.next_sequence(layout)
        except BaseException:
            folder.rmdir()
            raise
        record = session_record.new_session(folder.name, pack, started, sample_rate, seq, clock)
        notes = cls(folder, record)
        try:
            notes.save()
        except BaseException:
            for leftover in folder.iterdir():  # only temp files can be there; nothing was recorded yet
                leftover.unlink()
            folder.rmdir()
            raise
        notes._hold_reserve()
        return notes

    def _hold_reserve(self) -> None:
        """Set aside RESERVE_BYTES on the disk (best effort) for the notes' last writes if it fills."""
        path = self.folder / RESERVE_NAME
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        except OSError as error:
            log.warning("could not set space aside for the notes: %s", error.strerror)
            return
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        except OSError as error:
            log.warning("could not set space aside for the notes: %s", error.strerror)
            os.close(fd)
            path.unlink(missing_ok=True)
            return
        os.close(fd)

    def release_reserve(self) -> bool:
        """Give the reserved space back; True if there was any."""
        try:
            (self.folder / RESERVE_NAME).unlink()
        except FileNotFoundError:
            return False
        return True

    @property
    def id(self) -> str:
        return str(self.record["id"])

    def audio_path(self, index: int) -> Path:
        return self.folder / answer_audio_name(index)

    def add_answer(
        self, index: int, audio: str | None, duration_s: float, status: AnswerStatus, ended_by: EndedBy
    ) -> None:
        """Record a finished answer; its transcript follows later (null until then)."""
        with self._lock:
            session_record.append_answer(
                self.record,
                session_record.new_answer(
                    index, self.record["questions"][index - 1], audio, duration_s, status, ended_by
                ),
            )
            self._save()

    def set_transcript(self, index: int, transcript: Transcript | None) -> None:
        """Fill in an answer's transcript (None: recognition failed, the audio stays the record)."""
        with self._lock:
            session_record.set_transcript(session_record.answer_entry(self.record, index), transcript)
            self._save()

    def mark_for_therapist(self, index: int) -> bool:
        """Mark answer `index` "for my therapist"; False if it has not been noted (yet)."""
        with self._lock:
            if not session_record.mark_for_therapist(self.record, index):
                return False
            self._save()
            return True

    def set_audio(self, index: int, name: str) -> None:
        """Point an answer at its new audio file (after compression)."""
        with self._lock:
            session_record.set_audio(session_record.answer_entry(self.record, index), name)
            self._save()

    def finish(self, status: SessionStatus) -> None:
        """Record how the session ended and give back the reserved space."""
        with self._lock:
            session_record.finish(self.record, status, datetime.now().astimezone().isoformat(timespec="seconds"))
            try:
                self._save()
            finally:
                if self.release_reserve():
                    fsync_dir(self.folder)

    def save(self) -> None:
        with self._lock:
            self._save()

    def _save(self) -> None:
        """Write session.json, then transcript.md, each atomically; on a full disk, free the reserve and retry once."""
        try:
            self._write_files()
        except OSError as error:
            if not is_disk_full(error) or not self.release_reserve():
                raise
            log.warning("disk full: using the space set aside to save session %s", self.id)
            self._write_files()

    def _write_files(self) -> None:
        session_record.write(self.folder, self.record)
        session_record.write_transcript(self.folder, self.record)
