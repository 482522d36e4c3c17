"""Settings: a frozen dataclass tree from TOML files, REFLECT_* environment variables and CLI flags.

Each default is defined once: the listening and speech-margin defaults are the audio modules' own
(EndpointSettings, DetectorSettings); the rest are here, and the runtime settings read them."""

import dataclasses
import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from audio.endpointing import EndpointSettings
from audio.voice_activity import DetectorSettings
from common.errors import ConfigInvalid
from device.clock import TRUST_CHOICES
from device.notes.look_back import CHOICES as LOOK_BACK_CHOICES
from device.notes.record import COMPRESSED_FORMATS, DataLayout

log = logging.getLogger(__name__)

SYSTEM_CONFIG = Path("/etc/reflect/config.toml")
ENV_PREFIX = "REFLECT_"
MB = 1_000_000
"""storage.min_free_mb is in these bytes (decimal megabytes, as `df -H` counts)."""


def setting(default, doc: str, low: float | None = None, high: float | None = None, choices: tuple = (), check=None):
    """A config field with its one-line description and allowed range or values (`check(value)`: why not, or None)."""
    return field(default=default, metadata={"doc": doc, "low": low, "high": high, "choices": choices, "check": check})


def _recipient_problem(value: str) -> str | None:
    from device.notes.sealing import recipient_problem

    return recipient_problem(value)


@dataclass(frozen=True)
class AudioSettings:
    input_device: str = setting(
        "", "Microphone: part of its name as `reflect devices` lists it; empty = the default device."
    )
    output_device: str = setting("", "Speaker: part of its name; empty = the default device.")
    input_rate: int = setting(
        0, "Capture rate in Hz; 0 = the microphone's native rate (USB mics: usually 44100 or 48000).", 0, 192000
    )
    output_rate: int = setting(0, "Playback rate in Hz; 0 = the speaker's native rate.", 0, 192000)
    chunk_s: float = setting(0.1, "Seconds of audio per chunk handed to the recorder and recognizer.", 0.02, 0.5)
    speech_margin_db: float = setting(
        DetectorSettings.margin_db,
        "How far (dB) speech must stand above the room's own noise level to count; "
        "the noise level is followed as it changes.",
        3,
        30,
    )


RETIRED = {
    ("audio", "speech_threshold_dbfs"): "speech is now told from the room by a VAD over a noise floor that follows "
    "the room; the setting is ignored (remove it; audio.speech_margin_db is the "
    "new knob)",
}
"""Settings a config may still hold from an earlier version: ignored, each with a warning saying why."""


@dataclass(frozen=True)
class ListeningSettings:
    silence_after_speech_s: float = setting(
        EndpointSettings.silence_after_speech_s,
        "Silence after speech that ends an answer; reflective pauses are long.",
        0.5,
        600,
    )
    no_speech_s: float = setting(
        EndpointSettings.no_speech_s, "With no speech at all for this long, the question is skipped.", 1, 3600
    )
    max_answer_s: float = setting(
        EndpointSettings.max_length_s, "Longest answer; it ends (and is kept) at this length.", 5, 7200
    )


@dataclass(frozen=True)
class ButtonSettings:
    pin: int = setting(17, "GPIO (BCM) pin of the button, wired to ground; the internal pull-up is used.", 0, 27)
    hold_s: float = setting(2.0, "Seconds a press must last to count as a hold.", 0.3, 10)
    off_hold_s: float = setting(
        10.0,
        "Seconds to hold the button in the ready state to shut down (then safe to "
        "unplug); the replay a hold starts stops first.",
        5,
        60,
    )
    led_pin: int = setting(0, "GPIO (BCM) pin of the optional status LED; 0 = no LED.", 0, 27)
    double_press_s: float = setting(
        0.4,
        "Seconds within which a second press makes a double press (in the ready "
        "state: hear a question across time); a press there waits this long "
        "before it starts a session.",
        0.15,
        1.5,
    )


@dataclass(frozen=True)
class SpeechSettings:
    voice: str = setting("", "espeak-ng voice for prompts (e.g. gmw/en-GB); empty = the pack's voice.")
    rate: int = setting(0, "Speaking rate in words per minute; 0 = the pack's rate.", 0, 400)


