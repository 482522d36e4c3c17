"""Shared fixtures. A test that asks for the real audio rig or the real Vosk model is marked `rig`."""
import pytest

from tests.rig import korean_model, start_rig

RIG_FIXTURES = frozenset({"audio_rig", "vosk_model"})


@pytest.fixture(scope="session")
def audio_rig() -> None:
    """The PulseAudio rig (null sinks `speaker` and `mic`), started once; fails loudly, never skips."""
    start_rig()


@pytest.fixture(scope="session")
def vosk_model():
    """The real Korean Vosk model's folder (the one model that installs from PyPI)."""
    return korean_model()


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if RIG_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.rig)
