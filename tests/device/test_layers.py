"""Who may import whom: the flow nothing from device.setup, the notes nothing from the flow or setup,
nothing below device imports it, the bench no tests."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(package: str) -> dict[str, set[str]]:
    """Every module each file of `package` imports (at any depth, lazy imports too)."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_the_flow_imports_nothing_from_setup():
    offending = {
        path: sorted(n for n in names if n.startswith("device.setup"))
        for path, names in imported_modules("device/flow").items()
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_the_notes_import_nothing_from_the_flow_or_setup():
    offending = {
        path: sorted(n for n in names if n.startswith(("device.flow", "device.setup")))
        for path, names in imported_modules("device/notes").items()
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_nothing_below_device_imports_it():
    for package in ("audio", "common", "content"):
        offending = {
            path: sorted(n for n in names if n == "device" or n.startswith("device."))
            for path, names in imported_modules(package).items()
        }
        assert {path: names for path, names in offending.items() if names} == {}


def test_the_bench_imports_nothing_from_the_tests():
    offending = {
        path: sorted(n for n in names if n == "tests" or n.startswith("tests."))
        for path, names in imported_modules("bench").items()
    }
    assert {path: names for path, names in offending.items() if names} == {}
