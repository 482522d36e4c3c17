"""Shared fixtures. A test that asks for the real audio rig or the real Vosk model is marked `rig`, one that asks
for the real browser `browser`.

A failed rig test's report says whether the rig itself stalled while it ran (tests/rig.is_stall, in what the
test or its child processes printed); `python -m tests.rig_retry` reads that to run such a test again in a new
process. With CI set in the environment a skipped test fails the run: there, nothing is allowed to skip.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests import rig
from tests.rig import is_stall, korean_model, start_rig, stop_rig
from tests.rig_retry import FAILURES_ENV, RERUN_ENV, note_failure

pytest_plugins = ["tests.device.flow.session_harness"]
"""Its `fake_device` and `real_time_device` fixtures, for the flow and fault tests alike."""

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")  # CI and its mutation sample see the same examples every run; locally they vary

RIG_FIXTURES = frozenset({"audio_rig", "vosk_model"})
BROWSER_FIXTURES = frozenset({"chromium"})
RIG_STALL = "rig stall"
"""The user property a failed rig test's report carries when the rig stalled while it ran."""
STALLS_BEFORE = pytest.StashKey[int]()
"""The child processes' stall lines counted before a test began (tests/rig.stalls_seen)."""
SKIPPED_IN_CI = pytest.StashKey[int]()
"""How many tests skipped in a run with CI set (found in the terminal summary, turned into the exit status)."""


@pytest.fixture(scope="session")
def audio_rig() -> Iterator[None]:
    """The PulseAudio rig (null sinks `speaker` and `mic`), started once; fails loudly, never skips. A pytest-xdist
    worker's own rig stops with the worker: each rig costs about 6% of a core while it runs."""
    start_rig()
    yield
    if os.environ.get("PYTEST_XDIST_WORKER"):
        stop_rig()


@pytest.fixture(autouse=True)
def fsync_only_where_durability_is_tested(request, monkeypatch) -> None:
    """os.fsync only checks its descriptor (os.fstat: a closed or wrong one still fails) unless the test is marked
    `durable` (the kill, full-disk and power-cut tests): nothing in one process can see whether data reached the
    disk, and elsewhere each sync only costs time. Tests that record or fail fsync (tests/faults/support.fsynced)
    still see every call."""
    if request.node.get_closest_marker("durable") is None:
        monkeypatch.setattr(os, "fsync", os.fstat)


@pytest.fixture(scope="session")
def vosk_model():
    """The real Korean Vosk model's folder (the one model that installs from PyPI)."""
    return korean_model()


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if RIG_FIXTURES & fixtures:
            item.add_marker(pytest.mark.rig)
        if BROWSER_FIXTURES & fixtures:
            item.add_marker(pytest.mark.browser)
    rerun = os.environ.get(RERUN_ENV)
    if rerun:  # tests.rig_retry runs again only the tests that failed after a rig stall
        wanted = set(Path(rerun).read_text(encoding="utf-8").splitlines())
        config.hook.pytest_deselected(items=[item for item in items if item.nodeid not in wanted])
        items[:] = [item for item in items if item.nodeid in wanted]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    item.stash[STALLS_BEFORE] = rig.stalls_seen


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed rig test's report says so if the rig stalled while it ran: ALSA's underrun line or a gap of over
    0.5 s between the speaker's output callbacks, in what it printed or its child processes did; an objective sign,
    never a guess."""
    report = yield
    if report.failed and item.get_closest_marker("rig") is not None:
        printed = "".join(content for _, content in report.sections)  # what was printed, not the code
        if is_stall(printed) or rig.stalls_seen > item.stash.get(STALLS_BEFORE, rig.stalls_seen):
            report.user_properties = [*report.user_properties, (RIG_STALL, True)]
    return report


class _FailureNotes:
    """Notes each failure for tests.rig_retry: its node id, whether the rig stalled, and why it failed."""

    def __init__(self, path: Path):
        self.path = path

    def pytest_runtest_logreport(self, report) -> None:
        if report.failed:
            stalled = any(name == RIG_STALL for name, _ in report.user_properties)
            note_failure(self.path, report.nodeid, stalled, _why(report.longreprtext))


def pytest_configure(config) -> None:
    noted = os.environ.get(FAILURES_ENV)
    if noted and not hasattr(config, "workerinput"):  # once, in the controller: it sees every xdist worker's reports
        config.pluginmanager.register(_FailureNotes(Path(noted)), "rig-failure-notes")


def _why(longrepr: str) -> str:
    """The first line of what failed (its first `E` line), so a test run again still shows why it failed."""
    lines = [line[1:].strip() for line in longrepr.splitlines() if line.startswith("E ")]
    return (lines or longrepr.strip().splitlines()[-1:] or ["failed"])[0]


def pytest_terminal_summary(terminalreporter, config) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if os.environ.get("CI") and skipped:
        config.stash[SKIPPED_IN_CI] = len(skipped)
        terminalreporter.write_line(
            f"CI is set and {len(skipped)} tests skipped; a skip is never a pass here:", red=True
        )
        for report in skipped:
            terminalreporter.write_line(f"  {report.nodeid}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session):
    """Around the terminal's own sessionfinish (which prints the summary): once it is printed,
    a skip in CI fails the run."""
    result = yield
    skipped = session.config.stash.get(SKIPPED_IN_CI, 0)
    if skipped:
        pytest.exit(f"{skipped} tests skipped with CI set", returncode=pytest.ExitCode.TESTS_FAILED)
    return result
