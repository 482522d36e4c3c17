"""conftest's fsync fixture: real fsyncs only in tests marked `durable`."""

import os

import pytest


def test_an_unmarked_test_s_fsync_does_nothing():
    os.fsync(-1)  # a bad descriptor: the real fsync raises EBADF


@pytest.mark.durable
def test_a_durable_test_gets_the_real_fsync():
    with pytest.raises(OSError):
        os.fsync(-1)
