"""A scripted person for the demo and the rig tests: answers each question, then presses, waits, or stays silent."""

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from enum import Enum

from device.flow.events import Event, Phase

log = logging.getLogger(__name__)


class Ending(Enum):
    """How the simulated person finishes an answer."""

    PRESS = "press"  # speak, then press the button
    SILENCE = "silence"  # speak, then say nothing until the device moves on
    SKIP = "skip"  # never speak
    HOLD = "hold"  # speak, then hold the button to end the session


DEFAULT_PLAN = (Ending.PRESS, Ending.SILENCE, Ending.SKIP, Ending.PRESS)


class SimulatedPerson:
    """Reacts to the device's events on its own thread, like a person would."""

    def __init__(
        self,
        speak: Callable[[int], None],
        press: Callable[[], None],
        hold: Callable[[], None],
        plan: Sequence[Ending] = DEFAULT_PLAN,
        think_s: float = 0.5,
    ):
        self.speak = speak  # speak(question_number): say the answer, returning when it has been said
        self.press = press
        self.hold = hold
        self.plan = plan
        self.think_s = think_s
        self._events: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._live, name="simulated-person", daemon=True)
        self._thread.start()

    def ending_for(self, question: int) -> Ending:
        return self.plan[(question - 1) % len(self.plan)]

    def on_event(self, event: Event) -> None:
        if event.phase is Phase.LISTENING:
            self._events.put(event.question)

    def _live(self) -> None:
        while (question := self._events.get()) is not None:
            ending = self.ending_for(question)
            if ending is Ending.SKIP:
                continue
            time.sleep(self.think_s)
            self.speak(question)
            if ending in (Ending.PRESS, Ending.HOLD):
                time.sleep(self.think_s)
                (self.press if ending is Ending.PRESS else self.hold)()

    def close(self) -> None:
        self._events.put(None)
        self._thread.join()
