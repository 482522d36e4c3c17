"""The install path people run, for real: systemd/install.sh as root (no --prefix) on a booted Debian bookworm
with systemd as PID 1, the hardened unit unchanged, a whole session through the audio rig, the watchdog, recovery
after a restart mid-answer, delete beside the running service, installing again, upgrading from the previous
commit, and uninstalling.

The tests run in file order on one booted system; each one's steps build on the ones before.
"""

import re
import subprocess
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from audio.compress import decode
from audio.recognizer import load_model
from bench.archive_factory import write_session
from tests.rig import (
    ROOT,
    SpeakerRecording,
    closest_direct_decode,
    espeak_wav,
    korean_model,
    locate,
    pass_on_stalls,
    play_into_mic,
    read_int16,
    wait_until_recorded,
)
from tests.system.container import Container, build_root
from tests.system.installed import CONFIG, MODEL_BOUND, RIG_INSIDE, STATE, Installed, RigSocket, prepare

pytestmark = [pytest.mark.system, pytest.mark.rig, pytest.mark.usefixtures("audio_rig")]

ANSWER = "안녕하세요 저는 오늘 선생님과 이야기를 했습니다"
LONG_ANSWER = "저는 사람들과 가까워지면 멀어집니다 그래서 조금 어색하지만 괜찮습니다 오늘은 정말 좋은 날입니다"
INSTALLED_FILES = ("/opt/reflect", "/etc/reflect", "/etc/systemd/system", STATE)


