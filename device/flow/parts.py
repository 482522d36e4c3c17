"""What the flow thread talks to: speaker, microphone, prompts, recognizer, its inbox and its listeners."""
import queue
from collections.abc import Callable
from dataclasses import dataclass

from audio.microphone import Microphone
from audio.speaker import Speaker
from audio.synthesis import PromptCache
from audio.transcriber import Transcriber
from device.flow.events import Event


@dataclass
class SessionParts:
    """Everything a session talks to; the real ones and the fakes are built elsewhere."""

    speaker: Speaker
    open_microphone: Callable[[], Microphone]
    prompts: PromptCache
    transcriber: Transcriber
    inbox: queue.Queue
    on_event: Callable[[Event], None] = lambda event: None
    heartbeat: Callable[[], None] = lambda: None
    """Called at least once a second while the flow is healthy (the service's watchdog)."""
