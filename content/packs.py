"""Question packs: TOML files saying what the device speaks, loaded and validated."""

import dataclasses
import logging
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.errors import PackInvalid, PackNotFound

log = logging.getLogger(__name__)

DEFAULT_PACK_ID = "therapy-relationship"
MAX_TEXT_CHARS = 1000
MAX_QUESTIONS = 50
MIN_RATE, MAX_RATE = 80, 400

_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-([A-Z]{2}|[0-9]{3}))?")


@dataclass(frozen=True)
class Pack:
    """One validated question pack."""

    id: str
    title: str
    language: str
    greeting: str
    questions: tuple[str, ...]
    closing: str
    voice: str | None
    rate: int | None
    sample_answers: tuple[str, ...]
    source: Path
    replaces: Path | None = None
    """The built-in pack file this owner's pack stands in for (a copy with the same id, to edit), if any."""

    @property
    def prompts(self) -> tuple[str, ...]:
        """Every text the device speaks for this pack, in order: greeting, questions, closing."""
        return (self.greeting, *self.questions, self.closing)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    text = " ".join(value.split())
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"must be at most {MAX_TEXT_CHARS} characters, not {len(text)}")
    return text


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise ValueError("must be a non-empty list of strings")
    if len(value) > MAX_QUESTIONS:
        raise ValueError(f"must have at most {MAX_QUESTIONS} entries, not {len(value)}")
    texts = []
    for number, item in enumerate(value, start=1):
        try:
            texts.append(_text(item))
        except ValueError as error:
            raise ValueError(f"entry {number} {error}") from None
    return tuple(texts)


def _pack_id(value: Any) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(
            "must be a lowercase slug like 'therapy-relationship' (a-z, 0-9 and '-', at most 64 characters)"
        )
    return value


def _language(value: Any) -> str:
    if not isinstance(value, str) or not _LANGUAGE.fullmatch(value):
        raise ValueError("must be a language code like 'en', 'en-GB' or 'ko'")
    return value


def _rate(value: Any) -> int:
    if type(value) is not int or not MIN_RATE <= value <= MAX_RATE:
        raise ValueError(f"must be a whole number of words per minute from {MIN_RATE} to {MAX_RATE}")
    return value


# field -> (validator, required)
_FIELDS: dict[str, tuple[Callable[[Any], Any], bool]] = {
    "id": (_pack_id, True),
    "title": (_text, True),
    "language": (_language, True),
    "voice": (_text, False),
    "rate": (_rate, False),
    "greeting": (_text, True),
    "questions": (_texts, True),
    "closing": (_text, True),
    "sample_answers": (_texts, False),
}


def load_pack(path: Path) -> Pack:
    """Read and validate one pack file; any problem raises PackInvalid naming the file and field."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as error:
        raise PackInvalid(f"{path}: cannot read the file: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise PackInvalid(f"{path}: not UTF-8 text (byte {error.start})") from error
    except tomllib.TOMLDecodeError as error:
        raise PackInvalid(f"{path}: not valid TOML: {' '.join(str(error).split())}") from error
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise PackInvalid(f"{path}: field '{unknown[0]}': unknown field (allowed: {', '.join(_FIELDS)})")
    values: dict[str, Any] = {}
    for field, (validate, required) in _FIELDS.items():
        if field not in data:
            if required:
                raise PackInvalid(f"{path}: field '{field}': missing (it is required)")
            continue
        try:
            values[field] = validate(data[field])
        except ValueError as error:
            raise PackInvalid(f"{path}: field '{field}': {error}") from None
    return Pack(
        id=values["id"],
        title=values["title"],
        language=values["language"],
        greeting=values["greeting"],
        questions=values["questions"],
        closing=values["closing"],
        voice=values.get("voice"),
        rate=values.get("rate"),
        sample_answers=values.get("sample_answers", ()),
        source=path,
    )


def builtin_packs_dir() -> Path:
    """The directory of packs shipped with Reflect."""
    return Path(__file__).with_name("packs")


def _pack_files(extra_dirs: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for directory in (builtin_packs_dir(), *map(Path, extra_dirs)):
        if directory.is_dir():
            files.extend(sorted(p for p in directory.glob("*.toml") if p.is_file()))
    return files


def _load_all(extra_dirs: Iterable[Path]) -> list[Pack | PackInvalid]:
    entries: list[Pack | PackInvalid] = []
    for path in _pack_files(extra_dirs):
        try:
            entries.append(load_pack(path))
        except PackInvalid as error:
            entries.append(error)
    return _owners_versions(entries)


def _owners_versions(entries: list[Pack | PackInvalid]) -> list[Pack | PackInvalid]:
    """An owner's pack with a built-in pack's id (a copy made to edit it) replaces that built-in pack."""
    builtin = builtin_packs_dir()
    shipped = {e.id: e.source for e in entries if isinstance(e, Pack) and e.source.parent == builtin}
    owners: dict[str, int] = {}
    for entry in entries:
        if isinstance(entry, Pack) and entry.source.parent != builtin:
            owners[entry.id] = owners.get(entry.id, 0) + 1
    kept: list[Pack | PackInvalid] = []
    for entry in entries:
        if isinstance(entry, Pack) and entry.id in shipped and owners.get(entry.id) == 1:
            if entry.source.parent == builtin:
                continue
            entry = dataclasses.replace(entry, replaces=shipped[entry.id])
        kept.append(entry)
    return kept


def _duplicate_error(pack_id: str, sources: list[Path]) -> PackInvalid:
    return PackInvalid(f"{sources[0]}: field 'id': '{pack_id}' is also the id of {', '.join(map(str, sources[1:]))}")


def _sources_by_id(entries: list[Pack | PackInvalid]) -> dict[str, list[Path]]:
    sources: dict[str, list[Path]] = {}
    for entry in entries:
        if isinstance(entry, Pack):
            sources.setdefault(entry.id, []).append(entry.source)
    return sources


def discover_packs(extra_dirs: Iterable[Path] = ()) -> list[Pack | PackInvalid]:
    """Every pack file, built-in first, then `extra_dirs` in order: a Pack, or the PackInvalid saying why not.

    An owner's pack with a built-in pack's id replaces it (`Pack.replaces`); other packs sharing an id are all
    reported as PackInvalid, each naming the other files.
    """
    entries = _load_all(extra_dirs)
    sources = _sources_by_id(entries)
    listing: list[Pack | PackInvalid] = []
    for entry in entries:
        if isinstance(entry, Pack) and len(sources[entry.id]) > 1:
            others = [s for s in sources[entry.id] if s != entry.source]
            entry = _duplicate_error(entry.id, [entry.source, *others])
        listing.append(entry)
    return listing


def find_pack(pack_id: str, extra_dirs: Iterable[Path] = ()) -> Pack:
    """The pack with id `pack_id`; PackNotFound lists the ids there are, PackInvalid if two files claim it."""
    entries = _load_all(extra_dirs)
    sources = _sources_by_id(entries)
    if len(sources.get(pack_id, [])) > 1:
        raise _duplicate_error(pack_id, sources[pack_id])
    for entry in entries:
        if isinstance(entry, Pack) and entry.id == pack_id:
            if entry.replaces is not None:
                log.info("pack %s: using your version, %s, in place of the built-in one", pack_id, entry.source)
            return entry
    available = ", ".join(sorted(sources)) or "none"
    broken = sum(isinstance(entry, PackInvalid) for entry in entries)
    hint = f" ({broken} pack file(s) could not be loaded; `reflect packs` shows why)" if broken else ""
    raise PackNotFound(f"no question pack with id '{pack_id}'; available: {available}{hint}")
