"""The service in its own process, on fake audio: the real loop, control socket and owner's jobs, and a person
who begins the first answer and keeps talking until told to stop. Prints "ready" once the socket listens,
"answering" once the first answer is being recorded (it then waits for the file DATA_DIR/../go), and every
event's kind after that; stops when stdin closes.

    python -m tests.device.flow.service_stand_in DATA_DIR RUN_DIR
"""

import sys
import threading
import time
from pathlib import Path

from audio.fakes import ScriptedMicrophone, speech
from content.packs import find_pack
from device.flow.control import ControlServer
from device.flow.owner_jobs import OwnerJobs
from device.flow.service import Device, ServiceLoop
from device.flow.session import SessionSettings
from device.notes.owner import own
from tests.device.flow.session_harness import RATE, FakeDevice


def main(data_dir: Path, run_dir: Path) -> None:
    go = data_dir.parent / "go"

    def keep_talking() -> None:
        print("answering", flush=True)
        while not go.exists():
            time.sleep(0.05)

    fake = FakeDevice(data_dir.parent)
    parts = fake.parts(ScriptedMicrophone([speech(1, RATE) + [keep_talking] + speech(1, RATE)], rate=RATE))
    parts.on_event = lambda event: print(event.kind.name, flush=True)
    with own(data_dir, "service"):
        jobs = OwnerJobs(data_dir)
        loop = ServiceLoop(
            Device(find_pack("therapy-relationship"), parts, SessionSettings(), model=None),
            data_dir,
            replay=lambda: None,
            jobs=jobs,
        )
        control = ControlServer(run_dir, parts.inbox.put, on_job=jobs.ask)
        threading.Thread(target=lambda: (sys.stdin.read(), loop.stopping.set()), daemon=True).start()
        print("ready", flush=True)
        try:
            loop.run()
        finally:
            control.close()
            fake.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
