"""Measure list and search on generated archives and put those rows into bench/REPORT.md, leaving the rest.

Usage: python -m bench.archive_report [ANSWERS ...]   (default 40000; the archive probe runs in its own process)
"""

import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from bench import report
from bench.__main__ import run_probe
from bench.probes import ROOT

REPORT = ROOT / "bench" / "REPORT.md"


def main(argv: list[str]) -> int:
    answers = [int(a) for a in argv] or [40000]
    with tempfile.TemporaryDirectory(prefix="reflect-bench-") as work:
        result = run_probe("archive_probe", {"answers": answers}, Path(work), "archive", pin=False)
    rows = report.archive_rows(result["archive"])
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    note = (
        f"{report.PARTIAL_NOTE}{', '.join(f'{a:,}' for a in answers)} answers: `python -m bench.archive_report "
        f"{' '.join(map(str, answers))}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit}, "
        f"same machine, not the run above; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
        "when it ended."
    )
    REPORT.write_text(report.replace_rows(REPORT.read_text(), rows, note))
    print("\n".join(report.table(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
