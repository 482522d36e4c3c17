"""Finding PortAudio devices as the config names them, and a rate each one accepts.

A device is named by a part of its name as `reflect devices` lists it ("USB"), by its whole name ("default",
"dsnoop", a PCM from /etc/asound.conf), or by its ALSA name ("hw:1,0", "hw:CARD=Mic,DEV=0", "hw:Loopback,1,0").
PortAudio's ALSA host API lists each card's device as "<card name>: <pcm name> (hw:<card>,<device>)".
Every function takes `portaudio`, the sounddevice module or a stand-in with its query/check functions.
"""

import logging
import re
from pathlib import Path
from typing import Any

from common.errors import AudioDeviceBusy, AudioDeviceMissing

log = logging.getLogger(__name__)

KINDS = {"input": ("microphone", "max_input_channels", 0), "output": ("speaker", "max_output_channels", 1)}
FALLBACK_RATES = (48000, 44100)
"""Tried, in order, when a device refuses its default or the configured rate: what USB devices offer."""
ASOUND = Path("/proc/asound")
"""Where the kernel links each sound card's id to its number (/proc/asound/Mic -> card2)."""
ALSA_NAME = re.compile(
    r"(?P<plug>plug)?hw:(?:CARD=)?(?P<card>[^,]+)(?:,(?:DEV=)?(?P<device>\d+))?(?:,\d+)?", re.IGNORECASE
)
LISTED_ALSA = re.compile(r"\((?P<plug>plug)?hw:(?P<card>\d+),(?P<device>\d+)\)$")
BUSY_SIGNS = ("-9985", "device unavailable", "busy")
"""How PortAudio says a device is open elsewhere: "Device unavailable [PaErrorCode -9985]" (ALSA: EBUSY)."""


def sounddevice() -> Any:
    """The real PortAudio, imported only when a device is needed."""
    import sounddevice

    return sounddevice


def is_busy(error: BaseException) -> bool:
    """Whether a PortAudio error means the device is open in another process."""
    text = str(error).lower()
    return any(sign in text for sign in BUSY_SIGNS)


def find_device(name: str, kind: str, portaudio: Any = None, asound: Path = ASOUND) -> int:
    """Index of the `kind` ("input"/"output") device that `name` names (the default device if empty)."""
    portaudio = portaudio or sounddevice()
    what, channels, default_slot = KINDS[kind]
    usable = [d for d in portaudio.query_devices() if d[channels] > 0]
    if not name:
        index = portaudio.default.device[default_slot]
        if index is None or index < 0:
            index = usable[0]["index"] if usable else -1
        if index < 0:
            raise AudioDeviceMissing(f"No {what} found. Plug one in, or check `reflect devices`.")
        return int(index)
    alsa = ALSA_NAME.fullmatch(name.strip())
    if alsa:
        return _alsa_device(alsa, name, usable, what, asound)
    for matches in (lambda listed: listed == name.lower(), lambda listed: name.lower() in listed):
        for device in usable:
            if matches(device["name"].lower()):
                return int(device["index"])
    raise AudioDeviceMissing(f"No {what} matches {name!r} (available: {_names(usable)}).")


def _alsa_device(alsa: re.Match[str], name: str, usable: list[Any], what: str, asound: Path) -> int:
    card = _card_number(alsa["card"], usable, asound)
    device = int(alsa["device"] or 0)
    for listed in usable:
        found = LISTED_ALSA.search(listed["name"])
        if found and card == int(found["card"]) and device == int(found["device"]):
            if alsa["plug"] and not found["plug"]:
                raise AudioDeviceMissing(
                    f"PortAudio opens {name!r} (ALSA's converting plug layer) only with PA_ALSA_PLUGHW=1 in its "
                    f"environment; or name it hw:{card},{device}, and Reflect picks a rate the card accepts."
                )
            return int(listed["index"])
    raise AudioDeviceMissing(f"No {what} is ALSA's {name!r} (available: {_names(usable)}).")


def _card_number(card: str, usable: list[Any], asound: Path) -> int | None:
    """A card's number from its number, its id (/proc/asound/<id> -> cardN) or its name as PortAudio lists it."""
    if card.isdigit():
        return int(card)
    try:
        return int((asound / card).readlink().name.removeprefix("card"))
    except (OSError, ValueError):
        pass
    for listed in usable:
        found = LISTED_ALSA.search(listed["name"])
        if found and listed["name"].split(":")[0].strip().lower() == card.lower():
            return int(found["card"])
    return None


def _names(usable: list[Any]) -> str:
    return ", ".join(repr(d["name"]) for d in usable) or "none"


def pick_rate(index: int, kind: str, wanted: int, dtype: str, portaudio: Any = None) -> int:
    """A rate the device accepts: `wanted` (0 = its default rate), else 48000 or 44100, saying so in one log line.

    AudioDeviceBusy if the device is open in another process; AudioDeviceMissing if it accepts none of them."""
    portaudio = portaudio or sounddevice()
    what = KINDS[kind][0]
    first = wanted or int(portaudio.query_devices(index)["default_samplerate"])
    check = portaudio.check_input_settings if kind == "input" else portaudio.check_output_settings
    refusal = None
    for rate in dict.fromkeys((first, *FALLBACK_RATES)):
        try:
            check(device=index, samplerate=rate, channels=1, dtype=dtype)
        except Exception as error:
            if is_busy(error):
                raise AudioDeviceBusy(f"The {what} is in use by another program ({error}).") from error
            refusal = refusal or error
            continue
        if rate != first:
            log.warning("the %s refuses %d Hz (%s); using %d Hz", what, first, refusal, rate)
        return rate
    raise AudioDeviceMissing(
        f"The {what} accepts none of {', '.join(map(str, dict.fromkeys((first, *FALLBACK_RATES))))} Hz ({refusal})."
    )


def rescan() -> None:
    """Make PortAudio read the device list again (it reads it once), to find a re-plugged device."""
    sd = sounddevice()
    sd._terminate()
    sd._initialize()


def describe_devices(portaudio: Any = None) -> str:
    """A readable list of audio devices for `reflect devices`."""
    return str((portaudio or sounddevice()).query_devices())
