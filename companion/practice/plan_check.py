"""Reading and checking homework plans: every problem as ``file:line: message``.

A plan names scripts from the library, or embeds one as a ``[practice.script]`` table in
the script format, which the script checker checks; `companion.practice.homework` holds
the plan it builds.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from companion.core.errors import ScriptError
from companion.core.script import Script
from companion.library.field_check import Problem, TableCheck, quoted, suggest
from companion.library.nesting import NESTING_MESSAGE, toml_too_deep
from companion.library.toml_lines import TomlLines, decode, read_bytes
from companion.practice.homework import PLAN_FORMAT, Plan, Practice

logger = logging.getLogger(__name__)

MAX_PLAN_BYTES = 256 * 1024
MAX_PRACTICE = 20
MAX_EMBEDDED_BYTES = 32 * 1024
"""An embedded script is a few KiB (the longest built-in one is under 3 KiB)."""
MAX_TITLE = 120
MAX_NOTE = 2000
TIMES_PER_WEEK = (1, 14)

TOP_KEYS = ("format", "id", "version", "title", "from", "until", "note", "practice")
PRACTICE_KEYS = ("script", "times_per_week", "id")
PLAN_EXAMPLES: dict[str, object] = {
    "format": PLAN_FORMAT,
    "id": "homework-march",
    "version": 1,
    "title": "Homework until our next session",
    "from": date(2025, 3, 3),
    "until": date(2025, 4, 30),
    "note": "Practise when you are both rested.",
}
"""A right value for each key, shown after "e.g." in a message about it."""
PRACTICE_EXAMPLES: dict[str, object] = {
    "script": "slow-breathing",
    "times_per_week": 3,
    "id": "our-evening",
}

_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_SCRIPT_PREFIX = re.compile(r"^(\s*\[\[?\s*)practice\s*\.\s*script\s*\.\s*")


@dataclass(frozen=True)
class PlanCheck:
    """What checking one plan found: the plan when there are no errors."""

    plan: Plan | None
    errors: list[str]
    warnings: list[str] = field(default_factory=list)
    is_script: bool = False
    """The file is an exercise script, not a plan: one error says so, not one per key."""


# -- reading and checking ------------------------------------------------------------------


def load_plan_text(text: str, name: str, scripts: Mapping[str, Script] | None = None) -> Plan:
    """Load and validate a plan's text; raise `ScriptError` listing every problem.

    `name` stands for the file in messages."""
    result = check_plan_text(text, name, scripts)
    if result.plan is None:
        raise ScriptError(result.errors)
    return result.plan


def check_plan(path: Path, scripts: Mapping[str, Script] | None = None) -> PlanCheck:
    """Validate one plan file, collecting every error; never raises."""
    try:
        data = read_bytes(path, MAX_PLAN_BYTES, "plan")
    except ScriptError as error:
        return PlanCheck(None, error.problems)
    return check_plan_bytes(data, str(path), scripts)


def check_plan_bytes(
    data: bytes, name: str, scripts: Mapping[str, Script] | None = None
) -> PlanCheck:
    """Validate a plan's raw bytes (as uploaded): size and encoding first, then content."""
    try:
        text = decode(data, name, MAX_PLAN_BYTES, "plan")
    except ScriptError as error:
        return PlanCheck(None, error.problems)
    return check_plan_text(text, name, scripts)


