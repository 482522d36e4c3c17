"""The probes' own figures: a probe's peak memory is its own, whatever its parent holds; resident memory
and the libraries that hold it."""

import ctypes
import shutil
import subprocess
import sys
from pathlib import Path

from bench.probes import peak_rss_mb, resident_mb
from tests.rig import ROOT

PARENT_MB = 300


def test_a_probe_started_by_a_large_process_reports_its_own_peak_memory():
    held = bytearray(PARENT_MB * 1_000_000)  # touched: resident in this process, as a loaded model is
    held[::4096] = b"\1" * len(held[::4096])
    assert peak_rss_mb() > PARENT_MB
    child = subprocess.run(
        [sys.executable, "-c", "from bench.probes import peak_rss_mb, resident_mb; print(peak_rss_mb())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(child.stdout) < PARENT_MB / 3, child.stdout


def test_resident_memory_counts_touched_memory_and_names_each_library_loaded(tmp_path):
    """What the session probe reports for opening the speaker: VmRSS before and after, and the libraries new
    after (a copy of this process's libm, loaded from a new path, stands in for an ALSA plugin)."""
    libm = next(Path(line.split()[-1]) for line in open("/proc/self/maps") if "/libm.so" in line)
    stand_in = tmp_path / "libstand-in.so"
    shutil.copy(libm, stand_in)
    before, libraries_before = resident_mb()
    held = bytearray(PARENT_MB * 1_000_000)
    held[::4096] = b"\1" * len(held[::4096])
    ctypes.CDLL(str(stand_in))
    after, libraries_after = resident_mb()
    assert after - before > PARENT_MB
    assert str(stand_in) not in libraries_before
    assert 0 < libraries_after[str(stand_in)] <= stand_in.stat().st_size / 1e6
    assert libraries_after[str(libm)] > 0
