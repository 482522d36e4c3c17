"""The probes' own figures: a probe's peak memory is its own, whatever its parent holds."""

import subprocess
import sys

from bench.probes import peak_rss_mb
from tests.rig import ROOT

PARENT_MB = 300


def test_a_probe_started_by_a_large_process_reports_its_own_peak_memory():
    held = bytearray(PARENT_MB * 1_000_000)  # touched: resident in this process, as a loaded model is
    held[::4096] = b"\1" * len(held[::4096])
    assert peak_rss_mb() > PARENT_MB
    child = subprocess.run(
        [sys.executable, "-c", "from bench.probes import peak_rss_mb; print(peak_rss_mb())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(child.stdout) < PARENT_MB / 3, child.stdout
