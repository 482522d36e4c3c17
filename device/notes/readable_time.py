"""How long a finished session has surely been readable, whichever way the wall clock jumped since it ended.

Two measures, each a lower bound of the real time, and sealing takes the larger:
- the wall clock, `now - ended_at`, unless it could overcount: a session dated by a clock that was not set,
  looked at by a clock that is set now (the clock jumped forward to the truth; the session's date was behind);
  a clock that went back only makes this smaller, down to negative.
- time counted by the device itself: from the first sealing pass that saw the session ready, the boot clock
  (CLOCK_BOOTTIME, which no one sets) adds up; after a reboot the new boot's uptime is added (the real gap
  was at least that long). Kept in `DataLayout.seal_clock`, checkpointed at every pass, so a reboot loses at
  most the time since the last pass, never more than was really there.
So a session is never sealed early (both undercount), and never kept plain forever (the count grows while the
device runs, whatever the wall clock says).
"""

import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from common.files import atomic_write_text
from device.clock import Uptime
from device.notes import record
from device.notes.record import Raw


def wall_elapsed_s(raw: Raw, now: datetime, now_trusted: bool) -> float | None:
    """Seconds since the session ended by the wall clock, or None if that could overcount or there is no time."""
    if now_trusted and not record.clock_trusted(raw):
        return None
    return (now - datetime.fromisoformat(raw.get("ended_at") or raw["started_at"])).total_seconds()


@dataclass
class ReadableCount:
    """Seconds each unsealed, finished session has surely been readable, counted by the boot clock."""

    path: Path
    boot_id: str = ""
    at_s: float = 0.0
    counted: dict[str, float] | None = None

    @classmethod
    def load(cls, path: Path, now: Uptime) -> "ReadableCount":
        """The saved counts, brought up to `now`: a damaged or missing file starts every count afresh (at zero)."""
        try:
            saved = json.loads(path.read_text())
            boot, at, counted = saved["boot_id"], float(saved["at_s"]), saved["counted"]
            counted = {str(k): float(v) for k, v in counted.items() if isinstance(v, (int, float)) and math.isfinite(v)}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            boot, at, counted = now.boot_id, now.seconds, {}
        same_boot = boot == now.boot_id if boot and now.boot_id else now.seconds >= at
        gone = max(0.0, now.seconds - at if same_boot else now.seconds)
        return cls(path, now.boot_id, now.seconds, {k: v + gone for k, v in counted.items()})

    def seconds(self, session_id: str) -> float:
        """The count for a session, which starts (at zero) the first time it is asked for."""
        assert self.counted is not None  # load() always counts
        return self.counted.setdefault(session_id, 0.0)

    def save(self, keep: set[str]) -> None:
        """Write the counts of the sessions in `keep` (still waiting); no file at all when none wait."""
        assert self.counted is not None  # load() always counts
        counted = {k: round(v, 3) for k, v in self.counted.items() if k in keep}
        if not counted:
            self.path.unlink(missing_ok=True)
            return
        atomic_write_text(
            self.path, json.dumps({"boot_id": self.boot_id, "at_s": self.at_s, "counted": counted}) + "\n"
        )
