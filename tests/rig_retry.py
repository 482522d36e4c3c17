"""`python -m tests.rig_retry <pytest arguments>`: pytest, with the rig tests that failed after a rig stall run again.

A rig test that fails right after the rig itself stalled (tests/rig.is_stall: ALSA's underrun line, or a gap in
the speaker's output callbacks, in what the test or its child processes printed) is run again in a new pytest
process, at most RIG_RETRIES times, and only when every failure of the run came with a stall: a failure with no
stall fails at once. The new process makes every fixture again (a module's may hold the stalled audio), and it
needs nothing of pytest's but its command line and public hooks (tests/conftest.py notes each failure and says
whether it stalled).
"""

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

RIG_RETRIES = 2
FAILURES_ENV = "RIG_RETRY_FAILURES"
"""Where tests/conftest.py appends a line for each failed test: its node id, whether the rig stalled, why."""
RERUN_ENV = "RIG_RETRY_RERUN"
"""A file of node ids: tests/conftest.py then deselects every other test."""


@dataclass(frozen=True)
class Failure:
    nodeid: str
    stalled: bool
    why: str


def note_failure(path: Path, nodeid: str, stalled: bool, why: str) -> None:
    """One line for one failed phase of a test (the format `failures` reads)."""
    line = "\t".join((nodeid, "stalled" if stalled else "-", why.replace("\t", " ").replace("\n", " ")))
    with open(path, "a", encoding="utf-8") as file:
        file.write(line + "\n")


def failures(path: Path) -> list[Failure]:
    """The failed tests of a run, once each (a test whose setup or teardown failed too counts once); stalled if any
    of its failed phases came with a stall."""
    found: dict[str, Failure] = {}
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else ():
        nodeid, stalled, why = line.split("\t", 2)
        earlier = found.get(nodeid)
        found[nodeid] = Failure(nodeid, stalled == "stalled" or bool(earlier and earlier.stalled), why)
    return list(found.values())


def main(args: list[str]) -> int:
    retried: list[str] = []
    with tempfile.TemporaryDirectory(prefix="reflect-rig-retry-") as folder:
        rerun: Path | None = None
        for attempt in range(RIG_RETRIES + 1):
            noted = Path(folder) / f"failures-{attempt}"
            env = {name: value for name, value in os.environ.items() if name != RERUN_ENV}
            env[FAILURES_ENV] = str(noted)
            if rerun is not None:
                env[RERUN_ENV] = str(rerun)
            code = subprocess.run([sys.executable, "-m", "pytest", *args], env=env).returncode
            failed = failures(noted)
            if code != 1 or not failed or attempt == RIG_RETRIES or not all(f.stalled for f in failed):
                break
            for failure in failed:
                retried.append(
                    f"{failure.nodeid}: the rig stalled and the test failed ({failure.why}); "
                    f"running it again ({attempt + 1} of {RIG_RETRIES})"
                )
                print(f"rig stall: {retried[-1]}", flush=True)
            rerun = Path(folder) / f"rerun-{attempt}"
            rerun.write_text("".join(f"{failure.nodeid}\n" for failure in failed), encoding="utf-8")
    print(f"rig stalls that made a failed test run again: {len(retried)}")
    for line in retried:
        print(f"  {line}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
