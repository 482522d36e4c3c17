"""Safe to unplug: the long hold in the ready state says so, flushes what was written, and powers the device off.

The power-off is logind's PowerOff over D-Bus (`busctl`), which the unit's user may call through the polkit rule
systemd/reflect-poweroff.rules; the service then stops with the rest of the system and its LED goes out."""

import logging
import os
import subprocess
from collections.abc import Callable

from content.phrases import PHRASES
from device.flow.events import Event, EventKind
from device.flow.player import Player

log = logging.getLogger(__name__)

LOGIND_POWER_OFF = (
    "busctl",
    "call",
    "org.freedesktop.login1",
    "/org/freedesktop/login1",
    "org.freedesktop.login1.Manager",
    "PowerOff",
    "b",
    "false",
)
"""PowerOff(interactive=false): polkit decides at once, never asks a password."""
POWER_OFF_TIMEOUT_S = 30


def power_off_through_logind() -> None:
    """Ask logind to power the machine off; a refusal raises with busctl's one-line reason."""
    result = subprocess.run(LOGIND_POWER_OFF, capture_output=True, text=True, timeout=POWER_OFF_TIMEOUT_S)
    if result.returncode != 0:
        raise PermissionError(f"logind would not power off: {result.stderr.strip() or result.returncode}")


class ShutDown:
    """Say it is safe to unplug once the light is out, flush the disks, then `power_off` (called once)."""

    def __init__(
        self,
        player: Player,
        on_event: Callable[[Event], None],
        power_off: Callable[[], None] = power_off_through_logind,
        sync: Callable[[], None] = os.sync,
    ):
        self.player = player
        self.on_event = on_event
        self.power_off = power_off
        self.sync = sync

    def __call__(self) -> None:
        self.on_event(Event(EventKind.SHUTTING_DOWN))
        self.player.say(PHRASES.shutting_down)
        self.sync()
        log.info("powering off")
        self.power_off()
