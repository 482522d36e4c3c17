"""What a config can get wrong beyond one setting's value: the pack it names, its packs folder, clashing pins."""

from common.errors import ConfigInvalid, ReflectError
from content.packs import Pack, find_pack
from device.config import Config


def config_problems(config: Config) -> list[str]:
    """Each problem as one line with its fix (empty if none); the pack is checked only if its folder is usable."""
    problems = []
    button = config.button
    if button.led_pin and button.led_pin == button.pin:
        problems.append(
            f"button.led_pin and button.pin are both GPIO {button.pin}; "
            "wire the LED to another pin and set led_pin to it (0 for no LED)"
        )
    if config.content.packs_dir and not config.packs_dir.is_dir():
        problems.append(
            f"content.packs_dir {config.packs_dir} is not a folder; create it, "
            "or leave packs_dir empty for <data_dir>/packs"
        )
    else:
        try:
            find_pack(config.content.pack, [config.packs_dir])
        except ReflectError as error:
            problems.append(f"content.pack: {error}")
    return problems


def checked_pack(config: Config) -> Pack:
    """The configured pack, once the config has no problem; ConfigInvalid names the first one."""
    problems = config_problems(config)
    if problems:
        raise ConfigInvalid(problems[0])
    return find_pack(config.content.pack, [config.packs_dir])
