"""What the session announces as it goes: the LED, the logs, the status line and the demo timeline follow these."""

import time
from dataclasses import dataclass, field
from enum import StrEnum

from device.notes.record import EndedBy


class Phase(StrEnum):
    """Where the device is; the status LED shows one pattern per phase."""

    READY = "ready"
    SPEAKING = "speaking"
    LISTENING = "listening"
    SAVING = "saving"
    REPLAYING = "replaying"
    SHUTTING_DOWN = "shutting down"
    ERROR = "error"


class EventKind(StrEnum):
    """What happened, as a stable id (what tests and tools match); each kind belongs to one phase (PHASE_OF) and
    has its words for people (TEXT)."""

    WAITING = "waiting"
    SESSION_SAVED = "session_saved"
    GREETING = "greeting"
    QUESTION = "question"
    CLOSING = "closing"
    ENDING_EARLY = "ending_early"
    LISTENING = "listening"
    SAVING = "saving"
    REPLAY_SESSION = "replay_session"
    REPLAY_QUESTION = "replay_question"
    REPLAY_ANSWER = "replay_answer"
    SHUTTING_DOWN = "shutting_down"
    DISK_ALMOST_FULL = "disk_almost_full"
    NO_MICROPHONE = "no_microphone"
    DISK_FULL = "disk_full"
    MICROPHONE_LOST = "microphone_lost"
    SESSION_FAILED = "session_failed"
    REPLAY_UNREADABLE = "replay_unreadable"
    FAILED = "failed"

    @property
    def text(self) -> str:
        """The words the journal and the status line show for it."""
        return TEXT[self]


TEXT = {
    EventKind.WAITING: "waiting for a press",
    EventKind.SESSION_SAVED: "session saved",
    EventKind.GREETING: "greeting",
    EventKind.QUESTION: "question",
    EventKind.CLOSING: "closing",
    EventKind.ENDING_EARLY: "ending early",
    EventKind.LISTENING: "listening",
    EventKind.SAVING: "saving",
    EventKind.REPLAY_SESSION: "latest session",
    EventKind.REPLAY_QUESTION: "one question across time",
    EventKind.REPLAY_ANSWER: "answer",
    EventKind.SHUTTING_DOWN: "safe to unplug once the light is out",
    EventKind.DISK_ALMOST_FULL: "disk almost full",
    EventKind.NO_MICROPHONE: "no microphone",
    EventKind.DISK_FULL: "disk full",
    EventKind.MICROPHONE_LOST: "microphone lost",
    EventKind.SESSION_FAILED: "session failed",
    EventKind.REPLAY_UNREADABLE: "latest session unreadable",
    EventKind.FAILED: "failed",
}
"""Each kind in people's words, as the journal and the status line have always said it."""


PHASE_OF = {
    EventKind.WAITING: Phase.READY,
    EventKind.SESSION_SAVED: Phase.READY,
    EventKind.GREETING: Phase.SPEAKING,
    EventKind.QUESTION: Phase.SPEAKING,
    EventKind.CLOSING: Phase.SPEAKING,
    EventKind.ENDING_EARLY: Phase.SPEAKING,
    EventKind.LISTENING: Phase.LISTENING,
    EventKind.SAVING: Phase.SAVING,
    EventKind.REPLAY_SESSION: Phase.REPLAYING,
    EventKind.REPLAY_QUESTION: Phase.REPLAYING,
    EventKind.REPLAY_ANSWER: Phase.REPLAYING,
    EventKind.SHUTTING_DOWN: Phase.SHUTTING_DOWN,
}
"""Every kind not listed here is an ERROR."""


@dataclass(frozen=True)
class Event:
    """One step of the flow, with structured data (never transcript text)."""

    kind: EventKind
    question: int | None = None
    """The question (or replayed answer) it concerns, 1-based."""
    session: str | None = None
    """The session's id, once one is saved."""
    ended_by: EndedBy | None = None
    """How the answer being saved ended."""
    at: float = field(default_factory=time.monotonic, compare=False)
    """time.monotonic() when the event happened."""

    @property
    def phase(self) -> Phase:
        return PHASE_OF.get(self.kind, Phase.ERROR)

    @property
    def detail(self) -> str:
        """A short line for logs and the service's status (e.g. "question 2", "session 2026-… saved")."""
        if self.kind is EventKind.SESSION_SAVED:
            return f"session {self.session} saved"
        if self.kind is EventKind.SAVING:
            return str(self.ended_by)
        if self.kind in (EventKind.QUESTION, EventKind.LISTENING):
            return f"question {self.question}"
        if self.kind is EventKind.REPLAY_ANSWER:
            return f"answer {self.question}"
        return self.kind.text
