"""The notes tests' shared fixture: an owner's age key."""

from pathlib import Path

import pytest

from device.notes.opening import new_identity


@pytest.fixture
def key(tmp_path) -> Path:
    """A new age identity, the owner's key for sealing and opening, in tmp_path."""
    path = tmp_path / "owner.key"
    new_identity(path)
    return path
