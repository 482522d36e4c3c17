"""`reflect doctor`: checks the device's parts and says, for each, OK / WARN / FAIL and the fix."""

import os
import stat
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from audio.microphone import Microphone
from audio.recognizer import load_model
from common.errors import AudioDeviceBusy, AudioDeviceMissing, ReflectError
from common.files import free_bytes
from device.clock import FIX as CLOCK_FIX
from device.clock import ClockStatus, clock_status
from device.config import MB, Config
from device.setup.config_checks import config_problems

PROBE_RATES = (16000, 22050, 44100, 48000)
PI5_FACTORY = "LGPIOFactory"


@dataclass(frozen=True)
class Finding:
    level: str  # OK, WARN or FAIL
    what: str
    detail: str

    def __str__(self) -> str:
        return f"{self.level:<4} {self.what}: {self.detail}"


def in_use_by_service(what: str, name: str) -> str:
    """The one line for a device the running service holds (an ALSA hw: device admits one process at a time)."""
    return (
        f"{what} {name!r} is in use by the Reflect service (it has the {what} while it runs); "
        "stop it with `sudo systemctl stop reflect` to test it"
    )


SERVICE_HAS_AUDIO = (
    "The Reflect service is running and has its microphone and speaker while it runs: a hw: device it "
    "holds is listed with 0 channels or not at all, and opens for nothing else; stop it with "
    "`sudo systemctl stop reflect` to test them."
)


def devices_report(portaudio, service_running: Callable[[], bool]) -> str:
    """`reflect devices`: PortAudio's list, and one line when the running service holds devices in it."""
    from audio.devices import describe_devices

    listed = describe_devices(portaudio)
    return f"{listed}\n{SERVICE_HAS_AUDIO}" if service_running() else listed


def _busy(what: str, name: str, error: Exception, service_running: Callable[[], bool]) -> Finding:
    if service_running():
        return Finding("WARN", what, in_use_by_service(what, name))
    return Finding("FAIL", what, f"{name!r} is in use by another program ({error}); close it, then check again")


def audio_finding(config: Config, kind: str, portaudio, service_running: Callable[[], bool]) -> Finding:
    """The microphone ("input") or speaker ("output"): found, and the usual rates it accepts."""
    from audio.devices import find_device, is_busy

    what = "microphone" if kind == "input" else "speaker"
    name = config.audio.input_device if kind == "input" else config.audio.output_device
    try:
        index = find_device(name, kind, portaudio)
    except ReflectError as error:
        if isinstance(error, AudioDeviceMissing) and name and service_running():
            # PortAudio leaves out a hw: device another process holds when it lists them.
            return Finding("WARN", what, in_use_by_service(what, name))
        return Finding(
            "FAIL",
            what,
            f"{error} Set audio.{kind}_device to part of a name `reflect devices` lists, or to its ALSA name (hw:1,0).",
        )
    device = portaudio.query_devices(index)
    check = portaudio.check_input_settings if kind == "input" else portaudio.check_output_settings
    accepted = []
    for rate in PROBE_RATES:
        try:
            check(device=index, samplerate=rate, channels=1, dtype="int16")
            accepted.append(str(rate))
        except Exception as error:
            if is_busy(error):
                return _busy(what, device["name"], error, service_running)
    detail = (
        f"{device['name']!r}, native {int(device['default_samplerate'])} Hz, "
        f"accepts {', '.join(accepted) or 'none of the usual rates'}"
    )
    return Finding("OK" if accepted else "FAIL", what, detail)


def room_finding(
    config: Config, open_microphone: Callable[[], Microphone], service_running: Callable[[], bool]
) -> Finding:
    """Listen for a few seconds: the room's noise floor, and whether speech detection can work in it."""
    from audio import room_check

    try:
        microphone = open_microphone()
    except (AudioDeviceBusy, AudioDeviceMissing) as error:  # held, or (held) left out of PortAudio's list
        if service_running():
            return Finding(
                "WARN",
                "room",
                "not measured: " + in_use_by_service("microphone", config.audio.input_device or "default"),
            )
        return Finding("FAIL", "room", f"not measured: {error}")
    measured = room_check.measure(microphone)
    assert measured is not None  # nothing stops it early here
    level, detail = measured
    return Finding(level, "room", detail)


def _model(config: Config) -> Finding:
    try:
        load_model(config.model_path)
    except ReflectError as error:
        return Finding("FAIL", "speech model", str(error))
    except Exception as error:
        return Finding(
            "FAIL", "speech model", f"{config.model_path} does not load ({error}). Reinstall: reflect model install"
        )
    return Finding("OK", "speech model", f"loads from {config.model_path}")


def _pi_model() -> str:
    try:
        return Path("/proc/device-tree/model").read_text().strip("\0\n")
    except OSError:
        return ""


