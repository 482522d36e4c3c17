"""Sessions written the way the device writes them, dated by a clock the test sets (no sleeping)."""

from datetime import datetime
from pathlib import Path

import numpy as np

from audio.recognizer import Transcript
from audio.wavfile import WavWriter
from content.packs import find_pack
from device.clock import ClockStatus
from device.notes.session_notes import SessionNotes

RATE = 8000
PACK = find_pack("therapy-relationship")
TRUSTED = ClockStatus(True, "set by the test")


def samples_for(tag: int) -> np.ndarray:
    """A tenth of a second whose every sample is `tag`: the replay test tells recordings apart by it."""
    return np.full(RATE // 10, tag, dtype=np.int16)


def dated_session(
    data_dir: Path,
    started: datetime,
    said: dict[int, str],
    tag: int = 1000,
    clock: ClockStatus = TRUSTED,
    marked: tuple[int, ...] = (),
) -> SessionNotes:
    """A finished session begun at `started`: answer i says said[i] (recorded as samples tagged tag + i), and
    those in `marked` are marked for the therapist; questions not in `said` are skipped."""
    notes = SessionNotes.begin(data_dir, PACK, RATE, now=started, clock=clock)
    for index in range(1, len(PACK.questions) + 1):
        if index not in said:
            notes.add_answer(index, None, 0.0, "skipped", "no_speech")
            continue
        writer = WavWriter(notes.audio_path(index), RATE)
        writer.write(samples_for(tag + index))
        writer.finish()
        notes.add_answer(index, notes.audio_path(index).name, 0.1, "answered", "silence")
        notes.set_transcript(index, Transcript(said[index], ()))
        if index in marked:
            notes.mark_for_therapist(index)
    notes.finish("complete")
    return notes
