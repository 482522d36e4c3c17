"""Whether the wall clock can be trusted, how long the device has really been up, and setting the clock.

A Pi 4 has no battery-backed clock: offline, it starts from the last saved time (systemd-timesyncd's
/var/lib/systemd/timesync/clock), so after a power-off "now" can be days behind. The clock is trusted when
something set it for real: the kernel says it is synchronised (timesyncd, which is also what `timedatectl
show -p NTPSynchronized` reports), a battery-backed RTC set it at boot (`hctosys`), or a person set it with
`reflect clock set` during this boot. Every source is a parameter, so tests never read the system.
"""

import ctypes
import json
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from common.errors import ClockNotSet

MARKER_MODE = 0o644
"""The marker says only when the clock was set; the service (another user) must read it."""
TIME_ERROR = 5
"""adjtimex(2) returns this while the kernel clock is not synchronised (STA_UNSYNC)."""
RTC = Path("/sys/class/rtc/rtc0")
TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")
"""systemd-timesyncd (252 and later) creates this once it has synchronised the clock in this boot."""
MARKER = Path("/run/reflect-clock-set")
"""Written (0644) by `reflect clock set`; /run empties at every boot, and it names its boot besides."""
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
TRUST_CHOICES = ("auto", "yes", "no")
"""clock.trust: read the system, or force the answer (tests, a device whose clock is set some other way)."""
NTP_ON = "Automatic time synchronization is enabled"
"""What `timedatectl set-time` says (and refuses) while systemd-timesyncd is on."""
SET_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")
FIX = 'sudo reflect clock set "2026-12-06 19:30" (the real local time), or fit a battery-backed clock (RTC)'


@dataclass(frozen=True)
class ClockStatus:
    """Whether dates from the wall clock are real, and why (one phrase)."""

    trusted: bool
    reason: str


@dataclass(frozen=True)
class Uptime:
    """Time the device has really been running in this boot (CLOCK_BOOTTIME: counts suspend, ignores the wall clock)."""

    boot_id: str
    seconds: float


def kernel_synced() -> bool | None:
    """The kernel's own answer (adjtimex, read only): True if synchronised, None if it cannot be asked."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        state = libc.adjtimex(ctypes.create_string_buffer(512))  # modes 0: only reads
    except (OSError, AttributeError):
        return None
    return None if state < 0 else state != TIME_ERROR  # the unit's ProtectClock= refuses the call (EPERM)


def boot_id(path: Path = BOOT_ID) -> str:
    """This boot's id; "" if the system has none."""
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def uptime(boot_id_path: Path = BOOT_ID) -> Uptime:
    """How long this boot has lasted, by a clock no one sets."""
    return Uptime(boot_id(boot_id_path), time.clock_gettime(time.CLOCK_BOOTTIME))


def set_by_hand(marker: Path, boot_id_path: Path = BOOT_ID) -> bool:
    """True if `reflect clock set` set the clock during this boot (its marker names this boot)."""
    current = boot_id(boot_id_path)
    try:
        return bool(current) and json.loads(marker.read_text()).get("boot_id") == current
    except (OSError, ValueError, AttributeError):
        return False


def clock_status(
    trust: str = "auto",
    marker: Path = MARKER,
    rtc: Path = RTC,
    boot_id_path: Path = BOOT_ID,
    timesyncd_flag: Path = TIMESYNCD_FLAG,
    synced: Callable[[], bool | None] = kernel_synced,
) -> ClockStatus:
    """Whether the wall clock is real now: forced by `trust`, or read from the RTC, timesyncd, the kernel and
    `marker`, in that order."""
    if trust == "yes":
        return ClockStatus(True, "trusted by the clock.trust setting")
    if trust == "no":
        return ClockStatus(False, "not trusted by the clock.trust setting")
    try:
        hctosys = (rtc / "hctosys").read_text().strip() == "1"
    except OSError:
        hctosys = False
    if hctosys:
        return ClockStatus(True, f"set at boot from the battery-backed clock {rtc.name}")
    if timesyncd_flag.exists() or synced():
        return ClockStatus(True, "synchronised")
    if set_by_hand(marker, boot_id_path):
        return ClockStatus(True, "set by hand since this boot")
    return ClockStatus(False, "not synchronised: restored from the last saved time")


def shown(at: datetime, trusted: bool) -> str:
    """A date to show a person: as it is, or as a guess when the clock was not set."""
    local = at.astimezone()
    if trusted:
        return f"{local:%Y-%m-%d %H:%M}"
    return f"about {local:%a} {local.day} {local:%b %Y, %H:%M} (clock not set)"


def in_words(at: datetime, trusted: bool) -> str:
    """A date as transcript.md gives it ("Sunday 06 December 2026, 14:03"), or as a guess when the clock was not set."""
    when = f"{at:%A %d %B %Y, %H:%M}"
    return when if trusted else f"about {when} (clock not set)"


def parse_set_time(text: str) -> datetime:
    """A local time for `reflect clock set`; ClockNotSet in one line if it is not one."""
    for fmt in SET_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise ClockNotSet(f'{text[:40]!r} is not a date and time like "2026-12-06 19:30"')


Runner = Callable[[Sequence[str]], subprocess.CompletedProcess]


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=30)


def _timedatectl(run: Runner, argv: list[str]) -> subprocess.CompletedProcess:
    try:
        return run(argv)
    except (OSError, subprocess.SubprocessError) as error:
        raise ClockNotSet(f"could not run timedatectl ({error})") from None


def _check(done: subprocess.CompletedProcess) -> None:
    if done.returncode != 0:
        said = " ".join((done.stderr or done.stdout or "").split()) or f"exit code {done.returncode}"
        raise ClockNotSet(f"timedatectl could not set the clock: {said}")


def set_clock(
    text: str, is_root: bool, run: Runner = _run, marker: Path = MARKER, boot_id_path: Path = BOOT_ID
) -> datetime:
    """Set the system clock through `timedatectl set-time` (as root) and note that it was set in this boot."""
    when = parse_set_time(text)
    if not is_root:
        raise ClockNotSet("setting the clock needs root: run it with sudo")
    set_time = ["timedatectl", "set-time", f"{when:%Y-%m-%d %H:%M:%S}"]
    done = _timedatectl(run, set_time)
    if done.returncode != 0 and NTP_ON in (done.stderr or ""):  # timesyncd is on: it must let go for a moment
        _check(_timedatectl(run, ["timedatectl", "set-ntp", "false"]))
        try:
            done = _timedatectl(run, set_time)
        finally:
            _check(_timedatectl(run, ["timedatectl", "set-ntp", "true"]))
    _check(done)
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, MARKER_MODE)
    with os.fdopen(fd, "w") as file:  # half written, it reads as no marker: the clock is then not trusted
        file.write(json.dumps({"boot_id": boot_id(boot_id_path), "set_to": when.isoformat()}) + "\n")
    os.chmod(marker, MARKER_MODE)
    return when
