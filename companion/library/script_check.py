"""Parsed TOML in, a `Script` out: the top-level keys here, each step in `step_check`.

Every problem is noted with its line (from `companion.library.toml_lines`), none raised,
so one check reports them all; `companion.library.field_check` words them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from companion.core.script import FORMAT_VERSION, Script, Step
from companion.library.field_check import Problem, TableCheck
from companion.library.limits import MAX_STEPS, TOP_EXAMPLES, TOP_KEYS
from companion.library.step_check import StepChecker
from companion.library.toml_lines import TomlLines


class ScriptChecker:
    """Turns parsed TOML into a `Script`, noting every problem with its line."""

    def __init__(self, source: TomlLines, script_id: str, path: Path | None) -> None:
        self.source = source
        self.script_id = script_id
        self.path = path
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.roles: list[str] = []
        """Role names chosen by the role steps checked so far, in file order."""

    def script(self, data: dict[str, Any]) -> Script | None:
        top = TableCheck(data, self.source.top_key, "at the top", TOP_EXAMPLES, self.errors)
        version = top.format_version(FORMAT_VERSION)
        if version is None:
            return None  # written for a newer companion: the rest cannot be judged
        top.unknown_keys(TOP_KEYS, f"the top of a script has {', '.join(TOP_KEYS)}")
        title = top.text("title", required=True)
        summary = top.text(
            "summary", required=True, meaning="one sentence saying what the exercise is"
        )
        tags = top.text_list("tags")
        # Shown on the page, never spoken: so no names in braces either.
        safety = top.text("safety")
        help_text = top.text("help")
        steps = self._steps(top)
        if self.errors or tags is None:
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

    def _steps(self, top: TableCheck) -> list[Step]:
        tables = top.tables(
            "step",
            self.source,
            needs='a kind, e.g. kind = "say"',
            owner="a script",
            most=MAX_STEPS,
            advice=": split it into several scripts",
        )
        steps: list[Step] = []
        for index, table in enumerate(tables):
            step = StepChecker(self, index, table).step()
            if step is not None:
                steps.append(step)
        return steps
