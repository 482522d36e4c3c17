"""Question packs: the default pack, every validation error, discovery and lookup."""
from pathlib import Path

import pytest

from common.errors import PackInvalid, PackNotFound
from content.packs import (
    DEFAULT_PACK_ID,
    Pack,
    builtin_packs_dir,
    discover_packs,
    find_pack,
    load_pack,
)

SEED = Path("/work/shared/seed/000_a953be780f81b154.txt")

GOOD = """\
id = "evening"
title = "Evening check-in"
language = "en-GB"
voice = "gmw/en"
rate = 150
greeting = "Hello."
questions = ["How was today?", "What are you grateful for?"]
closing = "Goodbye."
sample_answers = ["Fine.", "My sister."]
"""


def seed_questions() -> list[str]:
    """The bulleted reflection questions of the seed article, in order."""
    text = SEED.read_text(encoding="utf-8")
    section = text.split("Reflection questions", 1)[1]
    return [line.strip().removeprefix("•").strip() for line in section.splitlines() if line.strip().startswith("•")]


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def replace_line(field: str, new_line: str | None) -> str:
    """GOOD with the line of `field` replaced (or removed when `new_line` is None)."""
    lines = [line for line in GOOD.splitlines() if not line.startswith(f"{field} =")]
    if new_line is not None:
        lines.append(new_line)
    return "\n".join(lines) + "\n"


def test_default_pack_has_the_seed_questions_verbatim():
    pack = find_pack(DEFAULT_PACK_ID)
    assert pack.source == builtin_packs_dir() / "therapy-relationship.toml"
    assert len(seed_questions()) == 4
    assert list(pack.questions) == seed_questions()
    assert "(for example, warmth or empathy" in pack.questions[1]
    assert pack.language == "en" and pack.voice is None
    assert len(pack.sample_answers) == 4


def test_default_pack_greeting_tells_the_person_what_to_do():
    greeting = find_pack(DEFAULT_PACK_ID).greeting.lower()
    for phrase in ("take your time", "pauses are fine", "short press", "leaves this device"):
        assert phrase in greeting


def test_good_pack_loads_every_field(tmp_path):
    path = write(tmp_path, "evening.toml", GOOD)
    pack = load_pack(path)
    assert pack == Pack(
        id="evening",
        title="Evening check-in",
        language="en-GB",
        greeting="Hello.",
        questions=("How was today?", "What are you grateful for?"),
        closing="Goodbye.",
        voice="gmw/en",
        rate=150,
        sample_answers=("Fine.", "My sister."),
        source=path,
    )
    assert pack.prompts == ("Hello.", "How was today?", "What are you grateful for?", "Goodbye.")


def test_optional_fields_default_to_none_and_empty(tmp_path):
    text = GOOD
    for field in ("voice", "rate", "sample_answers"):
        text = "\n".join(line for line in text.splitlines() if not line.startswith(field)) + "\n"
    pack = load_pack(write(tmp_path, "p.toml", text))
    assert (pack.voice, pack.rate, pack.sample_answers) == (None, None, ())


def test_multiline_text_is_spoken_as_one_line(tmp_path):
    text = replace_line("greeting", 'greeting = """\nHello,\n   take your time.\n"""')
    assert load_pack(write(tmp_path, "p.toml", text)).greeting == "Hello, take your time."


MISSING = [(field, replace_line(field, None), f"field '{field}': missing")
           for field in ("id", "title", "language", "greeting", "questions", "closing")]

MALFORMED = [
    ("bad toml", 'id = "evening\n', "not valid TOML"),
    ("unknown key", GOOD + 'colour = "blue"\n', "field 'colour': unknown field"),
    *MISSING,
    ("title not a string", replace_line("title", "title = 3"), "field 'title': must be a non-empty string"),
    ("greeting blank", replace_line("greeting", 'greeting = "   "'), "field 'greeting': must be a non-empty string"),
    ("closing a table", replace_line("closing", "[closing]\ntext = 'x'"), "field 'closing': must be a non-empty string"),
    ("voice empty", replace_line("voice", 'voice = ""'), "field 'voice': must be a non-empty string"),
    ("questions a string", replace_line("questions", 'questions = "How?"'),
     "field 'questions': must be a non-empty list of strings"),
    ("questions of numbers", replace_line("questions", "questions = [1, 2]"),
     "field 'questions': must be a non-empty list of strings"),
    ("zero questions", replace_line("questions", "questions = []"),
     "field 'questions': must be a non-empty list of strings"),
    ("empty question", replace_line("questions", 'questions = ["How?", ""]'),
     "field 'questions': entry 2 must be a non-empty string"),
    ("too many questions", replace_line("questions", f"questions = {['Why?'] * 51!r}".replace("'", '"')),
     "field 'questions': must have at most 50 entries"),
    ("question too long", replace_line("questions", f'questions = ["{"a" * 1001}"]'),
     "field 'questions': entry 1 must be at most 1000 characters"),
    ("sample answers of numbers", replace_line("sample_answers", "sample_answers = [1]"),
     "field 'sample_answers': must be a non-empty list of strings"),
    ("id uppercase", replace_line("id", 'id = "Evening"'), "field 'id': must be a lowercase slug"),
    ("id leading dash", replace_line("id", 'id = "-evening"'), "field 'id': must be a lowercase slug"),
    ("id with space", replace_line("id", 'id = "my pack"'), "field 'id': must be a lowercase slug"),
    ("id a number", replace_line("id", "id = 7"), "field 'id': must be a lowercase slug"),
    ("language long name", replace_line("language", 'language = "English"'), "field 'language': must be a language code"),
    ("language underscore", replace_line("language", 'language = "en_GB"'), "field 'language': must be a language code"),
    ("rate too slow", replace_line("rate", "rate = 79"), "field 'rate': must be a whole number of words per minute"),
    ("rate too fast", replace_line("rate", "rate = 401"), "field 'rate': must be a whole number of words per minute"),
    ("rate a float", replace_line("rate", "rate = 150.0"), "field 'rate': must be a whole number of words per minute"),
    ("rate a bool", replace_line("rate", "rate = true"), "field 'rate': must be a whole number of words per minute"),
    ("rate a string", replace_line("rate", 'rate = "150"'), "field 'rate': must be a whole number of words per minute"),
]


