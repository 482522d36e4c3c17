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


MISSING = [
    (field, replace_line(field, None), f"field '{field}': missing")
    for field in ("id", "title", "language", "greeting", "questions", "closing")
]

MALFORMED = [
    ("bad toml", 'id = "evening\n', "not valid TOML"),
    ("unknown key", GOOD + 'colour = "blue"\n', "field 'colour': unknown field"),
    *MISSING,
    ("title not a string", replace_line("title", "title = 3"), "field 'title': must be a non-empty string"),
    ("greeting blank", replace_line("greeting", 'greeting = "   "'), "field 'greeting': must be a non-empty string"),
    (
        "closing a table",
        replace_line("closing", "[closing]\ntext = 'x'"),
        "field 'closing': must be a non-empty string",
    ),
    ("voice empty", replace_line("voice", 'voice = ""'), "field 'voice': must be a non-empty string"),
    (
        "questions a string",
        replace_line("questions", 'questions = "How?"'),
        "field 'questions': must be a non-empty list of strings",
    ),
    (
        "questions of numbers",
        replace_line("questions", "questions = [1, 2]"),
        "field 'questions': must be a non-empty list of strings",
    ),
    (
        "zero questions",
        replace_line("questions", "questions = []"),
        "field 'questions': must be a non-empty list of strings",
    ),
    (
        "empty question",
        replace_line("questions", 'questions = ["How?", ""]'),
        "field 'questions': entry 2 must be a non-empty string",
    ),
    (
        "too many questions",
        replace_line("questions", f"questions = {['Why?'] * 51!r}".replace("'", '"')),
        "field 'questions': must have at most 50 entries",
    ),
    (
        "question too long",
        replace_line("questions", f'questions = ["{"a" * 1001}"]'),
        "field 'questions': entry 1 must be at most 1000 characters",
    ),
    (
        "sample answers of numbers",
        replace_line("sample_answers", "sample_answers = [1]"),
        "field 'sample_answers': must be a non-empty list of strings",
    ),
    ("id uppercase", replace_line("id", 'id = "Evening"'), "field 'id': must be a lowercase slug"),
    ("id leading dash", replace_line("id", 'id = "-evening"'), "field 'id': must be a lowercase slug"),
    ("id with space", replace_line("id", 'id = "my pack"'), "field 'id': must be a lowercase slug"),
    ("id a number", replace_line("id", "id = 7"), "field 'id': must be a lowercase slug"),
    (
        "language long name",
        replace_line("language", 'language = "English"'),
        "field 'language': must be a language code",
    ),
    (
        "language underscore",
        replace_line("language", 'language = "en_GB"'),
        "field 'language': must be a language code",
    ),
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


def test_a_copy_of_a_builtin_pack_with_its_id_is_the_owners_version_of_it(tmp_path, caplog):
    builtin = builtin_packs_dir() / f"{DEFAULT_PACK_ID}.toml"
    edited = builtin.read_text().replace('title = "The therapy relationship"', 'title = "My own questions"')
    copy = write(tmp_path, f"{DEFAULT_PACK_ID}.toml", edited)
    with caplog.at_level("INFO", logger="content.packs"):
        chosen = find_pack(DEFAULT_PACK_ID, [tmp_path])
    assert (chosen.source, chosen.replaces, chosen.title) == (copy, builtin, "My own questions")
    assert f"pack {DEFAULT_PACK_ID}: using your version, {copy}, in place of the built-in one" in caplog.messages
    listed = [e for e in discover_packs([tmp_path]) if isinstance(e, PackInvalid) or e.id == DEFAULT_PACK_ID]
    assert listed == [chosen]


def test_two_copies_of_a_builtin_pack_are_both_refused_naming_each_other(tmp_path):
    first = write(tmp_path, "mine.toml", replace_line("id", f'id = "{DEFAULT_PACK_ID}"'))
    second = write(tmp_path, "mine-too.toml", replace_line("id", f'id = "{DEFAULT_PACK_ID}"'))
    with pytest.raises(PackInvalid, match="is also the id of") as caught:
        find_pack(DEFAULT_PACK_ID, [tmp_path])
    assert str(first) in str(caught.value) and str(second) in str(caught.value)


def test_two_copies_of_a_builtin_pack_replace_nothing_so_all_three_files_are_refused(tmp_path):
    builtin = builtin_packs_dir() / f"{DEFAULT_PACK_ID}.toml"
    first = write(tmp_path, "mine.toml", replace_line("id", f'id = "{DEFAULT_PACK_ID}"'))
    second = write(tmp_path, "mine-too.toml", replace_line("id", f'id = "{DEFAULT_PACK_ID}"'))
    with pytest.raises(PackInvalid) as caught:
        find_pack(DEFAULT_PACK_ID, [tmp_path])
    assert str(caught.value) == f"{builtin}: field 'id': '{DEFAULT_PACK_ID}' is also the id of {second}, {first}"
    errors = [str(e) for e in discover_packs([tmp_path]) if isinstance(e, PackInvalid)]
    assert len(errors) == 3 and all(str(p) in e for e in errors for p in (builtin, first, second))


def test_unknown_id_lists_available_ids_and_broken_files(tmp_path):
    write(tmp_path, "evening.toml", GOOD)
    write(tmp_path, "broken.toml", "id = ")
    with pytest.raises(PackNotFound) as caught:
        find_pack("morning", [tmp_path])
    message = str(caught.value)
    assert f"available: evening, {DEFAULT_PACK_ID}" in message
    assert "'morning'" in message and "1 pack file(s) could not be loaded" in message
    assert "\n" not in message


# -- every limit at its edge and one past it -------------------------------------------------------

TEXT_FIELDS = ("title", "voice", "greeting", "closing")
LIST_FIELDS = ("questions", "sample_answers")


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


AT_THE_EDGE = [
    *[(f"{field} of 1000 characters", field, f'{field} = "{"a" * 1000}"', "a" * 1000) for field in TEXT_FIELDS],
    *[
        (f"{field} entry of 1000 characters", field, f"{field} = {toml_list(['a' * 1000])}", ("a" * 1000,))
        for field in LIST_FIELDS
    ],
    *[(f"50 {field}", field, f"{field} = {toml_list(['Why?'] * 50)}", ("Why?",) * 50) for field in LIST_FIELDS],
    ("1000 characters once spaces are squeezed", "greeting", f'greeting = "{"a " * 499}a   "', "a " * 499 + "a"),
    ("id of 64 characters", "id", f'id = "{"a" * 64}"', "a" * 64),
    ("id of 1 character", "id", 'id = "7"', "7"),
    ("id with dashes and digits", "id", 'id = "0-evening-2"', "0-evening-2"),
    ("two-letter language", "language", 'language = "ko"', "ko"),
    ("three-letter language", "language", 'language = "yue"', "yue"),
    ("language with a country", "language", 'language = "pt-BR"', "pt-BR"),
    ("language with a region number", "language", 'language = "es-419"', "es-419"),
    ("slowest rate", "rate", "rate = 80", 80),
    ("fastest rate", "rate", "rate = 400", 400),
]


@pytest.mark.parametrize(
    "field, line, value", [case[1:] for case in AT_THE_EDGE], ids=[case[0] for case in AT_THE_EDGE]
)
def test_each_limit_is_accepted_at_its_edge(tmp_path, field, line, value):
    pack = load_pack(write(tmp_path, "p.toml", replace_line(field, line)))
    assert getattr(pack, field) == value


ONE_PAST = [
    *[
        (
            f"{field} of 1001 characters",
            field,
            f'{field} = "{"a" * 1001}"',
            f"field '{field}': must be at most 1000 characters, not 1001",
        )
        for field in TEXT_FIELDS
    ],
    *[
        (
            f"{field} entry of 1001 characters",
            field,
            f"{field} = {toml_list(['Why?', 'a' * 1001])}",
            f"field '{field}': entry 2 must be at most 1000 characters, not 1001",
        )
        for field in LIST_FIELDS
    ],
    *[
        (
            f"51 {field}",
            field,
            f"{field} = {toml_list(['Why?'] * 51)}",
            f"field '{field}': must have at most 50 entries, not 51",
        )
        for field in LIST_FIELDS
    ],
    *[
        (f"no {field}", field, f"{field} = []", f"field '{field}': must be a non-empty list of strings")
        for field in LIST_FIELDS
    ],
    *[
        (
            f"{field} of text and a number",
            field,
            f'{field} = ["Why?", 2]',
            f"field '{field}': must be a non-empty list of strings",
        )
        for field in LIST_FIELDS
    ],
    (
        "id of 65 characters",
        "id",
        f'id = "{"a" * 65}"',
        "field 'id': must be a lowercase slug like 'therapy-relationship' (a-z, 0-9 and '-', at most 64 characters)",
    ),
    ("id empty", "id", 'id = ""', "field 'id': must be a lowercase slug"),
    ("id with an underscore", "id", 'id = "my_pack"', "field 'id': must be a lowercase slug"),
    ("id with a trailing newline", "id", 'id = "evening\\n"', "field 'id': must be a lowercase slug"),
    (
        "one-letter language",
        "language",
        'language = "e"',
        "field 'language': must be a language code like 'en', 'en-GB' or 'ko'",
    ),
    ("four-letter language", "language", 'language = "engl"', "field 'language': must be a language code"),
    ("lowercase country", "language", 'language = "en-gb"', "field 'language': must be a language code"),
    ("one-letter country", "language", 'language = "en-G"', "field 'language': must be a language code"),
    ("four-digit region", "language", 'language = "es-4190"', "field 'language': must be a language code"),
    ("language a number", "language", "language = 1", "field 'language': must be a language code"),
    (
        "rate one too slow",
        "rate",
        "rate = 79",
        "field 'rate': must be a whole number of words per minute from 80 to 400",
    ),
    (
        "rate one too fast",
        "rate",
        "rate = 401",
        "field 'rate': must be a whole number of words per minute from 80 to 400",
    ),
]


@pytest.mark.parametrize("field, line, expected", [case[1:] for case in ONE_PAST], ids=[case[0] for case in ONE_PAST])
def test_one_past_each_limit_is_one_clear_error(tmp_path, field, line, expected):
    path = write(tmp_path, "p.toml", replace_line(field, line))
    with pytest.raises(PackInvalid) as caught:
        load_pack(path)
    assert str(caught.value).startswith(f"{path}: {expected}")
    assert "\n" not in str(caught.value)


def test_the_first_of_several_problems_is_the_one_reported(tmp_path):
    """Fields are checked in the pack's documented order; unknown fields before anything else."""
    path = write(tmp_path, "p.toml", replace_line("title", "title = 3").replace('id = "evening"', 'id = "X"'))
    with pytest.raises(PackInvalid, match="field 'id'"):
        load_pack(path)
    path = write(tmp_path, "p.toml", replace_line("title", "title = 3") + "zebra = 1\napple = 2\n")
    with pytest.raises(PackInvalid) as caught:
        load_pack(path)
    assert str(caught.value) == (
        f"{path}: field 'apple': unknown field (allowed: id, title, language, voice, rate, "
        "greeting, questions, closing, sample_answers)"
    )


def test_a_missing_field_error_says_it_is_required(tmp_path):
    path = write(tmp_path, "p.toml", replace_line("closing", None))
    with pytest.raises(PackInvalid) as caught:
        load_pack(path)
    assert str(caught.value) == f"{path}: field 'closing': missing (it is required)"


def test_file_errors_name_the_file_and_the_problem(tmp_path):
    bad_toml = write(tmp_path, "bad.toml", 'id = "evening\n')
    with pytest.raises(PackInvalid) as caught:
        load_pack(bad_toml)
    assert str(caught.value) == f"{bad_toml}: not valid TOML: Illegal character '\\n' (at line 1, column 14)"
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b'id = "ok\xff"\n')
    with pytest.raises(PackInvalid) as caught:
        load_pack(binary)
    assert str(caught.value) == f"{binary}: not UTF-8 text (byte 8)"
    with pytest.raises(PackInvalid) as caught:
        load_pack(tmp_path / "absent.toml")
    assert str(caught.value) == f"{tmp_path / 'absent.toml'}: cannot read the file: No such file or directory"
    with pytest.raises(PackInvalid) as caught:
        load_pack(tmp_path)
    assert str(caught.value) == f"{tmp_path}: cannot read the file: Is a directory"


