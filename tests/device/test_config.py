"""Settings: every field takes its bounds and refuses one step past them (read from the schema itself),
from a file, the environment or a flag, with one clear line; then the sources' order and the derived paths."""

import math
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from common.errors import ConfigInvalid
from device.config import Config, load_config, setting


def schema():
    """(section, key, type, metadata, default) for every setting, read from the Config dataclasses."""
    return [
        (section.name, spec.name, spec.type, spec.metadata, spec.default)
        for section in fields(Config)
        for spec in fields(section.default)
    ]


def numeric():
    return [entry for entry in schema() if entry[2] in (int, float)]


def step_past(kind: type, bound, direction: float):
    """The nearest value beyond `bound`: one whole number for an int, the next float for a float."""
    return bound + int(direction) if kind is int else math.nextafter(float(bound), direction * math.inf)


def bounds_cases():
    """(section, key, kind, value, ok) at each bound and one step past it."""
    cases = []
    for section, key, kind, meta, _ in numeric():
        for bound, direction in ((meta["low"], -1), (meta["high"], 1)):
            cases.append((section, key, kind, kind(bound), True))
            cases.append((section, key, kind, step_past(kind, bound, direction), False))
    return cases


BOUNDS = bounds_cases()
BOUND_IDS = [f"{s}.{k}={v!r}" for s, k, _, v, _ in BOUNDS]