@dataclass(frozen=True)
class StorageSettings:
    data_dir: str = setting("", "Where notes are kept; empty = $XDG_DATA_HOME/reflect (~/.local/share/reflect).")
    cache_dir: str = setting("", "Where rendered prompts are cached; empty = $XDG_CACHE_HOME/reflect.")
    min_free_mb: int = setting(200, "A session does not start with less free space than this (MB).", 0, 1_000_000)
    audio_format: str = setting(
        "opus",
        "How finished answers are kept: opus (about 0.2 MB a minute), flac (every "
        "sample, about 10x larger) or wav (as recorded).",
        choices=(*COMPRESSED_FORMATS, "wav"),
    )


@dataclass(frozen=True)
class ModelSettings:
    path: str = setting("", "Vosk model directory; empty = <data_dir>/models/vosk-model-small-en-us-0.15.")


@dataclass(frozen=True)
class ContentSettings:
    pack: str = setting("therapy-relationship", "Id of the question pack to use (`reflect packs` lists them).")
    packs_dir: str = setting("", "A folder of your own packs (*.toml); empty = <data_dir>/packs.")


@dataclass(frozen=True)
class PrivacySettings:
    recipient: str = setting(
        "",
        "Your age public key (age1…) from `reflect keys new`: finished sessions are sealed so only "
        "your identity, kept off the device, opens them; empty = notes stay readable.",
        check=_recipient_problem,
    )
    readable_for_h: float = setting(
        24.0,
        "Hours a finished session stays readable (for hold-to-replay) before it is "
        "sealed; 0 = seal as soon as it is transcribed.",
        0,
        8760,
    )


@dataclass(frozen=True)
class ClockSettings:
    trust: str = setting(
        "auto",
        "Whether the wall clock is right: auto = ask the system (synchronised, a battery-backed "
        "clock, or `reflect clock set` this boot); yes or no force the answer.",
        choices=TRUST_CHOICES,
    )


@dataclass(frozen=True)
class ReflectionSettings:
    look_back: str = setting(
        "off",
        "After an answer is saved, offer once an earlier answer to the same question from "
        "about a month or a year before (press to hear it): off, month or year.",
        choices=LOOK_BACK_CHOICES,
    )


@dataclass(frozen=True)
class Config:
    audio: AudioSettings = AudioSettings()
    listening: ListeningSettings = ListeningSettings()
    button: ButtonSettings = ButtonSettings()
    speech: SpeechSettings = SpeechSettings()
    storage: StorageSettings = StorageSettings()
    model: ModelSettings = ModelSettings()
    content: ContentSettings = ContentSettings()
    privacy: PrivacySettings = PrivacySettings()
    clock: ClockSettings = ClockSettings()
    reflection: ReflectionSettings = ReflectionSettings()

    @property
    def data_dir(self) -> Path:
        return _dir_or(self.storage.data_dir, "XDG_DATA_HOME", ".local/share")

    @property
    def layout(self) -> DataLayout:
        """Where the notes, the index, the models and the packs live under the data dir."""
        return DataLayout(self.data_dir)

    @property
    def cache_dir(self) -> Path:
        return _dir_or(self.storage.cache_dir, "XDG_CACHE_HOME", ".cache")

    @property
    def model_path(self) -> Path:
        return _expanded(self.model.path) if self.model.path else self.layout.models / "vosk-model-small-en-us-0.15"

    @property
    def packs_dir(self) -> Path:
        return _expanded(self.content.packs_dir) if self.content.packs_dir else self.layout.packs

    def replace(self, section: str, **values: Any) -> "Config":
        """A copy with some fields of one section changed (validated)."""
        return _merge(self, {section: values}, "override")


def _expanded(value: str) -> Path:
    """`value` as a path, with a leading ~ or ~user expanded; ConfigInvalid if there is no such home folder."""
    try:
        return Path(value).expanduser()
    except RuntimeError:
        raise ConfigInvalid(f"{value!r}: there is no home folder to expand its ~ into") from None


def _dir_or(value: str, xdg_var: str, home_default: str) -> Path:
    if value:
        return _expanded(value)
    base = os.environ.get(xdg_var) or str(Path.home() / home_default)
    return Path(base) / "reflect"


