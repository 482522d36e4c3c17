"""What the session announces as it goes: the LED, the logs and the demo timeline follow these."""
import time
from dataclasses import dataclass, field
from enum import Enum


class Phase(Enum):
    """Where the device is; the status LED shows one pattern per phase."""

    READY = "ready"
    SPEAKING = "speaking"
    LISTENING = "listening"
    SAVING = "saving"
    REPLAYING = "replaying"
    ERROR = "error"


@dataclass(frozen=True)
class Event:
    """One step of the flow: the phase entered and a short description (never transcript text)."""

    phase: Phase
    detail: str = ""
    question: int | None = None
    at: float = field(default_factory=time.monotonic, compare=False)
    """time.monotonic() when the event happened."""
