"""sd_notify over a real datagram socket: readiness, status, and watchdog pings that stop when the loop hangs."""

import os
import socket
import threading
import time
import uuid

import pytest

from device.flow.watchdog import Watchdog, notify_ready, notify_status, notify_stopping, watchdog_interval


@pytest.fixture
def listener(tmp_path, monkeypatch):
    """A datagram socket bound where $NOTIFY_SOCKET points, as systemd would provide."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def drain(sock: socket.socket, seconds: float) -> list[str]:
    """Every datagram already queued or arriving within `seconds`."""
    messages = []
    deadline = time.monotonic() + seconds
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.0))
        try:
            messages.append(sock.recv(4096).decode())
        except (TimeoutError, BlockingIOError):
            return messages


def keep_alive(watchdog: Watchdog, seconds: float) -> None:
    """Play a healthy main loop: go round every 20 ms for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        watchdog.alive()
        time.sleep(0.02)


def test_ready_status_and_stopping_arrive_in_order(listener):
    assert notify_ready() and notify_status("listening\nto question 2") and notify_stopping()
    assert drain(listener, 0.3) == ["READY=1", "STATUS=listening to question 2", "STOPPING=1"]


def test_abstract_socket_address(monkeypatch):
    name = f"reflect-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify_ready()
        assert drain(sock, 0.3) == ["READY=1"]


def test_without_notify_socket_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify_ready() is False


def test_pings_while_alive_and_stop_when_the_loop_hangs(listener):
    watchdog = Watchdog(interval=0.1)
    try:
        keep_alive(watchdog, 0.65)
        healthy = drain(listener, 0.0)
        assert set(healthy) == {"WATCHDOG=1"} and len(healthy) >= 4
        drain(listener, 0.25)  # a ping may still come for the last healthy interval
        assert drain(listener, 0.6) == []
        keep_alive(watchdog, 0.35)
        assert "WATCHDOG=1" in drain(listener, 0.0)
    finally:
        watchdog.close()


def test_close_stops_the_pinger(listener):
    watchdog = Watchdog(interval=0.05)
    watchdog.close()
    watchdog.alive()
    assert drain(listener, 0.2) == []
    assert not any(t.name == "reflect-watchdog" for t in threading.enumerate())


def test_pinger_survives_a_missing_socket(tmp_path, monkeypatch):
    path = tmp_path / "late"
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    watchdog = Watchdog(interval=0.05)
    try:
        keep_alive(watchdog, 0.2)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(str(path))
            keep_alive(watchdog, 0.3)
            assert "WATCHDOG=1" in drain(sock, 0.0)
    finally:
        watchdog.close()


def test_interval_is_half_of_watchdog_usec_for_this_process(monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert watchdog_interval() is None
    monkeypatch.delenv("WATCHDOG_PID")
    monkeypatch.setenv("WATCHDOG_USEC", "0")
    assert watchdog_interval() is None


def test_no_watchdog_requested_means_no_thread(monkeypatch):
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    watchdog = Watchdog()
    assert watchdog.interval is None
    watchdog.alive()
    watchdog.close()