def _coerce(value: Any, kind: Any, where: str, meta: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and kind is not str:
        try:
            value = kind(value)
        except ValueError:
            raise ConfigInvalid(f"{where}: expected {kind.__name__}, got {value!r}") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not kind:
        raise ConfigInvalid(f"{where}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
    if meta["choices"] and value not in meta["choices"]:
        raise ConfigInvalid(f"{where}: {value!r} is not one of {', '.join(meta['choices'])}")
    problem = meta["check"](value) if meta["check"] else None
    if problem:
        raise ConfigInvalid(f"{where}: {problem}")
    low, high = meta["low"], meta["high"]
    if (low is not None and not value >= low) or (high is not None and not value <= high):  # NaN is refused too
        raise ConfigInvalid(f"{where}: {value!r} is out of range ({low} to {high})")
    return value


def _merge(config: Config, data: dict, source: str) -> Config:
    """Apply {section: {key: value}} from `source` onto `config`, rejecting unknown keys and bad values."""
    if not isinstance(data, dict):
        raise ConfigInvalid(f"{source}: expected a table of sections")
    sections = {f.name: f for f in fields(Config)}
    for name, values in data.items():
        if name not in sections:
            raise ConfigInvalid(f"{source}: unknown section [{name}] (known: {', '.join(sections)})")
        if not isinstance(values, dict):
            raise ConfigInvalid(f"{source}: [{name}] must be a table")
        section = getattr(config, name)
        known = {f.name: f for f in fields(section)}
        changes = {}
        for key, value in values.items():
            if (name, key) in RETIRED:
                log.warning("%s: %s.%s is no longer used: %s", source, name, key, RETIRED[name, key])
                continue
            if key not in known:
                raise ConfigInvalid(f"{source}: unknown setting {name}.{key} (known: {', '.join(known)})")
            spec = known[key]
            changes[key] = _coerce(value, spec.type, f"{source}: {name}.{key}", spec.metadata)
        config = dataclasses.replace(config, **{name: dataclasses.replace(section, **changes)})
    return config


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise ConfigInvalid(f"{path}: not valid TOML ({error})") from None
    except OSError as error:
        raise ConfigInvalid(f"{path}: cannot read the config file ({error.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigInvalid(f"{path}: not UTF-8 text; save the config file as UTF-8") from None


def _from_environment(env: dict[str, str]) -> dict:
    """REFLECT_<SECTION>_<KEY>=value, e.g. REFLECT_LISTENING_NO_SPEECH_S=60."""
    data: dict[str, dict[str, str]] = {}
    sections = [f.name for f in fields(Config)]
    for var, value in env.items():
        if not var.startswith(ENV_PREFIX):
            continue
        rest = var[len(ENV_PREFIX) :].lower()
        section = next((s for s in sections if rest.startswith(s + "_")), None)
        if section is None:
            raise ConfigInvalid(f"environment: unknown variable {var} (expected REFLECT_<SECTION>_<KEY>)")
        data.setdefault(section, {})[rest[len(section) + 1 :]] = value
    return data


def user_config_path(env: dict[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "reflect" / "config.toml"


def load_config(
    path: Path | None = None, env: dict[str, str] | None = None, overrides: dict[str, dict[str, Any]] | None = None
) -> Config:
    """Defaults, then the config file(s), then REFLECT_* variables, then CLI flags."""
    env = dict(os.environ) if env is None else env
    config = Config()
    if path is not None:
        config = _merge(config, _read_toml(path), str(path))
    else:
        for candidate in (SYSTEM_CONFIG, user_config_path(env)):
            if candidate.is_file():
                config = _merge(config, _read_toml(candidate), str(candidate))
    config = _merge(config, _from_environment(env), "environment")
    return _merge(config, overrides or {}, "command line")


def describe(config: Config) -> str:
    """The effective settings as commented TOML, for `reflect config`."""
    lines = []
    for section_field in fields(Config):
        section = getattr(config, section_field.name)
        lines.append(f"[{section_field.name}]")
        for spec in fields(section):
            lines.append(f"# {spec.metadata['doc']}")
            value = getattr(section, spec.name)
            lines.append(f"{spec.name} = {_toml_value(value)}")
        lines.append("")
    lines.append(f"# data dir: {config.data_dir}\n# model: {config.model_path}\n# packs: {config.packs_dir}")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
