"""The flow tests' shared fixture: a runtime folder for the control socket."""

import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture
def run_dir():
    """A short private folder (an AF_UNIX path must fit in 108 bytes), as systemd's RuntimeDirectory."""
    folder = Path(tempfile.mkdtemp(prefix="rfc-"))
    yield folder
    shutil.rmtree(folder)