def refused(**kwargs) -> str:
    """The one-line message load_config refuses these sources with."""
    with pytest.raises(ConfigInvalid) as caught:
        load_config(**kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- the schema ----------------------------------------------------------------------------------


def test_every_number_setting_declares_both_bounds_and_its_default_is_inside_them():
    assert numeric(), "the schema has number settings"
    for section, key, kind, meta, default in numeric():
        assert meta["low"] is not None and meta["high"] is not None, f"{section}.{key} has no bounds"
        assert meta["low"] <= default <= meta["high"], f"{section}.{key}"
        assert type(default) is kind, f"{section}.{key}"


def test_every_setting_has_a_one_line_description_and_a_default_among_its_choices():
    for section, key, _, meta, default in schema():
        assert meta["doc"].strip() and "\n" not in meta["doc"], f"{section}.{key}"
        assert not meta["choices"] or default in meta["choices"], f"{section}.{key}"


def test_a_setting_carries_its_default_description_and_bounds():
    @dataclass(frozen=True)
    class Example:
        level: float = setting(1.5, "How loud.", 0.5, 3)
        name: str = setting("a", "Which one.", choices=("a", "b"))

    level, name = fields(Example)
    assert Example() == Example(level=1.5, name="a")
    assert dict(level.metadata) == {"doc": "How loud.", "low": 0.5, "high": 3, "choices": (), "check": None}
    assert dict(name.metadata) == {"doc": "Which one.", "low": None, "high": None, "choices": ("a", "b"), "check": None}


# -- bounds, generated from the schema -----------------------------------------------------------


@pytest.mark.parametrize("section, key, kind, value, ok", BOUNDS, ids=BOUND_IDS)
def test_each_bound_is_accepted_and_one_step_past_it_refused_from_a_flag(section, key, kind, value, ok):
    overrides = {section: {key: value}}
    if ok:
        loaded = getattr(getattr(load_config(env={}, overrides=overrides), section), key)
        assert loaded == value and type(loaded) is kind
    else:
        message = refused(env={}, overrides=overrides)
        assert message.startswith(f"command line: {section}.{key}: {value!r} is out of range (")


@pytest.mark.parametrize("section, key, kind, value, ok", BOUNDS, ids=BOUND_IDS)
def test_each_bound_is_accepted_and_one_step_past_it_refused_from_the_environment(section, key, kind, value, ok):
    env = {f"REFLECT_{section.upper()}_{key.upper()}": repr(value)}
    if ok:
        assert getattr(getattr(load_config(env=env), section), key) == value
    else:
        assert refused(env=env).startswith(f"environment: {section}.{key}: {value!r} is out of range (")


@pytest.mark.parametrize("section, key, kind, value, ok", BOUNDS, ids=BOUND_IDS)
def test_each_bound_is_accepted_and_one_step_past_it_refused_from_a_file(tmp_path, section, key, kind, value, ok):
    path = write(tmp_path, f"[{section}]\n{key} = {value!r}\n")
    if ok:
        assert getattr(getattr(load_config(path, env={}), section), key) == value
    else:
        assert refused(path=path, env={}).startswith(f"{path}: {section}.{key}: {value!r} is out of range (")


DECIMALS = [f"{section}.{key}" for section, key, kind, _, _ in numeric() if kind is float]


@pytest.mark.parametrize("setting_name", DECIMALS)
def test_not_a_number_is_refused_for_every_decimal_setting(tmp_path, setting_name):
    """NaN compares false with both bounds; a NaN silence limit would never end an answer."""
    section, key = setting_name.split(".")
    low, high = next((m["low"], m["high"]) for s, k, _, m, _ in numeric() if (s, k) == (section, key))
    assert (
        refused(env={f"REFLECT_{section}_{key}".upper(): "nan"})
        == f"environment: {setting_name}: nan is out of range ({low} to {high})"
    )
    path = write(tmp_path, f"[{section}]\n{key} = nan\n")
    assert refused(path=path, env={}) == f"{path}: {setting_name}: nan is out of range ({low} to {high})"


@pytest.mark.parametrize(
    "setting_name, value, message",
    [
        ("button.pin", -1, "command line: button.pin: -1 is out of range (0 to 27)"),
        ("storage.min_free_mb", -5, "command line: storage.min_free_mb: -5 is out of range (0 to 1000000)"),
        ("audio.input_rate", -8000, "command line: audio.input_rate: -8000 is out of range (0 to 192000)"),
        ("audio.chunk_s", 0.01, "command line: audio.chunk_s: 0.01 is out of range (0.02 to 0.5)"),
    ],
)
def test_out_of_range_values_are_refused_with_the_range_in_one_line(setting_name, value, message):
    section, key = setting_name.split(".")
    assert refused(env={}, overrides={section: {key: value}}) == message


def test_every_choice_is_accepted_and_anything_else_refused_with_the_choices_listed():
    chosen = [entry for entry in schema() if entry[3]["choices"]]
    assert chosen
    for section, key, _, meta, _ in chosen:
        for choice in meta["choices"]:
            assert getattr(getattr(load_config(env={}, overrides={section: {key: choice}}), section), key) == choice
        message = refused(env={}, overrides={section: {key: "mp3"}})
        assert message == f"command line: {section}.{key}: 'mp3' is not one of {', '.join(meta['choices'])}"


def test_free_text_settings_take_any_text_but_not_a_number():
    for section, key, kind, meta, _ in schema():
        if kind is not str or meta["choices"] or meta["check"]:
            continue
        odd = ' "quoted" \\ and ünïcode '
        assert getattr(getattr(load_config(env={}, overrides={section: {key: odd}}), section), key) == odd
        assert (
            refused(env={}, overrides={section: {key: 3}}) == f"command line: {section}.{key}: expected str, got int 3"
        )


# -- types ---------------------------------------------------------------------------------------


def test_a_whole_number_is_taken_for_a_decimal_setting_and_kept_as_a_float():
    loaded = load_config(env={}, overrides={"listening": {"no_speech_s": 60}}).listening.no_speech_s
    assert loaded == 60.0 and type(loaded) is float


def test_true_or_false_is_not_a_number():
    assert (
        refused(env={}, overrides={"button": {"pin": True}}) == "command line: button.pin: expected int, got bool True"
    )
    assert (
        refused(env={}, overrides={"listening": {"no_speech_s": False}})
        == "command line: listening.no_speech_s: expected float, got bool False"
    )


def test_a_decimal_is_not_taken_for_a_whole_number_setting():
    assert (
        refused(env={}, overrides={"button": {"pin": 17.0}}) == "command line: button.pin: expected int, got float 17.0"
    )


def test_environment_text_is_read_as_the_settings_type():
    loaded = load_config(
        env={"REFLECT_BUTTON_PIN": "22", "REFLECT_LISTENING_NO_SPEECH_S": "60", "REFLECT_STORAGE_AUDIO_FORMAT": "flac"}
    )
    assert (loaded.button.pin, loaded.listening.no_speech_s, loaded.storage.audio_format) == (22, 60.0, "flac")
    assert type(loaded.listening.no_speech_s) is float


def test_environment_text_that_is_not_a_number_is_refused():
    assert refused(env={"REFLECT_BUTTON_PIN": "seventeen"}) == "environment: button.pin: expected int, got 'seventeen'"
    assert refused(env={"REFLECT_AUDIO_CHUNK_S": "1.5.2"}) == "environment: audio.chunk_s: expected float, got '1.5.2'"


def test_a_quoted_number_in_a_file_is_read_like_the_environments_text(tmp_path):
    assert load_config(write(tmp_path, '[button]\npin = "17"\n'), env={}).button.pin == 17
    assert refused_text(tmp_path, '[button]\npin = "x"\n').endswith("button.pin: expected int, got 'x'")


def test_a_file_value_of_the_wrong_type_is_refused(tmp_path):
    assert refused_text(tmp_path, "[button]\npin = [17]\n").endswith("button.pin: expected int, got list [17]")


def refused_text(tmp_path: Path, text: str) -> str:
    return refused(path=write(tmp_path, text), env={})


# -- unknown names and malformed files -----------------------------------------------------------


def test_an_unknown_section_or_setting_is_refused_listing_the_known_ones(tmp_path):
    sections = ", ".join(f.name for f in fields(Config))
    assert refused_text(tmp_path, "[sound]\nrate = 1\n").endswith(f": unknown section [sound] (known: {sections})")
    assert refused_text(tmp_path, "[button]\npins = 1\n").endswith(
        ": unknown setting button.pins (known: pin, hold_s, off_hold_s, led_pin, double_press_s)"
    )


def test_a_section_given_a_value_instead_of_settings_is_refused(tmp_path):
    assert refused_text(tmp_path, "button = 17\n").endswith(": [button] must be a table")
    assert refused_text(tmp_path, "pin = 17\n").endswith(
        ": unknown section [pin] (known: audio, listening, button, "
        "speech, storage, model, content, privacy, clock, reflection)"
    )


def test_sources_that_are_not_tables_are_refused():
    assert refused(env={}, overrides=["button"]) == "command line: expected a table of sections"


def test_a_file_that_is_not_toml_or_cannot_be_read_is_refused(tmp_path):
    path = write(tmp_path, "[button\n")
    assert refused(path=path, env={}).startswith(f"{path}: not valid TOML (")
    missing = tmp_path / "absent.toml"
    assert refused(path=missing, env={}) == f"{missing}: cannot read the config file (No such file or directory)"


def test_a_file_saved_in_another_encoding_is_refused_asking_for_utf_8(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes('[storage]\ndata_dir = "/home/zoë/notes"\n'.encode("latin-1"))
    assert refused(path=path, env={}) == f"{path}: not UTF-8 text; save the config file as UTF-8"


def test_environment_variables_name_a_section_and_a_setting():
    assert (
        refused(env={"REFLECT_SOUND_RATE": "1"})
        == "environment: unknown variable REFLECT_SOUND_RATE (expected REFLECT_<SECTION>_<KEY>)"
    )
    assert refused(env={"REFLECT_BUTTON": "1"}).startswith("environment: unknown variable REFLECT_BUTTON ")
    assert refused(env={"REFLECT_BUTTON_PINS": "1"}).startswith("environment: unknown setting button.pins")


def test_other_environment_variables_are_ignored():
    assert load_config(env={"PATH": "/bin", "REFLECTION": "1", "XREFLECT_BUTTON_PIN": "3"}) == Config()


def test_environment_variable_names_are_not_case_sensitive_after_the_prefix():
    assert load_config(env={"REFLECT_Button_Pin": "5"}).button.pin == 5


def test_a_config_from_before_room_aware_detection_still_loads_and_says_its_threshold_is_ignored(tmp_path, caplog):
    path = tmp_path / "config.toml"
    path.write_text("[audio]\nspeech_threshold_dbfs = -40.0\nspeech_margin_db = 12\n")
    config = load_config(path, env={})
    assert config.audio.speech_margin_db == 12.0 and not hasattr(config.audio, "speech_threshold_dbfs")
    assert [record.getMessage() for record in caplog.records] == [
        f"{path}: audio.speech_threshold_dbfs is no longer used: "
        "speech is now told from the room by a VAD over a noise "
        "floor that follows the room; the setting is ignored (remove it; audio.speech_margin_db is the new knob)"
    ]
    with pytest.raises(ConfigInvalid, match="unknown setting listening.speech_threshold_dbfs"):
        load_config(None, env={"REFLECT_LISTENING_SPEECH_THRESHOLD_DBFS": "-40"})


def test_the_runtime_settings_built_from_the_default_config_are_the_runtime_defaults():
    """One default per value: a default config builds the same settings a session gets by default."""
    from device.flow.session import SessionSettings
    from device.setup.wiring import session_settings

    assert session_settings(Config()) == SessionSettings()
