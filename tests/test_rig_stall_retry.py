"""A rig test is repeated only after an objective rig stall, at most twice, and the stall is counted."""

import pytest

from tests.rig import ROOT

pytest_plugins = ["pytester"]

CONFTEST = "from tests.conftest import *  # noqa: F401,F403 - the project's own hooks\n"
STALLING = """
import sys
import pytest

RUNS = []

@pytest.fixture
def audio_rig():
    return None

@pytest.fixture(scope="module")
def shared_recording():  # made again for a retry (it may hold the stalled audio)
    yield len(RUNS)

def test_flaky(audio_rig, shared_recording):
    assert shared_recording == len(RUNS)
    RUNS.append(1)
    if {stall} == "printed":
        print("ALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred", file=sys.stderr)
    elif {stall} == "an output gap":
        import logging
        logging.getLogger("audio.speaker").warning("audio output stalled: no output callback for 0.7 s")
    elif {stall} == "in a child":
        from tests.rig import pass_on_stalls
        pass_on_stalls("INFO starting\\nALSA lib pcm.c:8570:(snd_pcm_recover) underrun occurred\\n")
    assert len(RUNS) > {fails}, f"run {{len(RUNS)}}"
"""


@pytest.fixture
def project(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # a separate pytest process, so its stall count is its own
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    rig: the rig\n")
    return pytester


@pytest.mark.parametrize("stall", ["printed", "an output gap", "in a child"])
@pytest.mark.parametrize("fails, outcome, repeats", [(1, "passed", 1), (2, "passed", 2), (3, "failed", 2)])
def test_a_failure_during_a_stall_is_run_again_at_most_twice(project, stall, fails, outcome, repeats):
    project.makepyfile(test_stalling=STALLING.format(stall=repr(stall), fails=fails))
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(**{outcome: 1})
    result.stdout.fnmatch_lines([f"rig stalls that made a failed test run again: {repeats}"])
    result.stdout.fnmatch_lines(["*the rig stalled and the test failed (AssertionError: run 1*"])


def test_a_failure_with_no_stall_fails_at_once(project):
    project.makepyfile(test_stalling=STALLING.format(stall=repr("none"), fails=1))
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["rig stalls that made a failed test run again: 0", "*run 1*"])


def test_a_stall_retried_in_an_xdist_worker_is_counted_in_the_summary(project):
    project.makepyfile(test_stalling=STALLING.format(stall=repr("printed"), fails=1))
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-n", "1")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "rig stalls that made a failed test run again: 1",
            "*the rig stalled and the test failed (AssertionError: run 1*",
        ]
    )
