"""Small helpers the probe processes share: CPU time, peak memory, JSON in and out, the repo on sys.path."""

import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def cpu_s() -> float:
    """CPU seconds (user + system) used so far by every thread of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def threads_cpu_s() -> dict[str, float]:
    """CPU seconds each live thread of this process has used so far, by thread id (/proc/self/task/*/schedstat)."""
    used = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as stat:
                used[tid] = int(stat.read().split()[0]) / 1e9
        except FileNotFoundError:  # the thread ended while we looked
            continue
    return used


def peak_rss_mb() -> float:
    """Peak resident memory of this process's own memory so far (VmHWM, KiB), in MB (10^6 bytes).

    Not ru_maxrss: Linux carries that across execve, so a probe started by a process holding a loaded model (a
    test that had loaded Vosk) reported the parent's 749 MB whatever it used itself."""
    return _status_mb("VmHWM")


def resident_mb() -> tuple[float, dict[str, float]]:
    """This process's resident memory now (VmRSS), in MB, and that of each file it maps (libraries), by path."""
    files: dict[str, float] = {}
    with open("/proc/self/smaps") as smaps:
        mapped = ""
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and not fields[0].endswith(":"):
                mapped = fields[5] if len(fields) > 5 and fields[5].startswith("/") else ""
            elif fields[0] == "Rss:" and mapped:
                files[mapped] = files.get(mapped, 0.0) + int(fields[1]) * 1024 / 1e6
    return _status_mb("VmRSS"), files


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (given there in KiB), in MB (10^6 bytes)."""
    with open("/proc/self/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))
    return kb * 1024 / 1e6


def now() -> float:
    """time.monotonic(): CLOCK_MONOTONIC, the same clock in every process of this machine."""
    return time.monotonic()


def read_spec() -> dict:
    """The probe's instructions: a JSON file named by the first argument."""
    return json.loads(Path(sys.argv[1]).read_text())


def write_result(result: dict) -> None:
    """The probe's measurements: JSON into the file named by the second argument."""
    Path(sys.argv[2]).write_text(json.dumps(result, indent=1, ensure_ascii=False))