def check_plan_text(text: str, name: str, scripts: Mapping[str, Script] | None = None) -> PlanCheck:
    """Validate plan text; `scripts` (the library) lets library ids be checked and titled."""
    if len(text.encode("utf-8", "replace")) > MAX_PLAN_BYTES:
        return PlanCheck(
            None, [f"{name}:1: file is larger than 256 KiB; a plan is a few KiB of text"]
        )
    text = text.removeprefix("\ufeff")
    deep = toml_too_deep(text)
    if deep is not None:
        return PlanCheck(None, [f"{name}:{deep}: {NESTING_MESSAGE}; a plan is a few flat tables"])
    source = _PlanLines(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line, message = source.syntax_error(str(error), 'title = "Our homework"')
        return PlanCheck(None, [f"{name}:{line}: {message}"])
    if "step" in data and "practice" not in data:
        # An exercise offered as a plan would otherwise get an error for every plan key.
        line = source.top_key("step") or 1
        return PlanCheck(
            None,
            [
                f"{name}:{line}: this is an exercise script, not a homework plan; a plan lists"
                " its practice under [[practice]], and can carry a script as [practice.script]"
            ],
            is_script=True,
        )
    checker = _Checker(source, name, scripts)
    plan = checker.plan(data)
    errors = [f"{name}:{line}: {message}" for line, message in sorted(set(checker.errors))]
    errors.extend(checker.script_errors)
    return PlanCheck(None if errors else plan, errors, checker.warnings)


class _PlanLines(TomlLines):
    """Where things are in a plan: its ``[[practice]]`` headers, keys and embedded scripts."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.practices = self.array_tables("practice")

    def practice(self, index: int) -> int:
        return self.table_line("practice", index)

    def practice_key(self, index: int, key: str) -> int:
        """The line of ``key =`` in a practice; an embedded script's header for ``script``."""
        found = self.table_key("practice", index, key)
        if found:
            return found
        block = self.script_block(index) if key == "script" else None
        return block[0] if block else self.practice(index)

    def script_block(self, index: int) -> tuple[int, int] | None:
        """Lines [first, end) of practice `index`'s ``[practice.script]`` table and subtables."""
        if index >= len(self.practices):
            return None
        start = self.practices[index]
        stop = self.practices[index + 1] if index + 1 < len(self.practices) else len(self.lines) + 1
        first: int | None = None
        for line, name, array in self.headers:
            if not start < line < stop:
                continue
            if first is None:
                if name == "practice.script" and not array:
                    first = line
            elif not name.startswith("practice.script."):
                return first, line
        return None if first is None else (first, stop)

    def script_text(self, index: int) -> tuple[str, str] | None:
        """An embedded script as script-format text: (padded to keep line numbers, plain)."""
        block = self.script_block(index)
        if block is None:
            return None
        first, end = block
        body: list[str] = []
        for number in range(first, end):
            line = self.lines[number - 1]
            if number == first:
                line = ""
            elif self.code[number - 1]:
                line = _SCRIPT_PREFIX.sub(r"\1", line)
            body.append(line)
        padded = "\n" * first + "\n".join(body[1:])
        plain = "\n".join(body[1:]).strip("\n") + "\n"
        return padded, plain


def _id(fields: TableCheck, *, required: bool) -> str | None:
    """A plan's or an embedded script's id: a short name, also used in file names and URLs."""
    if not fields.given("id", required=required, meaning="a short name"):
        return None
    value = fields.values["id"]
    if not isinstance(value, str) or not _ID.fullmatch(value):
        fields.wrong("id", "lowercase letters, digits and dashes (up to 64)")
        return None
    return value


def _date(top: TableCheck, key: str) -> date | None:
    """A day written as a TOML date; a quoted ISO date is taken too."""
    if not top.given(key, required=True, meaning="a date without quotes"):
        return None
    value = top.values[key]
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    elif isinstance(value, date) and not isinstance(value, datetime):
        return value
    top.wrong(key, "a date without quotes")
    return None


class _Checker:
    """Collects (line, message) problems while building a `Plan`."""

    def __init__(self, source: _PlanLines, name: str, scripts: Mapping[str, Script] | None) -> None:
        self.source = source
        self.name = name
        self.scripts = scripts
        self.errors: list[Problem] = []
        self.script_errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, line: int, message: str) -> None:
        self.errors.append((line, message))

    def plan(self, data: dict[str, Any]) -> Plan | None:
        top = TableCheck(data, self.source.top_key, "at the top", PLAN_EXAMPLES, self.errors)
        if top.format_version(PLAN_FORMAT) is None:
            return None  # written for a newer companion: the rest cannot be judged
        top.unknown_keys(TOP_KEYS, f"a plan has {', '.join(TOP_KEYS)}")
        plan_id = _id(top, required=True)
        version = top.whole(
            "version", 1, required=True, meaning="a whole number, raised for each new edition"
        )
        title = top.text("title", required=True, most=MAX_TITLE)
        starts = _date(top, "from")
        until = _date(top, "until")
        if starts and until and until < starts:
            top.error(
                "until", f"until ({until}) is before from ({starts}); a plan needs at least one day"
            )
        note = top.text("note", most=MAX_NOTE)
        tables = top.tables(
            "practice",
            self.source,
            needs="script and times_per_week",
            owner="a plan",
            most=MAX_PRACTICE,
        )
        practice = self._practice(tables, plan_id or "plan")
        if plan_id is None or version is None or not title or not starts or not until:
            return None
        return Plan(plan_id, version, title, starts, until, note, practice)

    def _practice(self, tables: list[dict[str, Any]], plan_id: str) -> tuple[Practice, ...]:
        found: list[Practice] = []
        seen: dict[str, int] = {}
        for index, table in enumerate(tables):
            practice = self._one_practice(index, table, plan_id)
            if practice is None:
                continue
            if practice.script_id in seen:
                self.error(
                    practice.line,
                    f"script {quoted(practice.script_id)} is already assigned on line"
                    f" {seen[practice.script_id]}; give it one entry with the total times_per_week",
                )
                continue
            seen[practice.script_id] = practice.line
            found.append(practice)
        return tuple(found)

    def _one_practice(self, index: int, table: dict[str, Any], plan_id: str) -> Practice | None:
        fields = TableCheck(
            table,
            lambda key: self.source.practice_key(index, key),
            "in [[practice]]",
            PRACTICE_EXAMPLES,
            self.errors,
        )
        fields.unknown_keys(
            PRACTICE_KEYS,
            "a practice has script, times_per_week and, for an embedded script, id",
        )
        # 0: not valid, the practice is left out (the error is already noted).
        count = fields.whole("times_per_week", *TIMES_PER_WEEK, required=True) or 0
        meaning = "a library id, or a [practice.script] table"
        if not fields.given("script", required=True, meaning=meaning):
            return None
        script = table["script"]
        line = fields.line_of("script")
        if isinstance(script, str):
            if "id" in table:
                fields.error("id", "id names an embedded script; a library script has its own")
            return self._library(script, line, count)
        if isinstance(script, dict):
            script_id = _id(fields, required=False) or f"{plan_id}-{index + 1}"
            return self._embedded(index, script_id, line, count)
        fields.wrong("script", "a library id in quotes or a [practice.script] table")
        return None

    def _library(self, script_id: str, line: int, times: int) -> Practice | None:
        if self.scripts is None:
            return Practice(script_id, times, line=line) if times else None
        script = self.scripts.get(script_id)
        if script is None:
            self.error(
                line,
                f"no script {quoted(script_id)} in the library{suggest(script_id, self.scripts)}",
            )
            return None
        return Practice(script_id, times, title=script.title, line=line) if times else None

    def _embedded(self, index: int, script_id: str, line: int, times: int) -> Practice | None:
        texts = self.source.script_text(index)
        if texts is None:
            self.error(
                line, "write an embedded script as its own [practice.script] table, not inline"
            )
            return None
        if self.scripts is not None and script_id in self.scripts:
            self.error(
                line,
                f"the embedded script's id {quoted(script_id)} is a library script's;"
                " give it its own id",
            )
            return None
        from companion.library.loader import check_script_text

        padded, plain = texts
        size = len(plain.encode("utf-8"))
        if size > MAX_EMBEDDED_BYTES:
            self.error(
                line,
                f"the embedded script {quoted(script_id)} is {size // 1024} KiB; an embedded script"
                f" is at most {MAX_EMBEDDED_BYTES // 1024} KiB (put a longer one in the library)",
            )
            return None
        result = check_script_text(padded, self.name, script_id)
        # "line 1" is the loader's "not written anywhere": point at the script's own header.
        at_top, header = f"{self.name}:1: ", f"{self.name}:{line}: "
        self.script_errors.extend(e.replace(at_top, header, 1) for e in result.errors)
        self.warnings.extend(result.warnings)
        if result.script is None or not times:
            return None
        return Practice(script_id, times, title=result.script.title, source=plain, line=line)