def test_a_pack_path_may_be_given_as_text(tmp_path):
    path = write(tmp_path, "evening.toml", GOOD)
    assert load_pack(str(path)).source == path


def test_three_files_with_one_id_each_name_the_other_two(tmp_path):
    paths = [write(tmp_path, f"{name}.toml", GOOD) for name in ("a", "b", "c")]
    errors = [str(e) for e in discover_packs([tmp_path]) if isinstance(e, PackInvalid)]
    assert errors == [
        f"{paths[0]}: field 'id': 'evening' is also the id of {paths[1]}, {paths[2]}",
        f"{paths[1]}: field 'id': 'evening' is also the id of {paths[0]}, {paths[2]}",
        f"{paths[2]}: field 'id': 'evening' is also the id of {paths[0]}, {paths[1]}",
    ]
    with pytest.raises(PackInvalid) as caught:
        find_pack("evening", [tmp_path])
    assert str(caught.value) == f"{paths[0]}: field 'id': 'evening' is also the id of {paths[1]}, {paths[2]}"


def test_discovery_keeps_file_order_and_skips_folders_named_like_packs(tmp_path):
    (tmp_path / "folder.toml").mkdir()
    second = write(tmp_path, "b.toml", replace_line("id", 'id = "bbb"'))
    first = write(tmp_path, "a.toml", replace_line("id", 'id = "aaa"'))
    entries = discover_packs([tmp_path])
    assert [e.source for e in entries[-2:]] == [first, second]
    assert all(isinstance(e, Pack) for e in entries)
    assert find_pack("bbb", [str(tmp_path)]).source == second


