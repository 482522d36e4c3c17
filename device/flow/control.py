"""`reflect press`, `reflect hold` and `reflect hold --long`: the running service's control socket, for driving the
device without its button (one not wired yet, or a test).

The service listens on `control.sock` (AF_UNIX, stream) in its runtime dir: `$RUNTIME_DIRECTORY` when systemd
gives one (the unit: /run/reflect), else `$XDG_RUNTIME_DIR/reflect`, else `<data_dir>/.run`. The socket is 0600
in a 0700 folder, and the service also checks the peer's uid (SO_PEERCRED): only its own user and root may
drive it. A request is one line: a gesture ("press", "double-press", "hold" or "long-hold") or an owner's job
("delete ID", "reindex", "recover"). The answer, ended by closing the connection, is a status line ("ok", "later",
"failed" or "refused: WHY") and then any text for the person (nothing to a client that sends nothing: it
only looked whether the service runs).
An accepted gesture goes on the inbox as the GestureEvents the button would have put there: a long hold is the
button kept down past `button.off_hold_s`, a HOLD and then a LONG_HOLD; a double press, a PRESS and then a
DOUBLE_PRESS. A job goes to `on_job` (device.flow.owner_jobs), which answers once it is done, or "later" if a
session is under way.
"""

import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from common.errors import ControlRefused, ServiceUnreachable
from common.files import private_dir
from device.flow.gestures import Gesture, GestureEvent
from device.notes.record import DataLayout

log = logging.getLogger(__name__)

SOCKET_NAME = "control.sock"
SOCKET_MODE = 0o600
SYSTEMD_RUNTIME_DIR = Path("/run/reflect")
"""Where the installed unit's RuntimeDirectory=reflect puts it; a client run from a shell looks there too."""
WORDS = {
    "press": (Gesture.PRESS,),
    "double-press": (Gesture.PRESS, Gesture.DOUBLE_PRESS),
    "hold": (Gesture.HOLD,),
    "long-hold": (Gesture.HOLD, Gesture.LONG_HOLD),
}
JOB_WORDS = ("delete", "reindex", "recover")
"""The owner's jobs the service does when idle, for commands that cannot own the notes while it runs."""
MAX_REQUEST = 64
MAX_REPLY = 65536
TIMEOUT_S = 2.0
UCRED = struct.Struct("3i")
"""struct ucred: pid, uid, gid."""


def runtime_dir(data_dir: Path, env: Mapping[str, str] = os.environ) -> Path:
    """The service's runtime dir for its control socket."""
    if env.get("RUNTIME_DIRECTORY"):
        return Path(env["RUNTIME_DIRECTORY"].split(":")[0])
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "reflect"
    return DataLayout(Path(data_dir)).runtime


def socket_candidates(data_dir: Path, env: Mapping[str, str] = os.environ) -> list[Path]:
    """Where a client looks for the service's socket, in order: as the service would choose, then the unit's."""
    folders = [runtime_dir(data_dir, env), SYSTEMD_RUNTIME_DIR, DataLayout(Path(data_dir)).runtime]
    return [folder / SOCKET_NAME for n, folder in enumerate(folders) if folder not in folders[:n]]


def service_running(data_dir: Path, env: Mapping[str, str] = os.environ) -> bool:
    """Whether a service answers on a control socket (one this user may not reach counts: its folder is there)."""
    for path in socket_candidates(data_dir, env):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            try:
                client.connect(str(path))
            except PermissionError:
                return True
            except OSError:
                continue
            return True
    return False


def _read_line(conn: socket.socket) -> bytes:
    """Bytes up to the first newline (or the end, or MAX_REQUEST bytes)."""
    data = b""
    while b"\n" not in data and len(data) < MAX_REQUEST:
        chunk = conn.recv(MAX_REQUEST)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0][:MAX_REQUEST]


