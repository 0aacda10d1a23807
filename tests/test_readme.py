"""The README's examples are real: every script and plan in it passes its check."""

from __future__ import annotations

import re
from pathlib import Path

from companion.library.loader import check_script_text
from companion.practice.homework import library_scripts
from companion.practice.plan_check import check_plan_text

README = Path(__file__).resolve().parent.parent / "README.md"


def toml_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.S)


def test_every_script_in_the_readme_checks_clean() -> None:
    scripts = [b for b in toml_blocks() if "[[step]]" in b]
    assert scripts
    for text in scripts:
        result = check_script_text(text, "README.md")
        assert (result.errors, result.warnings) == ([], [])


def test_every_homework_plan_in_the_readme_checks_clean() -> None:
    plans = [b for b in toml_blocks() if "[[practice]]" in b]
    assert plans
    for text in plans:
        result = check_plan_text(text, "README.md", library_scripts())
        assert result.errors == []


def test_how_it_is_built_names_every_module_in_the_package() -> None:
    text = README.read_text()
    block = text[text.index("## How it is built") :].split("```", 2)[1]
    package = README.parent / "companion"
    # Every module but the CLI's commands (one file each, named after the command).
    modules = {
        p.name
        for p in package.rglob("*.py")
        if p.name != "__init__.py" and p.parent.name != "commands"
    }
    folders = {f"{p.name}/" for p in package.rglob("*") if p.is_dir() and p.name != "__pycache__"}
    missing = sorted(name for name in modules | folders if name not in block)
    assert missing == [], f"README's 'How it is built' does not mention {missing}"
