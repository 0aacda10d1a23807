"""Script files in, validated `Script`s out; every problem as ``file:line: message``.

A script with any error never half-loads: `load_script` raises `ScriptError`
listing all problems at once. tomllib knows no positions for values, so
`companion.library.toml_lines` finds the line of each ``[[step]]`` header and ``key =``.
"""

from __future__ import annotations

import difflib
import logging
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from companion.core.errors import CompanionError, ScriptError
from companion.core.script import Script
from companion.library.limits import MAX_BYTES
from companion.library.nesting import NESTING_MESSAGE, toml_too_deep
from companion.library.script_check import ScriptChecker
from companion.library.toml_lines import TomlLines, decode, read_bytes
from companion.package_files import package_folder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    """What checking one script file found: the script when there are no errors."""

    script: Script | None
    errors: list[str]
    warnings: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Library(Mapping[str, Script]):
    """The scripts of one folder by id; files with errors are left out and listed in `errors`."""

    scripts: dict[str, Script]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    directory: Path | None = None

    def __getitem__(self, key: str) -> Script:
        return self.scripts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scripts)

    def __len__(self) -> int:
        return len(self.scripts)


def default_library_dir() -> Path:
    """The built-in library: ``scripts/`` in a checkout, inside the package once installed."""
    return package_folder("scripts")


def load_script(path: Path) -> Script:
    """Load and validate one script file; raise `ScriptError` listing every problem."""
    result = check_script(path)
    if result.script is None:
        raise ScriptError(result.errors)
    for warning in result.warnings:
        logger.info("%s", warning)
    return result.script


def load_script_text(text: str, name: str, script_id: str | None = None) -> Script:
    """Like `load_script` for text already in memory; `name` stands for the file in messages."""
    result = check_script_text(text, name, script_id)
    if result.script is None:
        raise ScriptError(result.errors)
    return result.script


def check_script(path: Path) -> CheckResult:
    """Validate one script file and collect all errors and warnings, never raising."""
    name = str(path)
    try:
        text = decode(read_bytes(path, MAX_BYTES, "script"), name, MAX_BYTES, "script")
    except ScriptError as error:
        return CheckResult(None, error.problems, [])
    return check_script_text(text, name, path.stem, path=path)


def check_script_text(
    text: str, name: str, script_id: str | None = None, *, path: Path | None = None
) -> CheckResult:
    """Validate script text; `name` prefixes every message, `script_id` defaults to its stem."""
    text = text.removeprefix("\ufeff")  # editors on Windows like to add a byte-order mark
    deep = toml_too_deep(text)
    if deep is not None:
        return CheckResult(
            None, [f"{name}:{deep}: {NESTING_MESSAGE}; a script is a list of flat steps"], []
        )
    source = TomlLines(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line, message = source.syntax_error(str(error), 'text = "Breathe in"')
        return CheckResult(None, [f"{name}:{line}: {message}"], [])
    checker = ScriptChecker(source, script_id or Path(name).stem, path)
    script = checker.script(data)
    errors = [f"{name}:{line}: {message}" for line, message in sorted(checker.errors)]
    warnings = [f"{name}:{line}: warning: {message}" for line, message in sorted(checker.warnings)]
    return CheckResult(None if errors else script, errors, warnings)


def load_library(directory: Path) -> Library:
    """Load every ``*.toml`` in `directory`, keyed by file stem; broken files are reported."""
    if not directory.is_dir():
        raise CompanionError(f"The script folder {directory} does not exist.")
    scripts: dict[str, Script] = {}
    errors: list[str] = []
    warnings: list[str] = []
    for path in sorted(directory.glob("*.toml")):
        result = check_script(path)
        errors.extend(result.errors)
        warnings.extend(result.warnings)
        if result.script is not None:
            scripts[result.script.id] = result.script
        else:
            logger.warning("left out %s: %d problem(s)", path.name, len(result.errors))
    return Library(scripts, errors, warnings, directory)


def resolve_script(name: str, scripts_dir: Path | None = None) -> Script:
    """A script by file path, or else by id in `scripts_dir` (default: the built-in library)."""
    path = Path(name)
    if path.suffix == ".toml" or path.exists() or "/" in name:
        if not path.exists():
            raise CompanionError(f"There is no script file at {name}.")
        try:
            return load_script(path)
        except ScriptError as error:
            raise CompanionError(
                f"{name} has problems; fix them first:\n" + "\n".join(error.problems)
            ) from None
    library = load_library(scripts_dir or default_library_dir())
    if name in library:
        return library[name]
    close = difflib.get_close_matches(name, list(library), n=1)
    hint = f' Did you mean "{close[0]}"?' if close else ""
    raise CompanionError(
        f'There is no script called "{name}"; `companion scripts` lists them.{hint}'
    )