def _gpio(config: Config) -> Iterator[Finding]:
    from gpiozero import Button, Device

    pi = _pi_model()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            button = Button(config.button.pin, pull_up=True)
    except Exception as error:
        yield Finding(
            "FAIL",
            "GPIO",
            f"no usable pin factory ({error}). On a Pi install python3-lgpio; "
            "on a laptop use `reflect run --keyboard`.",
        )
        return
    factory = type(Device.pin_factory).__name__
    try:
        if factory == "MockFactory":
            yield Finding("WARN", "GPIO", "MockFactory (simulated pins, for tests only)")
        elif "Pi 5" in pi and factory != PI5_FACTORY:
            yield Finding("FAIL", "GPIO", f"{pi} needs the lgpio pin factory, got {factory}. Install python3-lgpio.")
        else:
            yield Finding("OK", "GPIO", f"{factory}{' on ' + pi if pi else ''}")
        state = "pressed" if button.is_pressed else "released"
        yield Finding("OK", "button", f"GPIO {config.button.pin} reads {state}")
    finally:
        button.close()


def _space(config: Config) -> Finding:
    free_mb = free_bytes(config.data_dir) // MB
    floor = config.storage.min_free_mb
    if free_mb < floor:
        return Finding(
            "FAIL",
            "free space",
            f"{free_mb} MB free, below the {floor} MB floor: sessions will not start. "
            "Export and delete old notes, or use a larger card.",
        )
    return Finding("OK", "free space", f"{free_mb} MB free (floor {floor} MB)")


def _data_dir(config: Config) -> Finding:
    data = config.data_dir
    if not data.exists():
        return Finding("WARN", "data dir", f"{data} does not exist yet; it is created (0700) by the first session")
    problems = []
    for path in [data, *data.rglob("*")]:
        info = path.lstat()
        wanted = 0o700 if stat.S_ISDIR(info.st_mode) else 0o600
        if info.st_uid != os.getuid():
            problems.append(f"{path} is owned by uid {info.st_uid}")
        elif stat.S_IMODE(info.st_mode) & ~wanted:
            problems.append(f"{path} is {stat.S_IMODE(info.st_mode):o}")
        if len(problems) >= 3:
            break
    if problems:
        return Finding(
            "FAIL", "data dir", "; ".join(problems) + f". Fix: chmod -R go-rwx {data} (and chown to this user)"
        )
    return Finding("OK", "data dir", f"{data}: owned by this user, private (0700/0600)")


def _network() -> Finding:
    """Whether this process could reach a network: any route but loopback (read, never probed)."""
    routes = Path("/proc/self/net/route").read_text().splitlines()[1:]
    interfaces = sorted({line.split()[0] for line in routes if line.split()})
    if interfaces:
        return Finding(
            "WARN",
            "network",
            f"reachable through {', '.join(interfaces)}; under the systemd unit it is not (PrivateNetwork=yes)",
        )
    return Finding("OK", "network", "none reachable: the device is offline")


def _clock(config: Config, status: ClockStatus | None = None) -> Finding:
    """Whether session dates are real: the clock is synchronised, set from an RTC or by hand, or only restored."""
    status = status or clock_status(config.clock.trust)
    if status.trusted:
        return Finding("OK", "clock", f"{status.reason}; session dates are real")
    return Finding("WARN", "clock", f'{status.reason}, so new sessions are dated "about". Fix: {CLOCK_FIX}')


def pack_findings(config: Config) -> Iterator[Finding]:
    """The config's problems (pack, packs folder, pins), then each broken pack file in the owner's folder."""
    from content.packs import discover_packs

    problems = config_problems(config)
    for problem in problems:
        yield Finding("FAIL", "config", problem)
    if not problems:
        yield Finding("OK", "pack", f"{config.content.pack} (your packs: {config.packs_dir})")
    for entry in discover_packs([config.packs_dir]):
        if isinstance(entry, ReflectError):
            yield Finding("WARN", "pack file", f"{entry} (fix it, or move it out of the packs folder)")


def findings(
    config: Config, portaudio=None, open_microphone=None, service_running: Callable[[], bool] | None = None
) -> Iterator[Finding]:
    """Every check's findings; PortAudio, the microphone and whether the service runs are the real ones unless given."""
    from audio.devices import sounddevice
    from audio.microphone import SoundDeviceMicrophone
    from device.flow.control import service_running as control_socket_live

    audio = config.audio
    open_microphone = open_microphone or (
        lambda: SoundDeviceMicrophone(audio.input_device, audio.input_rate, audio.chunk_s, portaudio)
    )
    service_running = service_running or (lambda: control_socket_live(config.data_dir))
    checks: list[Callable[[], Finding | Iterator[Finding]]] = [
        lambda: audio_finding(config, "input", portaudio or sounddevice(), service_running),
        lambda: room_finding(config, open_microphone, service_running),
        lambda: audio_finding(config, "output", portaudio or sounddevice(), service_running),
        lambda: _model(config),
        lambda: pack_findings(config),
        lambda: _gpio(config),
        lambda: _space(config),
        lambda: _data_dir(config),
        lambda: _clock(config),
        _network,
    ]
    for check in checks:
        try:
            result = check()
            yield from [result] if isinstance(result, Finding) else result
        except Exception as error:  # a check that breaks is itself a finding, never a crash
            yield Finding("FAIL", getattr(check, "__name__", "check"), f"could not check ({error})")


def main(config: Config) -> int:
    """Print every finding; exit code 1 if any is a FAIL."""
    failed = False
    for finding in findings(config):
        print(finding, flush=True)
        failed |= finding.level == "FAIL"
    return 1 if failed else 0
