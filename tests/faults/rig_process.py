"""The parent's side of tests/faults/rig_driver.py: spawn it, read its report lines, press, kill."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from audio.synthesis import PromptCache
from content.phrases import PHRASES
from tests.faults.support import tiny_pack
from tests.rig import pass_on_stalls

ROOT = Path(__file__).resolve().parents[2]


def prepare_dirs(tmp: Path) -> dict:
    """Data, cache, packs and reference folders, with every prompt of the tiny pack already rendered."""
    settings = {
        "data_dir": str(tmp / "data"),
        "cache_dir": str(tmp / "cache"),
        "packs_dir": str(tmp / "packs"),
        "ref_dir": str(tmp / "ref"),
    }
    pack = tiny_pack(tmp / "packs")
    (tmp / "ref").mkdir(exist_ok=True)
    PromptCache(tmp / "cache" / "prompts", pack.voice, pack.rate).render_all([*pack.prompts, *PHRASES.all()])
    return settings


class DeviceProcess:
    """One running rig_driver; `lines` fills in as it reports."""

    def __init__(self, settings: dict, stderr_path: Path | None = None):
        self.started_at = time.monotonic()
        self._stderr = open(stderr_path, "ab") if stderr_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.rig_driver", json.dumps(settings)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self.lines: list[dict] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            line["received"] = time.monotonic()
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.lines.append({"kind": "eof", "received": time.monotonic()})
            self._changed.notify_all()

    def wait_for(self, predicate, timeout: float) -> dict | None:
        """The first line (from the start) matching `predicate`, waiting up to `timeout` s for it."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if predicate(line):
                        return line
                    if line["kind"] == "eof":
                        return None
                seen = len(self.lines)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def event(self, phase: str, kind: str | None = None, question: int | None = None, timeout: float = 15.0):
        return self.wait_for(
            lambda entry: (
                entry["kind"] == "event"
                and entry["phase"] == phase
                and (kind is None or entry["event"] == kind)
                and (question is None or entry["question"] == question)
            ),
            timeout,
        )

    def send(self, text: str) -> None:
        try:
            self.proc.stdin.write(text.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    def press(self) -> None:
        self.send("\n")

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far (from /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self) -> float:
        """SIGKILL now; returns when it was sent (monotonic). Waits for the process and its last lines."""
        at = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.close()
        return at

    def close(self, timeout: float = 30) -> int:
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        code = self.proc.wait(timeout)
        self._reader.join(5)
        if self._stderr is not subprocess.DEVNULL:
            self._stderr.close()
            pass_on_stalls(Path(self._stderr.name).read_text(errors="replace"))
        return code
