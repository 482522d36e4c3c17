"""`python -m tests.rig_retry`: a rig test runs again, in a new process, only after an objective rig stall, at most
twice, and the stall is counted."""

import sys

import pytest

from device.config import load_config
from tests.rig import ROOT
from tests.rig_retry import FAILURES_ENV, RERUN_ENV
from tests.twin.test_arm64_hermetic import WHOLE_TIER

pytest_plugins = ["pytester"]

CONFTEST = "from tests.conftest import *  # noqa: F401,F403 - the project's own hooks\n"
STALLING = """
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def runs(name):
    return len((HERE / name).read_text().splitlines()) if (HERE / name).exists() else 0


def ran(name):
    with open(HERE / name, "a") as file:
        file.write("ran\\n")


@pytest.fixture
def audio_rig():
    return None


@pytest.fixture(scope="module")
def shared_recording():  # made again for a retry (it may hold the stalled audio)
    yield runs("flaky")


def test_flaky(audio_rig, shared_recording):
    assert shared_recording == runs("flaky")
    ran("flaky")
    if {stall} == "printed":
        print("ALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred", file=sys.stderr)
    elif {stall} == "an output gap":
        import logging
        logging.getLogger("audio.speaker").warning("audio output stalled: no output callback for 0.7 s")
    elif {stall} == "in a child":
        from tests.rig import pass_on_stalls
        pass_on_stalls("INFO starting\\nALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred\\n")
    assert runs("flaky") > {fails}, f"run {{runs('flaky')}}"


def test_steady(audio_rig):
    ran("steady")
"""


@pytest.fixture
def project(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    for inherited in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", FAILURES_ENV, RERUN_ENV):
        monkeypatch.delenv(inherited, raising=False)  # the run's own, not those of the pytest running this test
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    rig: the rig\n")
    return pytester


def run_with_retries(project, stall: str, fails: int, *args: str):
    project.makepyfile(test_stalling=STALLING.format(stall=repr(stall), fails=fails))
    return project.run(sys.executable, "-m", "tests.rig_retry", "-p", "no:cacheprovider", *args)


def lines(project, name: str) -> int:
    return len((project.path / name).read_text().splitlines())


@pytest.mark.parametrize("stall", ["printed", "an output gap", "in a child"])
@pytest.mark.parametrize("fails, outcome, repeats", [(1, "passed", 1), (2, "passed", 2), (3, "failed", 2)])
def test_a_failure_during_a_stall_is_run_again_alone_at_most_twice(project, stall, fails, outcome, repeats):
    result = run_with_retries(project, stall, fails)
    assert result.ret == (0 if outcome == "passed" else 1)
    result.assert_outcomes(**{outcome: 1})  # the last run's: the failed test alone
    assert (lines(project, "flaky"), lines(project, "steady")) == (repeats + 1, 1)
    result.stdout.fnmatch_lines([f"rig stalls that made a failed test run again: {repeats}"])
    result.stdout.fnmatch_lines(["*the rig stalled and the test failed (AssertionError: run 1*"])


def test_a_failure_with_no_stall_fails_at_once(project):
    result = run_with_retries(project, "none", 1)
    assert result.ret == 1
    result.assert_outcomes(failed=1, passed=1)
    assert lines(project, "flaky") == 1
    result.stdout.fnmatch_lines(["*AssertionError: run 1*", "rig stalls that made a failed test run again: 0"])


def test_a_stall_in_an_xdist_worker_is_run_again_and_counted(project):
    result = run_with_retries(project, "printed", 1, "-n", "1")
    assert result.ret == 0
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*the rig stalled and the test failed (AssertionError: run 1*",
            "rig stalls that made a failed test run again: 1",
        ]
    )


@pytest.mark.parametrize("name", [FAILURES_ENV, RERUN_ENV, WHOLE_TIER, "SOAK"])
def test_the_test_tools_variables_leave_reflects_own_alone(name, tmp_path):
    """`reflect` rejects an unknown REFLECT_* variable, and every `reflect` a test starts inherits these."""
    config = tmp_path / "config.toml"
    config.write_text("")
    load_config(config, env={name: "1"})
