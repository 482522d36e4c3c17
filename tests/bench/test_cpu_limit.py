"""bench/cpu_limit.py limits one thread, and only that one, to its share of a core (a real cgroup-v1 quota)."""

import hashlib
import threading
import time
from pathlib import Path

import pytest

from bench.cpu_limit import ThreadCpuLimit


def cpu_s(thread_id: int) -> float:
    return int(Path(f"/proc/self/task/{thread_id}/schedstat").read_text().split()[0]) / 1e9


def busy(stop: threading.Event) -> None:
    """Burn CPU outside the GIL (hashlib lets it go for large inputs), as Vosk does: a pure-Python loop would make
    the free thread wait for the GIL whenever the limited one is held back while it has it."""
    block, digest = bytes(1 << 16), hashlib.sha256()
    while not stop.is_set():
        digest.update(block)


@pytest.mark.root
@pytest.mark.serial
def test_only_the_added_thread_is_held_to_its_share_of_a_core():
    stop = threading.Event()
    threads = [threading.Thread(target=busy, args=(stop,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    limit = ThreadCpuLimit(0.2)
    try:
        limited, free = (thread.native_id for thread in threads)
        limit.add(limited)
        before = {tid: cpu_s(tid) for tid in (limited, free)}
        time.sleep(1.5)
        used = {tid: cpu_s(tid) - before[tid] for tid in (limited, free)}
        assert used[limited] <= 0.2 * 1.5 * 1.3, used
        assert used[free] >= 2 * used[limited], used  # the other thread ran on unthrottled
        assert limit.throttled_s() > 0
    finally:
        limit.close()
        stop.set()
        for thread in threads:
            thread.join()
    assert not limit.group.exists()