@pytest.fixture(scope="session")
def previous_commit(tmp_path_factory) -> Path:
    """An older version to upgrade from: the previous commit's files. A checkout without history (a shallow
    clone) gets one commit more from its origin; failing that, this tree with its version set back, said aloud."""
    folder = tmp_path_factory.mktemp("previous")
    git = ["git", "-C", str(ROOT)]
    if subprocess.run([*git, "rev-parse", "--verify", "-q", "HEAD~1"], capture_output=True).returncode != 0:
        subprocess.run([*git, "fetch", "-q", "--deepen=1"], capture_output=True, timeout=120)
    archive = subprocess.run([*git, "archive", "HEAD~1"], capture_output=True)
    if archive.returncode == 0:
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
        return folder
    print("no previous commit in this checkout: upgrading from this tree with its version set back to 0.0.1")
    archive = subprocess.run([*git, "archive", "HEAD"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    project = folder / "pyproject.toml"
    project.write_text(re.sub(r'(?m)^version = ".*"$', 'version = "0.0.1"', project.read_text(), count=1))
    return folder


@pytest.fixture(scope="session")
def system(audio_rig, previous_commit):
    """One boot, with install.sh run once as a new owner would (session-scoped: a rig retry keeps the system)."""
    build_root()
    with RigSocket() as rig_socket:
        container = Container(
            {
                ROOT: ("/src", True),
                previous_commit: ("/src-previous", True),
                korean_model(): (MODEL_BOUND, True),
                rig_socket: (RIG_INSIDE, True),
            }
        )
        try:
            prepare(container)
            service = Installed(container)
            started = time.monotonic()
            service.first_install = service.install()
            print(f"install.sh on a fresh system: {time.monotonic() - started:.0f} s")
            yield service
        finally:
            container.poweroff()


@pytest.fixture
def journal(system):
    """The journal lines this test adds, passed on to the rig's stall detection when it ends."""
    before = len(system.journal())
    yield before
    pass_on_stalls("\n".join(system.journal()[before:]))


def test_install_sh_starts_the_hardened_service_ready_and_private(system, journal):
    assert "done: reflect is running" in system.first_install
    state = system.wait_ready()
    assert state["SubState"] == "running"  # Type=notify: "running" only after READY=1
    assert "Started reflect.service" in "\n".join(system.journal())
    assert system.container.run("stat", "-c", "%a %U %G", STATE).stdout.split() == ["700", "reflect", "reflect"]
    interfaces = system.container.run("cat", f"/proc/{state['MainPID']}/net/dev").stdout.splitlines()[2:]
    assert [line.split(":")[0].strip() for line in interfaces] == ["lo"]
    outside = system.container.run("cat", "/proc/1/net/dev").stdout.splitlines()[2:]
    assert len(outside) > 1, "the check cannot fail: the container itself has only lo"


def test_a_whole_session_in_the_installed_service_is_saved_and_transcribed_and_no_word_is_logged(
    system, journal, tmp_path
):
    spoken = espeak_wav(ANSWER, tmp_path / "answer.wav")
    earlier = set(system.sessions())
    pressed = system.reflect("press")
    assert (pressed.returncode, pressed.stderr) == (0, "")
    system.wait_for(r"listening: question 1", journal, timeout=180)  # the first press renders the prompts
    wait_until_recorded()
    play_into_mic(spoken)
    system.wait_for(r"answer 1 recorded", journal)
    held = system.reflect("hold")
    assert (held.returncode, held.stderr) == (0, "")
    lines = system.wait_for(r"answer 1 compressed", journal)  # after its transcript
    [folder] = set(system.sessions()) - earlier
    record = system.sessions()[folder]
    assert record["status"] == "ended_early"
    [answer] = record["answers"]
    assert (answer["status"], answer["ended_by"]) == ("answered", "silence")
    samples, rate = read_int16(spoken)
    assert answer["duration_s"] >= 0.8 * len(samples) / rate
    saved = system.container.path(f"{STATE}/sessions/{folder}/{answer['audio']}")
    assert answer["transcript"]
    error_rate, direct = closest_direct_decode(load_model(korean_model()), *decode(saved), answer["transcript"])
    assert error_rate <= 0.5, (direct, answer["transcript"])  # the same words, give or take a few
    session_log = "\n".join(lines)
    assert not [word for word in answer["transcript"].split() if word in session_log]
    assert system.container.run(
        "stat", "-c", "%a %U", str(Path(STATE) / "sessions" / folder / answer["audio"])
    ).stdout.split() == ["600", "reflect"]


def test_a_frozen_service_is_killed_by_the_watchdog_and_started_again(system, journal):
    before = system.show()
    system.container.run("systemctl", "kill", "--signal=SIGSTOP", "--kill-who=main", "reflect.service")
    system.wait_for(r"Watchdog timeout", journal, timeout=90)
    after = system.wait_ready(timeout=90)
    assert int(after["NRestarts"]) == int(before["NRestarts"]) + 1
    assert after["MainPID"] != before["MainPID"]


def test_a_restart_mid_answer_is_recovered_at_the_next_start_and_its_audio_plays(system, journal, tmp_path):
    spoken = espeak_wav(LONG_ANSWER, tmp_path / "long.wav")
    earlier = set(system.sessions())
    assert system.reflect("press").returncode == 0
    system.wait_for(r"listening: question 1", journal)
    wait_until_recorded()
    [started] = set(system.sessions()) - earlier
    speaking = threading.Thread(target=play_into_mic, args=(spoken,))
    speaking.start()
    system.wait_for_audio(started, 2.5)  # well into the answer
    system.container.run("systemctl", "restart", "reflect.service")
    speaking.join()
    lines = system.wait_for(r"recovery: .*interrupted", journal)
    system.wait_ready()
    interrupted = started
    record = system.sessions()[interrupted]
    [answer] = record["answers"]
    assert answer["status"] == "interrupted" and answer["audio"], (answer, lines)
    recorded, rate = decode(system.container.path(f"{STATE}/sessions/{interrupted}/{answer['audio']}"))
    assert len(recorded) / rate >= 2.0, "the answer so far was lost"
    with SpeakerRecording() as heard:
        held_at = len(system.journal())
        assert system.reflect("hold").returncode == 0  # idle: replays the latest session
        system.wait_for(r"replaying: answer 1", held_at)
        system.wait_for(r"ready: waiting for a press", held_at)  # the replay has played out
    _, match = locate(recorded, rate, heard.samples, heard.RATE)
    assert match >= 0.8, f"the recovered answer did not play (correlation {match:.2f})"


def test_a_command_run_as_root_on_the_notes_leaves_every_file_to_the_service(system, journal):
    system.container.run("sh", "-c", f"rm -f {STATE}/index.sqlite3*")  # a cache: the next reader rebuilds it
    for command in (("notes",), ("search", "safe"), ("show", "latest")):
        done = system.reflect(*command, "--data-dir", STATE)
        assert done.returncode == 0, (command, done.stderr)
    assert system.container.path(f"{STATE}/index.sqlite3").exists(), "the check cannot fail: nothing was rebuilt"
    assert system.container.run("find", STATE, "-not", "-user", "reflect").stdout.split() == []


def test_delete_beside_the_running_service_is_done_by_the_service(system, journal):
    before = system.wait_ready()
    folder = write_session(system.container.path(STATE), datetime.now(timezone.utc), [["to", "be", "deleted"]])
    system.container.run("chown", "-R", "reflect:reflect", f"{STATE}/sessions")  # as if the service had made it
    done = system.reflect("delete", folder.name, "--yes", "--data-dir", STATE)
    # The service holds the notes for its whole life: only it could have deleted the session.
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, f"Deleted session {folder.name}.", ""), (
        done.stderr
    )
    assert folder.name not in system.sessions() and not folder.exists()
    after = system.wait_ready()
    assert after["MainPID"] == before["MainPID"]


def test_install_sh_again_changes_no_file_and_keeps_the_config(system, journal):
    before = system.files(*INSTALLED_FILES)
    pid = system.show()["MainPID"]
    output = system.install()
    assert system.files(*INSTALLED_FILES) == before
    assert system.container.path("/etc/reflect/config.toml").read_text() == CONFIG
    assert "installing" not in output and system.show()["MainPID"] == pid


def notes_kept(system) -> dict[str, tuple[str, ...]]:
    """Every file under the data dir but the owner lock, whose holder's pid changes with every restart."""
    return {path: seen for path, seen in system.files(STATE).items() if path != f"{STATE}/.owner.lock"}


def test_an_upgrade_from_the_previous_commit_keeps_the_notes_and_the_config(system, journal):
    notes = notes_kept(system)
    assert system.sessions(), "no notes to keep: the session tests run first"
    wheel = system.container.path("/opt/reflect/venv/.reflect-wheel").read_text()
    system.install("/src-previous")
    system.wait_ready()
    system.install("/src")
    system.wait_ready()
    assert notes_kept(system) == notes
    assert system.container.path("/etc/reflect/config.toml").read_text() == CONFIG
    assert system.container.path("/opt/reflect/venv/.reflect-wheel").read_text() == wheel


def test_uninstall_keeps_the_notes_and_purge_removes_them(system, journal):
    notes = system.files(STATE, owners=False)  # the reflect user goes: its files show a bare uid
    removed = system.container.run("bash", "/src/systemd/uninstall.sh").stdout
    assert "your notes are still in /var/lib/reflect" in removed
    assert system.files(STATE, owners=False) == notes
    for gone in ("/opt/reflect", "/etc/reflect", "/etc/systemd/system/reflect.service"):
        assert not system.container.path(gone).exists(), gone
    assert system.container.run("id", "reflect", check=False).returncode != 0
    purged = system.container.run("bash", "/src/systemd/uninstall.sh", "--purge").stdout
    assert "notes included" in purged and not system.container.path(STATE).exists()
