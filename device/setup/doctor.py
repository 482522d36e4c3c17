"""`reflect doctor`: checks the device's parts and says, for each, OK / WARN / FAIL and the fix."""
import os
import stat
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from audio.recognizer import load_model
from common.errors import ReflectError
from common.files import free_bytes
from device.clock import FIX as CLOCK_FIX
from device.clock import ClockStatus, clock_status
from device.setup.config import Config

PROBE_RATES = (16000, 22050, 44100, 48000)
PI5_FACTORY = "LGPIOFactory"


@dataclass(frozen=True)
class Finding:
    level: str  # OK, WARN or FAIL
    what: str
    detail: str

    def __str__(self) -> str:
        return f"{self.level:<4} {self.what}: {self.detail}"


def _audio(config: Config, kind: str) -> Finding:
    import sounddevice as sd

    from audio.devices import default_rate, find_device

    what = "microphone" if kind == "input" else "speaker"
    name = config.audio.input_device if kind == "input" else config.audio.output_device
    try:
        index = find_device(name, kind)
    except ReflectError as error:
        return Finding("FAIL", what, f"{error} Set audio.{kind}_device to part of a name `reflect devices` lists.")
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    accepted = []
    for rate in PROBE_RATES:
        try:
            check(device=index, samplerate=rate, channels=1, dtype="int16")
            accepted.append(str(rate))
        except Exception:
            continue
    device_name = sd.query_devices(index)["name"]
    detail = f"{device_name!r}, native {default_rate(index)} Hz, accepts {', '.join(accepted) or 'none of the usual rates'}"
    return Finding("OK" if accepted else "FAIL", what, detail)


def _room(config: Config) -> Finding:
    """Listen for a few seconds: the room's noise floor, and whether speech detection can work in it."""
    from audio import room_check
    from audio.microphone import SoundDeviceMicrophone

    audio = config.audio
    microphone = SoundDeviceMicrophone(audio.input_device, audio.input_rate, audio.chunk_s)
    level, detail = room_check.measure(microphone)
    return Finding(level, "room", detail)


def _model(config: Config) -> Finding:
    try:
        load_model(config.model_path)
    except ReflectError as error:
        return Finding("FAIL", "speech model", str(error))
    except Exception as error:
        return Finding("FAIL", "speech model", f"{config.model_path} does not load ({error}). Reinstall: reflect model install")
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
        yield Finding("FAIL", "GPIO", f"no usable pin factory ({error}). On a Pi install python3-lgpio; "
                                      "on a laptop use `reflect run --keyboard`.")
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
    free_mb = free_bytes(config.data_dir) // 1_000_000
    floor = config.storage.min_free_mb
    if free_mb < floor:
        return Finding("FAIL", "free space", f"{free_mb} MB free, below the {floor} MB floor: sessions will not start. "
                                             "Export and delete old notes, or use a larger card.")
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
        return Finding("FAIL", "data dir", "; ".join(problems) + f". Fix: chmod -R go-rwx {data} (and chown to this user)")
    return Finding("OK", "data dir", f"{data}: owned by this user, private (0700/0600)")


def _network() -> Finding:
    """Whether this process could reach a network: any route but loopback (read, never probed)."""
    routes = Path("/proc/self/net/route").read_text().splitlines()[1:]
    interfaces = sorted({line.split()[0] for line in routes if line.split()})
    if interfaces:
        return Finding("WARN", "network", f"reachable through {', '.join(interfaces)}; "
                                          "under the systemd unit it is not (PrivateNetwork=yes)")
    return Finding("OK", "network", "none reachable: the device is offline")


def _clock(config: Config, status: ClockStatus | None = None) -> Finding:
    """Whether session dates are real: the clock is synchronised, set from an RTC or by hand, or only restored."""
    status = status or clock_status(config.clock.trust)
    if status.trusted:
        return Finding("OK", "clock", f"{status.reason}; session dates are real")
    return Finding("WARN", "clock", f"{status.reason}, so new sessions are dated \"about\". Fix: {CLOCK_FIX}")


def findings(config: Config) -> Iterator[Finding]:
    checks: list[Callable[[], Finding | Iterator[Finding]]] = [
        lambda: _audio(config, "input"), lambda: _room(config), lambda: _audio(config, "output"),
        lambda: _model(config),
        lambda: _gpio(config), lambda: _space(config), lambda: _data_dir(config), lambda: _clock(config), _network]
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
