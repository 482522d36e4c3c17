"""`reflect doctor`'s clock finding, from a given clock status (no audio rig, no host clock)."""

from device.clock import ClockStatus
from device.config import Config
from device.setup.doctor import _clock


def test_a_synchronised_clock_is_ok():
    assert (
        str(_clock(Config(), ClockStatus(True, "synchronised"))) == "OK   clock: synchronised; session dates are real"
    )


def test_an_unset_clock_warns_with_the_fix():
    finding = _clock(Config(), ClockStatus(False, "not synchronised: restored from the last saved time"))
    assert finding.level == "WARN"
    assert str(finding) == (
        "WARN clock: not synchronised: restored from the last saved time, so new sessions are dated "
        '"about". Fix: sudo reflect clock set "2026-12-06 19:30" (the real local time), '
        "or fit a battery-backed clock (RTC)"
    )


def test_the_trust_setting_reaches_the_finding():
    assert _clock(Config().replace("clock", trust="no")).level == "WARN"
    assert _clock(Config().replace("clock", trust="yes")).level == "OK"
