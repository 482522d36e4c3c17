"""`reflect delete`, `reindex` and `recover` beside the running service: the service does them between sessions.

The service owns the notes for its whole life, so those commands cannot; they ask it over the control socket
(device.flow.control) instead. A job waits in memory until the flow thread is idle, then runs on the
recognizer's worker, after every transcript and sealing queued before it, while the flow waits for it: no
session starts while a job runs, and no job runs while a session does. Asked during a session (or a replay),
the service answers at once that it will do the job after it; a job it had no time for before it stopped is
not done (the command can be run again).
"""

import functools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import NotesBusy, ReflectError, ServiceUnreachable
from device.flow.control import TIMEOUT_S, request
from device.notes import review_commands
from device.notes.archive import Archive
from device.notes.owner import own
from device.notes.recovery import recovered

log = logging.getLogger(__name__)

SERVICE_SILENT = (
    "The service owns the notes but does not answer on its control socket; stop it "
    "(sudo systemctl stop reflect) and try again."
)
ANSWER_WAIT_S = 30.0
"""How long the service keeps a command waiting for an idle job's answer before saying it is still working."""
WHAT = {"delete": "delete session {}", "reindex": "rebuild the search index", "recover": "recover the notes"}


@dataclass(eq=False)
class Job:
    """One request ("delete ID", "reindex", "recover") and, once done, the answer for the control socket."""

    request: str
    done: threading.Event = field(default_factory=threading.Event)
    answer: str = ""

    def what(self) -> str:
        word, _, argument = self.request.partition(" ")
        return WHAT[word].format(argument)


class OwnerJobs:
    """The service's queue of owner's jobs: asked for on the control thread, done when the flow is idle."""

    def __init__(self, data_dir: Path, model=None, audio_format: str = "wav"):
        self.data_dir = Path(data_dir)
        self.model = model
        self.audio_format = audio_format
        self.busy = False
        """Set by the flow thread while it handles a gesture (a session or a replay)."""
        self._waiting: queue.Queue[Job] = queue.Queue()

    def ask(self, line: str) -> str:
        """The control socket's `on_job`: queue the job, and answer once it is done (or "later")."""
        job = Job(line)
        if line.partition(" ")[0] not in WHAT:
            return f"refused: unknown job {line[:20]!r}"
        busy = self.busy
        self._waiting.put(job)
        if busy:
            return f"later\nThe device is in a session; it will {job.what()} after this session."
        if job.done.wait(ANSWER_WAIT_S):
            return job.answer
        return f"later\nThe service is still working; it will {job.what()} before the next session."

    def do_waiting(self, run_later: Callable[[Callable[[], None]], None], heartbeat: Callable[[], None]) -> None:
        """On the flow thread, while idle: do every waiting job on the worker (`run_later`), waiting for each."""
        while True:
            try:
                job = self._waiting.get_nowait()
            except queue.Empty:
                return
            run_later(functools.partial(self._do, job))
            while not job.done.wait(1.0):
                heartbeat()

    def _do(self, job: Job) -> None:
        """Do one job and set its answer; a failure is the answer, never the worker's end."""
        word, _, argument = job.request.partition(" ")
        try:
            job.answer = (
                self._delete(argument)
                if word == "delete"
                else self._reindex()
                if word == "reindex"
                else self._recover()
            )
        except ReflectError as error:
            job.answer = f"refused: {error}"
        except Exception as error:  # noqa: BLE001 - the service goes on; the journal has the detail
            log.exception("the %s job failed", word)
            job.answer = f"refused: could not {job.what()} ({type(error).__name__}); see the service's journal"
        finally:
            job.done.set()

    def _delete(self, session_id: str) -> str:
        return f"ok\n{review_commands.deleted(Archive(self.data_dir, sets_aside=False).delete(session_id))}"

    def _reindex(self) -> str:
        return f"ok\n{review_commands.reindex(Archive(self.data_dir, sets_aside=False))}"

    def _recover(self) -> str:
        code, text = recovered(self.data_dir, self.model, self.audio_format)
        return f"{'failed' if code else 'ok'}\n{text}"


def do_or_ask(data_dir: Path, role: str, line: str, work: Callable[[], tuple[int, str]]) -> tuple[int, str]:
    """Do `work` as the notes' owner (returning its exit code and text); if the running service owns them, ask it
    to do the job `line` instead. Exit 0 for done or "later", 1 for done with problems."""
    try:
        owner = own(data_dir, role)
    except NotesBusy as busy:
        if busy.holder != "service":
            raise
        return _ask_service(data_dir, line)
    with owner:
        return work()


def _ask_service(data_dir: Path, line: str) -> tuple[int, str]:
    """The running service's answer to job `line`."""
    try:
        status, text = request(data_dir, line, wait_s=ANSWER_WAIT_S + TIMEOUT_S + 1)
    except ServiceUnreachable:
        raise NotesBusy(SERVICE_SILENT, "service") from None
    return (1 if status == "failed" else 0), text
