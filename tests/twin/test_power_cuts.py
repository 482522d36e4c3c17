"""Power cuts on the Pi twin: qemu is killed at chosen moments, so the guest loses its page cache as a Pi does
when it is unplugged; then the twin boots again from the same disk. Runs after test_pi_twin on the same twin.

Each test cuts once and checks what the next boot kept: the service reaches READY by itself (its start-up
recovery runs), every answer whose saved tone played is whole (audio, transcript, record), the answer being
recorded keeps all but `sync_every_s` + 0.5 s of what was said before the cut, nothing is left half-made, and
the kernel replays the journal without errors. The last test powers off cleanly and runs e2fsck on the disk.
"""
import json
import subprocess
import time

import pytest
import soundfile

from tests.rig import ROOT, read_int16, speech_span_s
from tests.twin import device
from tests.twin.device import REFLECT, SHARE, STATE

pytestmark = pytest.mark.twin

SYNC_EVERY_S = 1.0
"""audio.wavfile.WavWriter's default: the answer's audio is made durable at least this often."""
ALLOWED_LOSS_S = SYNC_EVERY_S + 0.5
WATCHER = ROOT / "tests" / "twin" / "guest" / "freeze_when.py"
kept: dict[str, str] = {}
"""What each cut kept, printed at the end for the closing report."""


def new_sessions(twin, before: set[str]) -> dict[str, dict]:
    return {name: s for name, s in device.sessions(twin).items() if name not in before}


def cut_and_boot(twin) -> float:
    """Cut the power, boot again and wait until the service is ready; the seconds from boot to READY."""
    twin.cut()
    started = time.monotonic()
    twin.boot()
    device.wait_status(twin, r"^ready: waiting for a press", timeout=600)
    kernel = twin.run("dmesg | grep -i 'ext4' || true")
    assert "error" not in kernel.lower(), kernel
    return time.monotonic() - started


def leftovers(twin) -> list[str]:
    """Half-made files anywhere in the data dir (the index's own SQLite files excepted)."""
    out = twin.run(f"find {STATE}/sessions -name '*.part' -o -name '.*.tmp' -o -name '*.age.part'")
    return out.split()


def start_answering(twin) -> None:
    twin.run(f"{REFLECT} press")
    device.wait_status(twin, r"^listening: question 1$")


def intact(twin, session: str, answer: dict, spoken_path) -> None:
    """An answer whose saved tone played: its audio as long as what was said, its transcript, its record."""
    assert answer["status"] == "answered", answer
    assert answer["transcript"] is not None, answer
    folder = device.fetch_notes(twin, twin.workdir / f"notes-{time.monotonic_ns()}")
    samples, rate = soundfile.read(folder / session / answer["audio"], dtype="int16")
    spoken, spoken_rate = read_int16(spoken_path)
    assert abs(speech_span_s(samples, rate) - speech_span_s(spoken, spoken_rate)) < 0.5


def freeze_when(twin, pattern: str, mode: str = "create", pids: str = "") -> str:
    """Start the guest's watcher: the writer is stopped the moment a file matching `pattern` appears."""
    (twin.share / WATCHER.name).write_text(WATCHER.read_text())
    handle = twin.start(f"exec python3 {SHARE}/freeze_when.py {STATE} '{pattern}' {mode} {pids}")
    deadline = time.monotonic() + 60
    while "watching" not in twin.output(handle):
        assert time.monotonic() < deadline, twin.output(handle)
        time.sleep(0.1)
    return handle


def wait_frozen(twin, handle: str, timeout: float = 600) -> str:
    code, out = twin.result(handle, timeout)
    assert code == 0 and "froze" in out, out
    return out.strip().splitlines()[-1]


def indexed_words(twin, sessions: list[str]) -> list[str]:
    """What the search index still holds of what was said in `sessions`."""
    out = twin.run(f"""python3 - <<'EOF'
import json, sqlite3
index = sqlite3.connect("file:{STATE}/index.sqlite3?mode=ro", uri=True)
rows = index.execute("SELECT text FROM answer_text JOIN sessions ON session_n = n WHERE id IN (%s)"
                     % ",".join("?" * {len(sessions)}), {sessions!r}).fetchall()
print(json.dumps([text for text, in rows if text.strip()]))
EOF""")
    return json.loads(out)


def service_pid(twin) -> str:
    return twin.run("systemctl show -p MainPID --value reflect.service").strip()


def test_a_cut_mid_answer_keeps_all_but_the_last_second(installed, answers):
    twin, _, _ = installed
    before = set(device.sessions(twin))
    start_answering(twin)
    twin.start(f"""
date +%s.%N >{SHARE}/out/said-start
( while :; do date +%s.%N >{SHARE}/out/said-tick.new; mv {SHARE}/out/said-tick.new {SHARE}/out/said-tick; sleep 0.05; done ) &
aplay -q -D plughw:Mic,0 {device.PLAY_BUFFER} {SHARE}/answer3.wav
""")
    while not (twin.share / "out" / "said-tick").exists():
        time.sleep(0.05)
    time.sleep(5)
    said = float((twin.share / "out" / "said-tick").read_text()) - float((twin.share / "out" / "said-start").read_text())
    ready_s = cut_and_boot(twin)
    (name, session), = new_sessions(twin, before).items()
    answer = session["answers"][0]
    folder = device.fetch_notes(twin, twin.workdir / "notes-mid-answer")
    samples, rate = soundfile.read(folder / name / answer["audio"], dtype="int16")
    loud = abs(samples.astype(int)) > 100
    speech_from = loud.argmax() / rate
    kept_s = len(samples) / rate - speech_from
    kept["mid-answer"] = (f"said {said:.2f} s before the cut, kept {kept_s:.2f} s (lost {said - kept_s:.2f} s); "
                          f"READY {ready_s:.0f} s after boot")
    assert kept_s >= said - ALLOWED_LOSS_S, kept["mid-answer"]
    assert answer["status"] == "interrupted"
    assert leftovers(twin) == []


