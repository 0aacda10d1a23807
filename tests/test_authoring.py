"""`companion new`, and the help and error conventions of the journal and homework commands."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from companion.cli import build_parser, main
from companion.core.script import STEP_KINDS
from companion.library.loader import check_script


def test_a_template_from_companion_new_passes_check_with_no_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "evening-ritual.toml"
    assert main(["new", str(path)]) == 0
    result = check_script(path)
    assert (result.errors, result.warnings) == ([], [])
    assert result.script is not None and result.script.title == "Evening ritual"
    capsys.readouterr()
    assert main(["check", str(path)]) == 0


def test_the_template_shows_every_step_kind_with_comments(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    assert main(["new", str(path)]) == 0
    script = check_script(path).script
    assert script is not None
    kinds = {kind for kind, cls in STEP_KINDS.items() for step in script.steps if type(step) is cls}
    assert kinds == set(STEP_KINDS)
    text = path.read_text()
    assert sum(line.startswith("#") for line in text.splitlines()) >= 30


def test_companion_new_refuses_to_overwrite_an_existing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("my precious work\n")
    assert main(["new", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"companion: {path} already exists; choose another name (it was left unchanged).\n"
    )
    assert path.read_text() == "my precious work\n"


def test_companion_new_wants_a_toml_name_in_an_existing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", str(tmp_path / "mine.txt")]) == 1
    assert "with .toml at the end" in capsys.readouterr().err
    assert main(["new", str(tmp_path / "nowhere" / "mine.toml")]) == 1
    assert "does not exist; create it first" in capsys.readouterr().err


def _subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, str | None]:
    """Every command path with its help text (None when it has none)."""
    found: dict[str, str | None] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                path = f"{prefix} {name}".strip()
                found[path] = helps.get(name)
                found.update(_subcommands(sub, path))
    return found


@pytest.mark.parametrize(
    "command",
    [
        "new",
        "journal",
        "journal list",
        "journal export",
        "journal delete",
        "homework",
        "homework add",
        "homework list",
        "homework show",
    ],
)
def test_every_journal_homework_and_authoring_command_has_help(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = _subcommands(build_parser())
    assert commands.get(command), f"`companion {command}` has no help text"
    with pytest.raises(SystemExit) as exit_info:
        main([*command.split(), "--help"])
    assert exit_info.value.code == 0
    assert "usage: companion" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [["journal"], ["homework"], ["homework", "add", "missing.toml"]],
    ids=["journal without action", "homework without action", "missing plan file"],
)
def test_errors_exit_1_with_one_line(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*args, *(["--data-dir", str(tmp_path)] if len(args) > 1 else [])]) == 1
    err = capsys.readouterr().err
    assert err.startswith("companion: ") and err.count("\n") == 1
