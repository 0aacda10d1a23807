"""Reading and checking homework plans: every problem as ``file:line: message``.

A plan names scripts from the library, or embeds one as a ``[practice.script]`` table in
the script format, which the script checker checks; `companion.practice.homework` holds
the plan it builds.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from companion.core.errors import ScriptError
from companion.core.script import Script
from companion.library.nesting import NESTING_MESSAGE, toml_too_deep
from companion.library.toml_lines import TomlLines, decode, named, read_bytes, suggest
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


def _suggest(word: str, choices: Iterable[str]) -> str:
    return suggest(word, choices, quote=repr)


class _Checker:
    """Collects (line, message) problems while building a `Plan`."""

    def __init__(self, source: _PlanLines, name: str, scripts: Mapping[str, Script] | None) -> None:
        self.source = source
        self.name = name
        self.scripts = scripts
        self.errors: list[tuple[int, str]] = []
        self.script_errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, line: int, message: str) -> None:
        self.errors.append((line, message))

    def plan(self, data: dict[str, Any]) -> Plan | None:
        for key in data:
            if key not in TOP_KEYS:
                self.error(
                    self.source.top_key(key),
                    f"unknown key {key!r}{_suggest(key, TOP_KEYS)}"
                    f" (a plan has {', '.join(TOP_KEYS)})",
                )
        if not self._format(data):
            return None  # a different format: the rest cannot be judged
        plan_id = self._id(data, "id", self.source.top_key("id"), required=True)
        version = self._version(data)
        title = self._text(data, "title", 'title = "Homework until our next session"', MAX_TITLE)
        starts = self._date(data, "from")
        until = self._date(data, "until")
        if starts and until and until < starts:
            self.error(
                self.source.top_key("until"),
                f"until ({until}) is before from ({starts}); a plan needs at least one day",
            )
        note = ""
        if "note" in data:
            note = self._text(data, "note", 'note = "Practise when you are both rested."', MAX_NOTE)
        practice = self._practice(data.get("practice"), plan_id or "plan")
        if plan_id is None or version is None or not title or not starts or not until:
            return None
        return Plan(plan_id, version, title, starts, until, note, practice)

    def _format(self, data: dict[str, Any]) -> bool:
        line = self.source.top_key("format")
        value = data.get("format")
        if value is None:
            self.error(1, f"missing 'format = {PLAN_FORMAT}' at the top: the plan format version")
        elif isinstance(value, bool) or not isinstance(value, int):
            self.error(
                line,
                f"format must be a whole number, e.g. format = {PLAN_FORMAT}; got {named(value)}",
            )
        elif value > PLAN_FORMAT:
            self.error(
                line,
                f"written for a newer companion (format {value});"
                f" this one reads format {PLAN_FORMAT}",
            )
            return False
        elif value < 1:
            self.error(line, f"format must be {PLAN_FORMAT}, got {value}")
        return True

    def _id(self, table: dict[str, Any], key: str, line: int, *, required: bool) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                self.error(line, f'missing {key}: a short name like {key} = "homework-march"')
            return None
        if not isinstance(value, str) or not _ID.fullmatch(value):
            self.error(
                line,
                f"{key} must be lowercase letters, digits and dashes (up to 64),"
                f' e.g. {key} = "homework-march"; got {value!r}',
            )
            return None
        return value

    def _version(self, data: dict[str, Any]) -> int | None:
        line = self.source.top_key("version")
        value = data.get("version")
        if value is None:
            self.error(
                line, "missing version: a whole number, raised for each new edition (version = 1)"
            )
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(
                line,
                f"version must be a whole number like version = 2; got {named(value)}",
            )
            return None
        if value < 1:
            self.error(line, f"version must be 1 or more, got {value}")
            return None
        return value

    def _text(self, data: dict[str, Any], key: str, example: str, limit: int) -> str:
        line = self.source.top_key(key)
        value = data.get(key)
        if value is None:
            self.error(line, f"missing {key}, e.g. {example}")
            return ""
        if not isinstance(value, str):
            self.error(line, f"{key} must be text in quotes, e.g. {example}; got {named(value)}")
            return ""
        if key != "note" and not value.strip():
            self.error(line, f"{key} is empty, e.g. {example}")
            return ""
        if len(value) > limit:
            self.error(line, f"{key} is {len(value)} characters long; keep it under {limit}")
            return ""
        return value.strip()

    def _date(self, data: dict[str, Any], key: str) -> date | None:
        line = self.source.top_key(key)
        value = data.get(key)
        example = f"{key} = 2025-03-03"
        if value is None:
            self.error(line, f"missing {key}: a date without quotes, e.g. {example}")
            return None
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        elif isinstance(value, date) and not isinstance(value, datetime):
            return value
        self.error(
            line,
            f"{key} must be a date without quotes, e.g. {example}; got {named(value)}",
        )
        return None

    def _practice(self, value: object, plan_id: str) -> tuple[Practice, ...]:
        line = self.source.top_key("practice")
        if value is None:
            self.error(
                line,
                "no practice: add at least one [[practice]] table with script and times_per_week",
            )
            return ()
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.error(line, f"practice must be [[practice]] tables; got {named(value)}")
            return ()
        if not value:
            self.error(line, "no practice: add at least one [[practice]] table")
            return ()
        if len(value) > MAX_PRACTICE:
            self.error(
                self.source.practice(MAX_PRACTICE),
                f"{len(value)} practice entries; a plan holds at most {MAX_PRACTICE}",
            )
            return ()
        found: list[Practice] = []
        seen: dict[str, int] = {}
        for index, table in enumerate(value):
            practice = self._one_practice(index, table, plan_id)
            if practice is None:
                continue
            if practice.script_id in seen:
                self.error(
                    practice.line,
                    f"script {practice.script_id!r} is already assigned on line"
                    f" {seen[practice.script_id]}; give it one entry with the total times_per_week",
                )
                continue
            seen[practice.script_id] = practice.line
            found.append(practice)
        return tuple(found)

    def _one_practice(self, index: int, table: dict[str, Any], plan_id: str) -> Practice | None:
        at = self.source.practice_key
        for key in table:
            if key not in PRACTICE_KEYS:
                self.error(
                    at(index, key),
                    f"unknown key {key!r} in [[practice]]{_suggest(key, PRACTICE_KEYS)}"
                    " (a practice has script, times_per_week and, for an embedded script, id)",
                )
        times = table.get("times_per_week")
        low, high = TIMES_PER_WEEK
        count = 0  # 0: not valid, the practice is left out (the error is already reported)
        if times is None:
            self.error(at(index, "times_per_week"), f"missing times_per_week: {low} to {high}")
        elif isinstance(times, bool) or not isinstance(times, int):
            self.error(
                at(index, "times_per_week"),
                f"times_per_week must be a whole number from {low} to {high}; got {named(times)}",
            )
        elif not low <= times <= high:
            self.error(
                at(index, "times_per_week"),
                f"times_per_week must be from {low} to {high} (twice a day at most), got {times}",
            )
        else:
            count = times
        script = table.get("script")
        line = at(index, "script")
        if script is None:
            self.error(
                self.source.practice(index),
                'missing script: a library id (script = "slow-breathing")'
                " or a [practice.script] table",
            )
            return None
        if isinstance(script, str):
            if "id" in table:
                self.error(
                    at(index, "id"), "id names an embedded script; a library script has its own"
                )
            return self._library(script, line, count)
        if isinstance(script, dict):
            default_id = f"{plan_id}-{index + 1}"
            script_id = self._id(table, "id", at(index, "id"), required=False) or default_id
            return self._embedded(index, script_id, line, count)
        self.error(
            line,
            "script must be a library id in quotes or a [practice.script] table;"
            f" got {named(script)}",
        )
        return None

    def _library(self, script_id: str, line: int, times: int) -> Practice | None:
        if self.scripts is None:
            return Practice(script_id, times, line=line) if times else None
        script = self.scripts.get(script_id)
        if script is None:
            self.error(
                line,
                f"no script {script_id!r} in the library{_suggest(script_id, self.scripts)}",
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
                f"the embedded script's id {script_id!r} is a library script's; give it its own id",
            )
            return None
        from companion.library.loader import check_script_text

        padded, plain = texts
        size = len(plain.encode("utf-8"))
        if size > MAX_EMBEDDED_BYTES:
            self.error(
                line,
                f"the embedded script {script_id!r} is {size // 1024} KiB; an embedded script"
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
