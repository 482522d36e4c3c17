"""A stand-in for the device in another process: owns a data dir as ROLE and, as the service does while it
records, keeps a session open with an answer being written (NN.wav.part). Prints "held" once it is so,
then waits for stdin to close (or to be killed).

    python -m tests.device.notes.notes_holder DATA_DIR ROLE

Tests start it with `holding`.
"""

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np

from audio.wavfile import WavWriter
from device.notes.owner import own
from device.notes.session_notes import SessionNotes
from tests.faults.support import tiny_pack
from tests.rig import ROOT

RATE = 16000


def main(data_dir: Path, role: str) -> None:
    with own(data_dir, role):
        notes = SessionNotes.begin(
            data_dir, tiny_pack(data_dir.parent / "holder-packs"), RATE, now=datetime(2026, 3, 2, 9, 0, 0)
        )
        writer = WavWriter(notes.audio_path(1), RATE)
        writer.write((np.random.default_rng(1).standard_normal(RATE) * 3000).astype(np.int16))
        writer.sync()
        print("held", notes.folder.name, flush=True)
        sys.stdin.read()


@contextmanager
def holding(data_dir: Path, role: str = "service") -> Iterator[tuple[subprocess.Popen, str]]:
    """This module in another process, holding `data_dir` as `role` while it records: (the process, the name of
    the session being recorded). The process is killed on the way out."""
    holder = subprocess.Popen(
        [sys.executable, "-m", __name__, str(data_dir), role],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        word, live = holder.stdout.readline().split()
        assert word == "held"
        yield holder, live
    finally:
        holder.kill()
        holder.wait()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
