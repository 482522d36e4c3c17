"""With CI set in the environment a skipped test fails the run (xfail and deselection are not skips)."""

import pytest

from tests.rig import ROOT

pytest_plugins = ["pytester"]

CONFTEST = "from tests.conftest import *  # noqa: F401,F403 - the project's own hooks\n"
TESTS = """
import pytest

def test_passes():
    pass

@pytest.mark.xfail(reason="a known failure", strict=True)
def test_known_to_fail():
    assert False

@pytest.mark.rig
def test_deselected():
    pass
"""
SKIPPING = (
    TESTS
    + """
def test_skips():
    pytest.skip("no rig here")
"""
)


@pytest.fixture
def project(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("CI", raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    rig: the rig\n")
    return pytester


def run(project, *args):
    return project.runpytest_subprocess("-p", "no:cacheprovider", "-m", "not rig", *args)


@pytest.mark.parametrize("workers", [[], ["-n", "1"]], ids=["one process", "xdist"])
def test_with_ci_set_a_skipped_test_fails_the_run_and_is_named(project, monkeypatch, workers):
    monkeypatch.setenv("CI", "true")
    project.makepyfile(test_some=SKIPPING)
    result = run(project, *workers)
    result.assert_outcomes(passed=1, skipped=1, xfailed=1)  # xdist does not count the deselected one
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["CI is set and 1 tests skipped; a skip is never a pass here:", "  test_some.py::test_skips"]
    )


def test_with_ci_set_a_run_with_no_skip_passes(project, monkeypatch):
    monkeypatch.setenv("CI", "true")
    project.makepyfile(test_some=TESTS)
    result = run(project)
    result.assert_outcomes(passed=1, xfailed=1, deselected=1)
    assert result.ret == pytest.ExitCode.OK


def test_without_ci_a_skip_is_only_reported(project):
    project.makepyfile(test_some=SKIPPING)
    result = run(project)
    result.assert_outcomes(passed=1, skipped=1, xfailed=1, deselected=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.no_fnmatch_line("CI is set*")
