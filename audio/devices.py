"""Finding PortAudio devices by a name substring, as the config names them."""
from common.errors import AudioDeviceMissing

KINDS = {"input": ("microphone", "max_input_channels", 0), "output": ("speaker", "max_output_channels", 1)}


def find_device(name: str, kind: str) -> int:
    """Index of the first `kind` ("input"/"output") device whose name contains `name` (default device if empty)."""
    import sounddevice as sd

    what, channels, default_slot = KINDS[kind]
    devices = sd.query_devices()
    usable = [d for d in devices if d[channels] > 0]
    if not name:
        index = sd.default.device[default_slot]
        if index is None or index < 0:
            index = usable[0]["index"] if usable else -1
        if index < 0:
            raise AudioDeviceMissing(f"No {what} found. Plug one in, or check `reflect devices`.")
        return index
    for device in usable:
        if name.lower() in device["name"].lower():
            return device["index"]
    names = ", ".join(repr(d["name"]) for d in usable) or "none"
    raise AudioDeviceMissing(f"No {what} matches {name!r} (available: {names}).")


def rescan() -> None:
    """Make PortAudio read the device list again (it reads it once), to find a re-plugged device."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


def default_rate(index: int) -> int:
    import sounddevice as sd

    return int(sd.query_devices(index)["default_samplerate"])


def describe_devices() -> str:
    """A readable list of audio devices for `reflect devices`."""
    import sounddevice as sd

    return str(sd.query_devices())