def test_an_unknown_id_with_no_broken_files_gives_no_hint(tmp_path):
    with pytest.raises(PackNotFound) as caught:
        find_pack("morning", [tmp_path])
    assert str(caught.value) == f"no question pack with id 'morning'; available: {DEFAULT_PACK_ID}"


def test_an_unknown_id_counts_every_broken_file(tmp_path):
    for name in ("x", "y"):
        write(tmp_path, f"{name}.toml", "id = ")
    with pytest.raises(PackNotFound) as caught:
        find_pack("morning", [tmp_path])
    assert str(caught.value).endswith("(2 pack file(s) could not be loaded; `reflect packs` shows why)")


def test_the_pack_found_is_the_one_with_that_id_not_the_first(tmp_path):
    write(tmp_path, "a.toml", replace_line("id", 'id = "aaa"'))
    wanted = write(tmp_path, "b.toml", replace_line("id", 'id = "bbb"'))
    assert find_pack("bbb", [tmp_path]).source == wanted


def test_with_no_packs_at_all_the_error_says_none_are_available(tmp_path, monkeypatch):
    import content.packs

    monkeypatch.setattr(content.packs, "builtin_packs_dir", lambda: tmp_path / "no-builtin-packs")
    with pytest.raises(PackNotFound) as caught:
        find_pack(DEFAULT_PACK_ID, [tmp_path])
    assert str(caught.value) == f"no question pack with id '{DEFAULT_PACK_ID}'; available: none"
