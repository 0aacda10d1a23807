"""Parsed TOML in, a `Script` out: the top-level keys here, each step in `step_check`.

Every problem is noted with its line (from `companion.library.toml_lines`), none raised,
so one check reports them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from companion.core.script import FORMAT_VERSION, Script, Step
from companion.library.limits import MAX_STEPS, TOP_KEYS
from companion.library.step_check import StepChecker
from companion.library.toml_lines import TomlLines, named, suggest


class ScriptChecker:
    """Turns parsed TOML into a `Script`, noting every problem with its line."""

    def __init__(self, source: TomlLines, script_id: str, path: Path | None) -> None:
        self.source = source
        self.script_id = script_id
        self.path = path
        self.errors: list[tuple[int, str]] = []
        self.warnings: list[tuple[int, str]] = []
        self.roles: list[str] = []
        """Role names chosen by the role steps checked so far, in file order."""

    def script(self, data: dict[str, Any]) -> Script | None:
        top = self.source.top_key
        for key in data:
            if key not in TOP_KEYS:
                hint = suggest(key, TOP_KEYS) or f"; the top of a script has {', '.join(TOP_KEYS)}"
                self.errors.append((top(key), f'unknown key "{key}" at the top{hint}'))
        version = self._format(data)
        title = self._top_text(data, "title", 'e.g. title = "Slow breathing"')
        summary = self._top_text(data, "summary", "one sentence saying what the exercise is")
        tags = self._tags(data)
        safety = self._optional_text(data, "safety")
        help_text = self._optional_text(data, "help")
        steps = self._steps(data.get("step"))
        if self.errors or version is None:
            return None
        return Script(
            id=self.script_id,
            title=title,
            summary=summary,
            steps=tuple(steps),
            format=version,
            path=self.path,
            tags=tags,
            safety=safety,
            help=help_text,
        )

    # -- top level ---------------------------------------------------------

    def _format(self, data: dict[str, Any]) -> int | None:
        line = self.source.top_key("format")
        if "format" not in data:
            self.errors.append((1, f"missing format = {FORMAT_VERSION} at the top of the file"))
            return None
        value = data["format"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.errors.append((line, f"format must be {FORMAT_VERSION}, got {named(value)}"))
            return None
        if value > FORMAT_VERSION:
            self.errors.append(
                (
                    line,
                    f"written for a newer companion (format {value});"
                    f" this one reads format {FORMAT_VERSION}",
                )
            )
            return None
        return value

    def _top_text(self, data: dict[str, Any], key: str, example: str) -> str:
        if key not in data:
            self.errors.append((1, f"missing {key} ({example})"))
            return ""
        value = data[key]
        line = self.source.top_key(key)
        if not isinstance(value, str):
            self.errors.append((line, f"{key}: expected text in quotes, got {named(value)}"))
            return ""
        if not value.strip():
            self.errors.append((line, f"{key} is empty ({example})"))
        return value.strip()

    def _optional_text(self, data: dict[str, Any], key: str) -> str:
        """Shown on the page, never spoken: so no names in braces either."""
        if key not in data:
            return ""
        value = data[key]
        if not isinstance(value, str):
            self.errors.append(
                (
                    self.source.top_key(key),
                    f"{key}: expected text in quotes, got {named(value)}",
                )
            )
            return ""
        return value.strip()

    def _tags(self, data: dict[str, Any]) -> tuple[str, ...]:
        value = data.get("tags", [])
        if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
            self.errors.append(
                (self.source.top_key("tags"), 'tags: expected a list of text, e.g. ["breathing"]')
            )
            return ()
        return tuple(value)

    def _steps(self, value: object) -> list[Step]:
        if value is None:
            self.errors.append(
                (1, 'no steps: add at least one [[step]] with a kind, e.g. kind = "say"')
            )
            return []
        if isinstance(value, dict):
            self.errors.append(
                (
                    self.source.top_key("step"),  # the [step] header
                    "write each step as [[step]] (double brackets), not [step]",
                )
            )
            return []
        if not isinstance(value, list) or not value:
            self.errors.append((self.source.top_key("step"), "no steps: add at least one [[step]]"))
            return []
        if len(value) > MAX_STEPS:
            self.errors.append(
                (
                    self.source.table_line("step", MAX_STEPS),
                    f"{len(value)} steps; a script has at most {MAX_STEPS}: split it into"
                    " several scripts",
                )
            )
            return []
        steps: list[Step] = []
        for index, table in enumerate(value):
            step = StepChecker(self, index, table).step()
            if step is not None:
                steps.append(step)
        return steps
