"""record.py is the one module that changes a session record: nowhere else is a session.json field assigned."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FIELDS = {
    "version",
    "id",
    "seq",
    "clock",
    "pack",
    "started_at",
    "ended_at",
    "status",
    "sample_rate",
    "questions",
    "answers",
    "sealed",
    "index",
    "question",
    "audio",
    "duration_s",
    "transcript",
    "words",
    "ended_by",
}
"""session.json's keys, a session's and an answer's (record.new_session, record.new_answer, record.sealed)."""


def field_writes(path: Path) -> list[str]:
    """Lines of `path` that assign to, or delete, a subscript named by one of the record's keys, change a list
    kept under one (`raw["answers"].append(...)`), or call .update() with one of them as a keyword."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        targets = (
            node.targets
            if isinstance(node, (ast.Assign, ast.Delete))
            else [node.target]
            if isinstance(node, (ast.AugAssign, ast.AnnAssign))
            else []
        )
        for target in targets:
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.slice, ast.Constant)
                and target.slice.value in FIELDS
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "update"
            and any(keyword.arg in FIELDS for keyword in node.keywords)
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("append", "extend", "insert", "sort", "pop", "remove", "clear")
            and isinstance(node.func.value, ast.Subscript)
            and isinstance(node.func.value.slice, ast.Constant)
            and node.func.value.slice.value in FIELDS
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_session_record_field_is_written_outside_record_py():
    """In the modules that handle records (the notes, the flow); the config's `pack` is another thing."""
    paths = [
        p
        for folder in ("device/notes", "device/flow")
        for p in sorted((ROOT / folder).glob("*.py"))
        if p != ROOT / "device" / "notes" / "record.py"
    ]
    assert [line for path in paths for line in field_writes(path)] == []


def test_the_check_finds_a_field_write():
    sample = ROOT / "device" / "notes" / "record.py"
    assert field_writes(sample)  # record.py itself writes them