class ControlServer:
    """Accepts press/hold requests on one thread and hands them to `on_gesture` (the inbox's put)."""

    def __init__(
        self,
        folder: Path,
        on_gesture: Callable[[GestureEvent], None],
        allowed_uids: frozenset[int] | None = None,
        on_job: Callable[[str], str] | None = None,
    ):
        self.on_gesture = on_gesture
        self.on_job = on_job
        """Does a job request ("delete ID", ...) and returns the answer; None where there is no one to do it."""
        self.allowed_uids = frozenset({os.getuid(), 0}) if allowed_uids is None else allowed_uids
        self.path = private_dir(Path(folder)) / SOCKET_NAME
        self.path.unlink(missing_ok=True)  # left by a service that was killed; the notes' owner lock makes us the one
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.bind(str(self.path))
            os.chmod(self.path, SOCKET_MODE)
            self._sock.listen(4)
        except OSError:
            self._sock.close()
            raise
        self._thread = threading.Thread(target=self._serve, name="control", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:  # closed
                return
            with conn:
                try:
                    conn.settimeout(TIMEOUT_S)
                    reply = self.answer(conn)
                    if reply:
                        conn.sendall((reply + "\n").encode())
                except OSError as error:
                    log.warning("control request failed: %s", error)

    def answer(self, conn: socket.socket) -> str:
        """Check who is asking and what; act on a good request. Returns "ok", "refused: WHY", or "" (no request)."""
        _pid, uid, _gid = UCRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, UCRED.size))
        if uid not in self.allowed_uids:
            log.warning("control: refused a request from uid %d", uid)
            return "refused: only the service's own user and root may drive the device"
        word = _read_line(conn).decode("utf-8", "replace").strip()
        if not word:
            return ""  # a client that only looked whether the service runs (service_running)
        if word.split(" ", 1)[0] in JOB_WORDS and self.on_job is not None:
            log.info("control: %s", word)
            return self.on_job(word)
        gestures = WORDS.get(word)
        if gestures is None:
            known = [*WORDS, *(JOB_WORDS if self.on_job is not None else ())]
            return f"refused: unknown request {word[:20]!r} (the service knows {', '.join(known)})"
        log.info("control: %s", word)
        for gesture in gestures:
            self.on_gesture(GestureEvent(gesture, time.monotonic()))
        return "ok"

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept
        except OSError:
            pass
        self._sock.close()
        self._thread.join(timeout=TIMEOUT_S + 1)
        self.path.unlink(missing_ok=True)


def _read_reply(conn: socket.socket) -> bytes:
    """Everything the service sends until it closes the connection (at most MAX_REPLY bytes)."""
    data = b""
    while len(data) < MAX_REPLY:
        try:
            chunk = conn.recv(MAX_REPLY)
        except ConnectionResetError:
            if not data:
                raise
            break  # a refusal closes before reading the request: the unread request resets the connection
        if not chunk:
            break
        data += chunk
    return data[:MAX_REPLY]


def request(
    data_dir: Path, word: str, env: Mapping[str, str] = os.environ, wait_s: float = TIMEOUT_S + 1
) -> tuple[str, str]:
    """Send `word` to the running service and return its (status, text), waiting up to `wait_s` for the answer;
    ServiceUnreachable if none runs, ControlRefused if it says no."""
    for path in socket_candidates(data_dir, env):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(wait_s)
            try:
                client.connect(str(path))
            except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
                continue  # not there, or left by a service that is gone
            except PermissionError:
                raise ControlRefused(
                    f"not allowed to reach the service at {path}: only its own user and root "
                    "may drive the device (try sudo)"
                ) from None
            try:
                try:
                    client.sendall(f"{word}\n".encode())
                except BrokenPipeError:
                    pass  # a refusal is sent, and the connection closed, before the request is read
                reply = _read_reply(client).decode("utf-8", "replace").strip()
            except OSError as error:
                raise ServiceUnreachable(f"the service at {path} did not answer ({error})") from None
        status, _, text = reply.partition("\n")
        if status in ("ok", "later", "failed"):
            return status, text
        raise ControlRefused(f"the service refused: {status.removeprefix('refused: ')}")
    raise ServiceUnreachable(
        f"The device is not running, so there is nothing to {word.split('-')[-1]}; start it "
        "with `sudo systemctl start reflect` (or `reflect run`)."
    )
