"""The service loop: ready for a press, forever; one thread owns the flow."""

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from audio.recognizer import ModelLoader
from content.packs import Pack
from device.flow.events import Event, EventKind
from device.flow.gestures import Gesture, GestureEvent
from device.flow.owner_jobs import OwnerJobs
from device.flow.parts import SessionParts
from device.flow.session import Session, SessionSettings
from device.notes.session_notes import SessionNotes

log = logging.getLogger(__name__)

SEAL_EVERY_S = 600.0
"""How often the idle service looks for sessions due to be sealed (privacy.readable_for_h)."""


@dataclass
class Device:
    """The assembled parts the flow thread needs (built from the config by device.setup.wiring)."""

    pack: Pack
    parts: SessionParts
    settings: SessionSettings
    model: ModelLoader | None

    def close(self) -> None:
        self.parts.worker.close()
        self.parts.speaker.close()


class ServiceLoop:
    """Idle press starts a session; idle double press replays a question across time; idle hold replays the latest
    session; kept down to the long hold, it shuts down."""

    def __init__(
        self,
        device: Device,
        data_dir: Path,
        replay: Callable[[], Gesture | None],
        shut_down: Callable[[], None] | None = None,
        jobs: OwnerJobs | None = None,
        across_time: Callable[[], Gesture | None] | None = None,
        double_press_s: float = 0.0,
    ):
        self.device = device
        self.jobs = jobs
        """The owner's jobs (delete, reindex, recover) asked for over the control socket, done while idle."""
        self.data_dir = data_dir
        self.replay = replay
        """Replays the latest session; returns the hold or long hold that stopped it, or None."""
        self.across_time = across_time
        """Replays the latest session's question across time; None where a double press means nothing."""
        self.double_press_s = double_press_s
        """How long a press in the ready state waits for its double press before it starts a session."""
        self.shut_down = shut_down
        """Says it is safe to unplug and powers off; None where a long hold means nothing (`reflect session`)."""
        self.stopping = threading.Event()
        self._held_in_ready = False
        """The last gesture was a hold in the ready state whose replay ended by itself: its button may still be
        down, and the long hold of that same contact shuts down."""

    def run(self) -> None:
        """Serve gestures until `stopping` is set."""
        parts = self.device.parts
        parts.on_event(Event(EventKind.WAITING))
        next_seal = parts.inbox.clock.now() + SEAL_EVERY_S
        while not self.stopping.is_set():
            parts.inbox.heartbeat()
            if self.jobs is not None:
                self.jobs.do_waiting(parts.worker.later, parts.inbox.heartbeat)
            if parts.inbox.clock.now() >= next_seal:
                parts.worker.later(parts.seal)
                next_seal = parts.inbox.clock.now() + SEAL_EVERY_S
            try:
                item = parts.inbox.get(timeout=1.0)
            except queue.Empty:
                continue
            if isinstance(item, GestureEvent):
                self._handle_busy(item)

    def _handle_busy(self, gesture: GestureEvent) -> None:
        """`handle`, with the owner's jobs told the flow is busy meanwhile."""
        if self.jobs is None:
            self.handle(gesture)
            return
        self.jobs.busy = True
        try:
            self.handle(gesture)
        finally:
            self.jobs.busy = False

    def handle(self, gesture: GestureEvent) -> SessionNotes | None:
        """Act on one idle gesture (returning a session's notes); failures are logged, then back to ready."""
        held_in_ready, self._held_in_ready = self._held_in_ready, False
        try:
            long_hold_in_ready = False
            if gesture.gesture is Gesture.PRESS:
                if self.across_time is None or not self._pressed_twice():
                    return Session(self.device.pack, self.device.parts, self.device.settings, self.data_dir).run()
                self.across_time()
            elif gesture.gesture is Gesture.HOLD:
                stopped_by = self.replay()
                self._held_in_ready = stopped_by is None
                long_hold_in_ready = stopped_by is Gesture.LONG_HOLD
            elif gesture.gesture is Gesture.LONG_HOLD:  # of the hold whose replay ended by itself, or else of one
                long_hold_in_ready = held_in_ready  # begun outside ready
            if long_hold_in_ready and self.shut_down is not None:
                self.shut_down()
                self.stopping.set()  # the power-off is asked for: the loop ends and the LED goes out
                return None
        except Exception:
            log.exception("that failed; back to ready")
            self.device.parts.on_event(Event(EventKind.FAILED))
        self.device.parts.on_event(Event(EventKind.WAITING))
        return None

    def _pressed_twice(self) -> bool:
        """Whether the press just taken is the first of a double press (its DOUBLE_PRESS comes within the window);
        any other gesture meanwhile is put back for the ready state."""
        if self.across_time is None or self.double_press_s <= 0:
            return False
        inbox = self.device.parts.inbox
        deadline = inbox.clock.now() + self.double_press_s
        while (item := inbox.next_item(deadline)) is not None:
            if isinstance(item, GestureEvent):
                if item.gesture is Gesture.DOUBLE_PRESS:
                    return True
                inbox.put(item)
                return False
        return False
