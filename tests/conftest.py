"""Shared fixtures. A test that asks for the real audio rig or the real Vosk model is marked `rig`.

A rig test that fails after the rig itself stalled (ALSA's "underrun occurred": PulseAudio's ALSA plugin
then stops for up to 2 s; or the speaker's "audio output stalled": over 0.5 s between two output callbacks)
is repeated, at most RIG_RETRIES times, and the stall is reported; a failure with no stall fails at once.
The count of stalls is printed at the end of every run.

With CI set in the environment a skipped test fails the run: there, nothing is allowed to skip.
"""

import os
from collections.abc import Iterator

import pytest
from _pytest.runner import runtestprotocol
from hypothesis import settings

from tests import rig
from tests.rig import is_stall, korean_model, start_rig, stop_rig

pytest_plugins = ["tests.device.flow.session_harness"]
"""Its `fake_device` and `real_time_device` fixtures, for the flow and fault tests alike."""

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")  # CI and its mutation sample see the same examples every run; locally they vary

RIG_FIXTURES = frozenset({"audio_rig", "vosk_model"})
RIG_RETRIES = 2
stalls: list[str] = []
"""One line per rig stall that made a failed test run again."""
RIG_STALL = "rig stall"
"""The name of the user property that carries one of those lines on the test's last report."""
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


@pytest.fixture(scope="session")
def vosk_model():
    """The real Korean Vosk model's folder (the one model that installs from PyPI)."""
    return korean_model()


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if RIG_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.rig)


def _stalled(reports, child_stalls: int) -> bool:
    """True if the rig stalled while this test (or a fixture it set up) ran: ALSA said so in what the test
    printed, or in what its child processes printed (`child_stalls` lines): ALSA's underrun line or a gap of
    over 0.5 s between the speaker's output callbacks; an objective sign, never a guess."""
    text = "".join(content for report in reports for _, content in report.sections)  # what was printed, not the code
    return is_stall(text) or child_stalls > 0


def _failure(reports) -> str:
    """The first line of what failed, so a repeated test still shows why it failed."""
    report = next(report for report in reports if report.failed)
    crash = getattr(report.longrepr, "reprcrash", None)
    return (crash.message if crash else report.longreprtext.strip() or "failed").splitlines()[0]


def _forget_module_fixtures(item) -> None:
    """Let the retry make its module's fixtures again (their results may hold the stalled audio)."""
    for defs in item._fixtureinfo.name2fixturedefs.values():
        for fixturedef in defs:
            if fixturedef.scope in ("module", "class", "function"):
                if not item._request:  # pytest drops it at teardown; finish() names its node in errors
                    item._initrequest()
                fixturedef.finish(item._request)  # its teardown runs (pytest refuses to remake it otherwise)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    if item.get_closest_marker("rig") is None:
        return None
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    rig.current_module = item.module.__name__
    retried: list[str] = []
    for attempt in range(RIG_RETRIES + 1):
        before = rig.stalls_by_module.get(rig.current_module, 0)
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        failed = any(report.failed for report in reports)
        child_stalls = rig.stalls_by_module.get(rig.current_module, 0) - before
        if not failed or attempt == RIG_RETRIES or not _stalled(reports, child_stalls):
            break
        retried.append(
            f"{item.nodeid}: the rig stalled and the test failed ({_failure(reports)}); "
            f"running it again ({attempt + 1} of {RIG_RETRIES})"
        )
        item.config.get_terminal_writer().line(f"\nrig stall: {retried[-1]}")
        _forget_module_fixtures(item)
    reports[-1].user_properties.extend((RIG_STALL, line) for line in retried)  # xdist carries them to the controller
    for report in reports:
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def pytest_runtest_logreport(report) -> None:
    """Collect the stalls a rig test reported, in this process or (under pytest-xdist) in a worker."""
    stalls.extend(line for name, line in report.user_properties if name == RIG_STALL)


def pytest_terminal_summary(terminalreporter, config) -> None:
    terminalreporter.write_line(f"rig stalls that made a failed test run again: {len(stalls)}")
    for line in stalls:
        terminalreporter.write_line(f"  {line}")
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