@pytest.mark.parametrize("text, expected", [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_malformed_pack_gives_one_clear_line(tmp_path, text, expected):
    path = write(tmp_path, "broken.toml", text)
    with pytest.raises(PackInvalid) as caught:
        load_pack(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_rate_bounds_are_inclusive(tmp_path):
    for rate in (80, 400):
        assert load_pack(write(tmp_path, "p.toml", replace_line("rate", f"rate = {rate}"))).rate == rate


def test_not_utf8_and_unreadable_files_are_pack_errors(tmp_path):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b'id = "\xff"\n')
    with pytest.raises(PackInvalid, match=rf"^{binary}: not UTF-8"):
        load_pack(binary)
    with pytest.raises(PackInvalid, match="cannot read the file"):
        load_pack(tmp_path / "absent.toml")


def test_pack_errors_are_also_builtin_errors(tmp_path):
    with pytest.raises(ValueError):
        load_pack(write(tmp_path, "p.toml", "id = "))
    with pytest.raises(LookupError):
        find_pack("no-such-pack")


def test_discovery_lists_good_and_broken_packs(tmp_path):
    extra = tmp_path / "packs"
    good = write(extra, "evening.toml", GOOD)
    broken = write(extra, "broken.toml", replace_line("rate", "rate = 9000"))
    write(extra, "notes.txt", "not a pack")
    entries = discover_packs([extra, tmp_path / "does-not-exist"])
    packs = [e for e in entries if isinstance(e, Pack)]
    errors = [e for e in entries if isinstance(e, PackInvalid)]
    assert {p.id for p in packs} == {DEFAULT_PACK_ID, "evening"}
    assert [p.source for p in packs if p.id == "evening"] == [good]
    assert len(errors) == 1 and str(errors[0]).startswith(f"{broken}: field 'rate'")
    assert isinstance(entries[0], Pack) and entries[0].id == DEFAULT_PACK_ID


def test_builtin_packs_are_all_valid():
    entries = discover_packs()
    assert entries and all(isinstance(e, Pack) for e in entries), entries


def test_duplicate_id_across_dirs_names_both_files(tmp_path):
    first = write(tmp_path / "a", "evening.toml", GOOD)
    second = write(tmp_path / "b", "evening-copy.toml", GOOD)
    dirs = [tmp_path / "a", tmp_path / "b"]
    with pytest.raises(PackInvalid) as caught:
        find_pack("evening", dirs)
    assert str(first) in str(caught.value) and str(second) in str(caught.value)
    assert "field 'id'" in str(caught.value)
    errors = [str(e) for e in discover_packs(dirs) if isinstance(e, PackInvalid)]
    assert len(errors) == 2 and all(str(first) in e and str(second) in e for e in errors)
    assert find_pack(DEFAULT_PACK_ID, dirs).id == DEFAULT_PACK_ID


def test_duplicate_of_builtin_id_is_an_error(tmp_path):
    copy = write(tmp_path, "mine.toml", replace_line("id", f'id = "{DEFAULT_PACK_ID}"'))
    with pytest.raises(PackInvalid, match="is also the id of") as caught:
        find_pack(DEFAULT_PACK_ID, [tmp_path])
    assert str(copy) in str(caught.value)
    assert str(builtin_packs_dir() / "therapy-relationship.toml") in str(caught.value)


def test_unknown_id_lists_available_ids_and_broken_files(tmp_path):
    write(tmp_path, "evening.toml", GOOD)
    write(tmp_path, "broken.toml", "id = ")
    with pytest.raises(PackNotFound) as caught:
        find_pack("morning", [tmp_path])
    message = str(caught.value)
    assert f"available: evening, {DEFAULT_PACK_ID}" in message
    assert "'morning'" in message and "1 pack file(s) could not be loaded" in message
    assert "\n" not in message
