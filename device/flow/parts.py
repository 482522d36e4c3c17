"""What the flow thread talks to: speaker, microphone, prompts, recognizer, its inbox and its listeners."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from audio.microphone import Microphone
from audio.speaker import Speaker
from audio.synthesis import PromptCache
from audio.worker import Worker
from device.flow.events import Event
from device.flow.inbox import Inbox


@dataclass
class SessionParts:
    """Everything a session talks to; the real ones and the fakes are built elsewhere."""

    speaker: Speaker
    open_microphone: Callable[[], Microphone]
    prompts: PromptCache
    worker: Worker
    inbox: Inbox
    on_event: Callable[[Event], None] = lambda event: None
    seal: Callable[[], None] = lambda: None
    """Seals the sessions that are due (device.notes.sealing.sealer); run on the worker's worker."""
    wall_clock: Callable[[], datetime] = datetime.now
    """The date and time a session starts at (tests set it to dates across months)."""