def test_a_cut_right_after_the_saved_tone_keeps_the_answer(installed, answers):
    twin, _, _ = installed
    before = set(device.sessions(twin))
    start_answering(twin)
    device.say(twin, 1)
    device.wait_status(twin, r"^speaking: question 2$")
    ready_s = cut_and_boot(twin)
    sessions = device.wait_for_transcripts(twin)
    (name, session), = ((n, s) for n, s in sessions.items() if n not in before)
    intact(twin, name, session["answers"][0], answers[0])
    assert leftovers(twin) == []
    kept["right after the saved tone"] = f"answer 1 whole with its transcript; READY {ready_s:.0f} s after boot"


def _session_then_cut_at(twin, answers, pattern: str, mode: str = "create") -> tuple[str, dict, str, float]:
    """A one-answer session (ended by a hold), a cut when its writer creates `pattern`; what the next boot kept."""
    before = set(device.sessions(twin))
    watcher = freeze_when(twin, pattern, mode, service_pid(twin))
    start_answering(twin)
    device.say(twin, 1)
    device.wait_status(twin, r"^speaking: question 2$")
    twin.run(f"{REFLECT} hold")
    moment = wait_frozen(twin, watcher)
    ready_s = cut_and_boot(twin)
    sessions = device.wait_for_transcripts(twin)
    (name, session), = ((n, s) for n, s in sessions.items() if n not in before)
    return name, session, moment, ready_s


def test_a_cut_during_the_transcript_write_keeps_the_answer(installed, answers):
    twin, _, _ = installed
    name, session, moment, ready_s = _session_then_cut_at(twin, answers, r"^\.session\.json\.tmp$", "transcript")
    intact(twin, name, session["answers"][0], answers[0])
    assert leftovers(twin) == []
    kept["during the transcript write"] = f"{moment}: answer whole, transcript redone; READY {ready_s:.0f} s"


def test_a_cut_during_compression_keeps_the_answer(installed, answers):
    twin, _, _ = installed
    name, session, moment, ready_s = _session_then_cut_at(twin, answers, r"\.flac\.part$")
    intact(twin, name, session["answers"][0], answers[0])
    assert session["answers"][0]["audio"].endswith(".flac"), "recovery compressed it again"
    assert leftovers(twin) == []
    kept["during compression"] = f"{moment}: answer whole, compressed again; READY {ready_s:.0f} s"


def test_a_cut_during_a_search_index_update_loses_nothing(installed):
    twin, _, _ = installed
    before = device.sessions(twin)
    watcher = freeze_when(twin, r"^index\.sqlite3-(journal|wal)$")
    twin.start(f"{REFLECT} search --data-dir {STATE} 선생님")
    moment = wait_frozen(twin, watcher, timeout=120)
    ready_s = cut_and_boot(twin)
    assert device.sessions(twin) == before
    listed = json.loads(twin.run(f"{REFLECT} notes --json --data-dir {STATE}"))["sessions"]
    assert len(listed) == len(before), listed
    kept["during a search-index update"] = f"{moment}: every session listed again; READY {ready_s:.0f} s"


def test_a_cut_during_sealing_leaves_nothing_plain(installed, answers):
    twin, _, _ = installed
    recipient = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout
    public = next(line.split(": ")[1] for line in recipient.splitlines() if line.startswith("# public key"))
    twin.run(f"""
printf '\\n[privacy]\\nrecipient = "{public}"\\nreadable_for_h = 0\\n' >>/etc/reflect/config.toml
systemctl restart reflect.service
""")
    device.wait_status(twin, r"^ready: waiting for a press", timeout=600)
    before = set(device.sessions(twin))
    watcher = freeze_when(twin, r"\.age\.part$", "create", service_pid(twin))
    start_answering(twin)
    device.say(twin, 1)
    device.wait_status(twin, r"^speaking: question 2$")
    twin.run(f"{REFLECT} hold")
    moment = wait_frozen(twin, watcher)
    ready_s = cut_and_boot(twin)
    deadline = time.monotonic() + 900
    while not all(s.get("sealed") for n, s in device.sessions(twin).items() if n not in before):
        assert time.monotonic() < deadline, "the cut session was never sealed"
        time.sleep(5)
    cut = [name for name in device.sessions(twin) if name not in before]
    plain = twin.run(f"cd {STATE}/sessions && find {' '.join(cut)} -type f ! -name '*.age' ! -name session.json")
    assert cut and plain.split() == [], plain
    assert indexed_words(twin, cut) == [], "a sealed session's words are still in the search index"
    kept["during sealing"] = f"{moment}: sealed after recovery, no plain file left; READY {ready_s:.0f} s"


def test_the_disk_needs_no_repair_after_the_cuts(installed):
    twin, _, _ = installed
    twin.start("systemctl poweroff")
    twin.wait_off()
    raw = twin.workdir / "disk.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(twin.disk), str(raw)], check=True)
    check = subprocess.run(["e2fsck", "-f", "-n", str(raw)], capture_output=True, text=True)
    raw.unlink()
    print("\npower cuts:\n" + "\n".join(f"  {moment}: {what}" for moment, what in kept.items()))
    assert check.returncode == 0, check.stdout + check.stderr
