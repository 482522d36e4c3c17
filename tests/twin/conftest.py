"""One Pi twin for the whole twin tier: installed once, then a session, then power cuts, in that order."""

import time

import pytest

from tests.rig import espeak_wav
from tests.twin import device
from tests.twin.machine import Twin, prepare_caches

ANSWERS = (
    "안녕하세요 저는 오늘 선생님과 이야기를 했습니다",
    "저는 사람들과 가까워지면 멀어집니다",
    "선생님과 이야기를 하면 마음이 편해지고 다른 사람들과의 관계도 조금씩 달라지는 것 같습니다 "
    "처음에는 어색했지만 지금은 괜찮습니다",
)
"""Two short answers and a long one (about 9 s), spoken by espeak-ng's Korean voice for the Korean test model."""


@pytest.fixture(scope="session")
def answers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("answers")
    return [espeak_wav(text, folder / f"answer{n}.wav") for n, text in enumerate(ANSWERS, 1)]


@pytest.fixture(scope="session")
def installed(tmp_path_factory, answers):
    """A twin with the device installed and its service ready; (twin, install.sh's output, timings)."""
    prepare_caches()
    twin = Twin(tmp_path_factory.mktemp("twin"))
    try:
        timings = {"boot_s": twin.boot()}
        device.stage(twin, answers)
        started = time.monotonic()
        output = device.install(twin)
        timings["install_s"] = time.monotonic() - started
        started = time.monotonic()
        device.wait_status(twin, r"^ready: waiting for a press", timeout=600)
        timings["ready_s"] = time.monotonic() - started
        print(f"\ntwin timings: {timings}")
        yield twin, output, timings
    finally:
        twin.close()
