"""A Pi-class CPU for one thread: a cgroup-v1 `cpu` group with a CFS quota that holds only that thread.

On a Raspberry Pi one core decodes Vosk at one and a half to two times real time; the recognizer's thread
limited to 0.3 of a core here behaves alike, while the audio, button and flow threads stay free.
"""

import os
from pathlib import Path

CPU_HIERARCHY = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000
PI_CLASS_SHARE = 0.3
"""The recognizer's share of a core that makes Vosk decode at about a Pi's pace (bench and tests)."""


class ThreadCpuLimit:
    """`share` of one core (e.g. 0.3) for the threads added, in a group beside this process's own."""

    def __init__(self, share: float, hierarchy: Path = CPU_HIERARCHY):
        if not (hierarchy / "tasks").exists():
            raise RuntimeError(f"no cgroup-v1 cpu controller at {hierarchy} (needed to limit one thread's CPU)")
        self.parent = _own_group(hierarchy)
        self.group = self.parent / f"reflect-limit-{os.getpid()}"
        self.group.mkdir(exist_ok=True)
        (self.group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (self.group / "cpu.cfs_quota_us").write_text(str(int(share * PERIOD_US)))
        self.threads: list[int] = []

    def add(self, thread_id: int) -> None:
        """Limit the thread with this native id (one line into `tasks` moves that thread only)."""
        (self.group / "tasks").write_text(str(thread_id))
        self.threads.append(thread_id)

    def throttled_s(self) -> float:
        """Seconds the group's threads waited for their quota so far (cpu.stat throttled_time)."""
        stat = dict(line.split() for line in (self.group / "cpu.stat").read_text().splitlines())
        return int(stat["throttled_time"]) / 1e9

    def close(self) -> None:
        """Hand the threads back to the group they came from, and remove this one."""
        for thread_id in self.threads:
            try:
                (self.parent / "tasks").write_text(str(thread_id))
            except (ProcessLookupError, OSError):  # the thread has ended
                pass
        self.group.rmdir()


def _own_group(hierarchy: Path) -> Path:
    """This process's group in the cpu hierarchy (/proc/self/cgroup)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):
            return hierarchy / path.lstrip("/")
    return hierarchy
