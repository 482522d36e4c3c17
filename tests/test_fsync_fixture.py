"""conftest's fsync fixture: real fsyncs only in tests marked `durable`, and elsewhere a bad descriptor still
fails."""

import os

import pytest

REAL_FSYNC = os.fsync
"""Taken when this module is imported, before any fixture runs."""


def test_an_unmarked_test_s_fsync_only_checks_its_descriptor(tmp_path):
    assert os.fsync is not REAL_FSYNC
    with open(tmp_path / "f", "wb") as file:
        os.fsync(file.fileno())
    with pytest.raises(OSError):
        os.fsync(-1)
    with pytest.raises(TypeError):
        os.fsync(None)


@pytest.mark.durable
def test_a_durable_test_gets_the_real_fsync():
    assert os.fsync is REAL_FSYNC
