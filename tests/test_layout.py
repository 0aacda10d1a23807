"""The folders show the plan: the pure core imports nothing else in the package."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "companion"


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (function-level imports too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names.add(node.module or "")
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_core_imports_nothing_from_the_rest_of_companion() -> None:
    core = sorted((PACKAGE / "core").glob("*.py"))
    assert len(core) > 3
    outside = {
        f"{path.name}: {name}"
        for path in core
        for name in imported_modules(path)
        if (name == "companion" or name.startswith("companion."))
        and not name.startswith("companion.core")
    }
    assert outside == set()


MAX_LINES = 450


def test_no_module_is_longer_than_a_newcomer_reads_in_one_go() -> None:
    long = {
        str(path.relative_to(PACKAGE)): count
        for path in PACKAGE.rglob("*.py")
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long
