"""The service loop: ready for a press, forever; one thread owns the flow."""
import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from device.app import Device
from device.events import Event, Phase
from device.gestures import Gesture, GestureEvent
from device.session import Session

log = logging.getLogger(__name__)


class ServiceLoop:
    """Idle press starts a session; idle hold replays the latest one."""

    def __init__(self, device: Device, data_dir: Path, replay: Callable[[], None],
                 heartbeat: Callable[[], None] = lambda: None):
        self.device = device
        self.data_dir = data_dir
        self.replay = replay
        self.heartbeat = heartbeat
        self.stopping = threading.Event()

    def run(self) -> None:
        """Serve gestures until `stopping` is set."""
        parts = self.device.parts
        parts.heartbeat = self.heartbeat
        parts.on_event(Event(Phase.READY, "waiting for a press"))
        while not self.stopping.is_set():
            self.heartbeat()
            try:
                item = parts.inbox.get(timeout=1.0)
            except queue.Empty:
                continue
            if isinstance(item, GestureEvent):
                self.handle(item)

    def handle(self, gesture: GestureEvent) -> None:
        """Act on one idle gesture; failures are logged and the device goes back to ready."""
        try:
            if gesture.gesture is Gesture.PRESS:
                Session(self.device.pack, self.device.parts, self.device.settings, self.data_dir).run()
            else:
                self.replay()
        except Exception:
            log.exception("the session failed; back to ready")
            self.device.parts.on_event(Event(Phase.ERROR, "session failed"))
        self.device.parts.on_event(Event(Phase.READY, "waiting for a press"))
