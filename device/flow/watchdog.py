"""systemd's readiness and watchdog protocol (sd_notify), spoken directly over $NOTIFY_SOCKET."""

import os
import socket
import threading
import time


def notify(message: str) -> bool:
    """Send one sd_notify datagram; False (and nothing sent) when not run under systemd."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.sendto(message.encode("utf-8"), address)
    return True


def notify_ready() -> bool:
    """Tell systemd start-up is complete (Type=notify)."""
    return notify("READY=1")


def notify_status(text: str) -> bool:
    """Set the one-line status `systemctl status` shows."""
    return notify("STATUS=" + text.replace("\n", " "))


def notify_stopping() -> bool:
    """Tell systemd the service is shutting down on purpose."""
    return notify("STOPPING=1")


def watchdog_interval() -> float | None:
    """Half of systemd's WatchdogSec= for this process, or None when no watchdog is asked for."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


class Watchdog:
    """Pings WATCHDOG=1 every `interval` seconds, but only while the main loop keeps calling `alive()`."""

    def __init__(self, interval: float | None = None):
        self.interval = interval if interval is not None else watchdog_interval()
        self._last_alive = time.monotonic()
        self._stop = threading.Event()
        self._thread = None
        if self.interval is not None:
            self._thread = threading.Thread(target=self._run, name="reflect-watchdog", daemon=True)
            self._thread.start()

    def alive(self) -> None:
        """Record that the main loop just went round; call it at least once per interval."""
        self._last_alive = time.monotonic()

    def _run(self) -> None:
        """Ping after each interval in which the main loop showed it was alive."""
        interval = self.interval
        assert interval is not None  # the thread runs only under a watchdog
        while not self._stop.wait(interval):
            if time.monotonic() - self._last_alive <= interval:
                try:
                    notify("WATCHDOG=1")
                except OSError:
                    continue  # a missed ping; the next interval tries again

    def close(self) -> None:
        """Stop pinging and wait for the pinger thread to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
