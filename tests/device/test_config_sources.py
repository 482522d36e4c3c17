"""Settings, continued: where they come from and in which order, the paths derived from them, and
`reflect config`'s description, which loads back as the same settings."""

import tempfile
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import device.config as config_module
from common.errors import ConfigInvalid
from device.config import Config, describe, load_config, user_config_path
from tests.device.test_config import refused, write

# -- where settings come from, in order -----------------------------------------------------------


@pytest.fixture
def places(tmp_path, monkeypatch):
    """A system config file and a user config home in tmp_path (neither exists yet)."""
    system = tmp_path / "etc" / "config.toml"
    monkeypatch.setattr(config_module, "SYSTEM_CONFIG", system)
    home = tmp_path / "xdg"
    user = home / "reflect" / "config.toml"
    for path in (system, user):
        path.parent.mkdir(parents=True)
    return system, user, {"XDG_CONFIG_HOME": str(home)}


def test_with_no_files_the_defaults_apply(places):
    assert load_config(env=places[2]) == Config()


def test_the_user_file_overrides_the_system_file_and_both_apply(places):
    system, user, env = places
    system.write_text("[button]\npin = 5\nhold_s = 3.0\n")
    user.write_text("[button]\npin = 6\n")
    loaded = load_config(env=env)
    assert (loaded.button.pin, loaded.button.hold_s) == (6, 3.0)


def test_the_system_file_alone_applies(places):
    system, _, env = places
    system.write_text("[button]\npin = 5\n")
    assert load_config(env=env).button.pin == 5


def test_a_config_file_given_replaces_both_default_files(places, tmp_path):
    system, user, env = places
    system.write_text("[button]\nhold_s = 3.0\n")
    user.write_text("[button]\npin = 6\n")
    given_file = write(tmp_path, "[button]\nled_pin = 4\n")
    loaded = load_config(given_file, env=env)
    assert (loaded.button.pin, loaded.button.hold_s, loaded.button.led_pin) == (17, 2.0, 4)


def test_a_folder_where_a_config_file_would_be_is_not_read(places):
    system, user, env = places
    system.mkdir()
    assert load_config(env=env) == Config()


def test_the_environment_overrides_the_files_and_flags_override_the_environment(places):
    system, user, env = places
    user.write_text("[button]\npin = 6\nhold_s = 3.0\nled_pin = 4\n")
    loaded = load_config(
        env={**env, "REFLECT_BUTTON_PIN": "7", "REFLECT_BUTTON_HOLD_S": "4"}, overrides={"button": {"pin": 8}}
    )
    assert (loaded.button.pin, loaded.button.hold_s, loaded.button.led_pin) == (8, 4.0, 4)


def test_a_bad_file_is_named_in_its_error(places):
    system, user, env = places
    user.write_text("[button]\npin = 99\n")
    assert refused(env=env) == f"{user}: button.pin: 99 is out of range (0 to 27)"


def test_without_an_environment_given_the_process_environment_is_read(places, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", places[2]["XDG_CONFIG_HOME"])
    monkeypatch.setenv("REFLECT_BUTTON_PIN", "9")
    assert load_config().button.pin == 9


def test_the_user_config_file_is_under_xdg_config_home_or_else_dot_config(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_config_path({"XDG_CONFIG_HOME": "/cfg"}) == Path("/cfg/reflect/config.toml")
    assert user_config_path({}) == tmp_path / ".config" / "reflect" / "config.toml"
    assert user_config_path({"XDG_CONFIG_HOME": ""}) == tmp_path / ".config" / "reflect" / "config.toml"


# -- derived places --------------------------------------------------------------------------------


def test_data_and_cache_dirs_follow_the_setting_then_xdg_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    config = Config()
    assert config.data_dir == tmp_path / ".local" / "share" / "reflect"
    assert config.cache_dir == tmp_path / ".cache" / "reflect"
    monkeypatch.setenv("XDG_DATA_HOME", "/data")
    monkeypatch.setenv("XDG_CACHE_HOME", "/cache")
    assert (config.data_dir, config.cache_dir) == (Path("/data/reflect"), Path("/cache/reflect"))
    mine = config.replace("storage", data_dir="~/notes", cache_dir="/var/cache/r")
    assert (mine.data_dir, mine.cache_dir) == (tmp_path / "notes", Path("/var/cache/r"))


def test_model_and_packs_default_under_the_data_dir_or_follow_their_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    config = Config().replace("storage", data_dir="/d")
    assert config.model_path == Path("/d/models/vosk-model-small-en-us-0.15")
    assert config.packs_dir == Path("/d/packs")
    config = config.replace("model", path="~/m").replace("content", packs_dir="~/p")
    assert (config.model_path, config.packs_dir) == (tmp_path / "m", tmp_path / "p")


def test_replace_is_a_validated_copy():
    original = Config()
    changed = original.replace("button", pin=5, hold_s=1)
    assert (changed.button.pin, changed.button.hold_s, original.button.pin) == (5, 1.0, 17)
    assert changed.listening == original.listening
    with pytest.raises(ConfigInvalid, match=r"^override: button.pin: 99 is out of range \(0 to 27\)$"):
        original.replace("button", pin=99)


# -- reflect config -------------------------------------------------------------------------------


def test_describe_lists_every_setting_under_its_section_with_its_description(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    lines = describe(Config()).splitlines()
    for section in fields(Config):
        start = lines.index(f"[{section.name}]")
        block = lines[start + 1 : start + 1 + 2 * len(fields(section.default))]
        for number, spec in enumerate(fields(section.default)):
            assert block[2 * number] == f"# {spec.metadata['doc']}"
            assert block[2 * number + 1].startswith(f"{spec.name} = ")
    assert lines[-3:] == [
        f"# data dir: {tmp_path}/.local/share/reflect",
        f"# model: {tmp_path}/.local/share/reflect/models/vosk-model-small-en-us-0.15",
        f"# packs: {tmp_path}/.local/share/reflect/packs",
    ]
    assert "pin = 17" in lines and 'audio_format = "opus"' in lines and "hold_s = 2.0" in lines
    assert lines[0] == "[audio]" and lines[lines.index("[listening]") - 1] == ""


def test_describe_quotes_text_so_backslashes_and_quotes_survive(tmp_path):
    config = Config().replace("storage", data_dir='C:\\notes\\"mine"')
    text = describe(config)
    assert 'data_dir = "C:\\\\notes\\\\\\"mine\\""' in text.splitlines()
    assert load_config(write(tmp_path, text), env={}).storage.data_dir == 'C:\\notes\\"mine"'


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
FOLDER = TEXT.filter(lambda text: not text.startswith("~"))  # ~user needs that user: see the test below


@pytest.mark.parametrize(
    "setting_name, value",
    [
        ("storage.data_dir", "~no-such-user-here/notes"),
        ("model.path", "~no-such-user-here"),
        ("content.packs_dir", "~no-such-user-here/packs"),
    ],
)
def test_a_home_folder_that_does_not_exist_is_one_clear_error(setting_name, value):
    section, key = setting_name.split(".")
    config = Config().replace(section, **{key: value})
    with pytest.raises(ConfigInvalid, match="no home folder") as caught:
        describe(config)
    assert "\n" not in str(caught.value)


@settings(max_examples=40, deadline=None)
@given(FOLDER, TEXT, st.integers(0, 27), st.floats(0.5, 600))
def test_what_describe_prints_is_a_config_file_that_loads_back_the_same(data_dir, pack, pin, silence):
    """`reflect config > config.toml` keeps every setting, quotes and backslashes included."""
    config = (
        Config()
        .replace("storage", data_dir=data_dir)
        .replace("content", pack=pack)
        .replace("button", pin=pin)
        .replace("listening", silence_after_speech_s=silence)
    )
    text = describe(config)
    with tempfile.TemporaryDirectory() as folder:
        assert load_config(write(Path(folder), text), env={}) == config
    assert tomllib.loads(text)["storage"]["data_dir"] == data_dir
