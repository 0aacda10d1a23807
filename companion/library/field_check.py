"""The checks scripts and plans share, so each mistake reads the same wherever it is made.

A `TableCheck` reads one TOML table (the top of a file, a ``[[step]]``, a ``[[practice]]``),
notes every problem as (line, message) and returns what it could read; `script_check`,
`step_check` and `companion.practice.plan_check` build on it. A message says what is
wrong, then what would be right: ``title must be text in quotes, got 5; e.g. title = "Calm"``.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from companion.library.nesting import is_number
from companion.library.toml_lines import TomlLines

Problem = tuple[int, str]
"""(line, message); the file's name goes in front once all are collected."""


def quoted(word: str) -> str:
    """`word` in double quotes, escaped as TOML would: a key holding a newline stays one line."""
    return json.dumps(word, ensure_ascii=False)


def suggest(word: str, choices: Iterable[str]) -> str:
    """``; did you mean "x"?`` for the closest choice, or "" when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {quoted(close[0])}?" if close else ""


def show_number(value: float) -> str:
    """A number as written: 6 rather than 6.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def named(value: object) -> str:
    """Name a TOML value the way a person would, for the "got ..." of a message."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, int | float):
        return show_number(value)
    if isinstance(value, str):
        return f"a string ({quoted(value)})" if len(value) <= 20 else "a string"
    if isinstance(value, datetime):
        return "a date and time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def as_toml(value: object) -> str:
    """A value as a file writes it, for the "e.g." of a message."""
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, list):
        return "[" + ", ".join(as_toml(item) for item in value) + "]"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return show_number(value)
    return str(value)  # a date: 2025-03-03


@dataclass
class TableCheck:
    """One TOML table under check: its values, where each key is, where problems go."""

    values: Mapping[str, Any]
    line_of: Callable[[str], int]
    """The line of ``key =``; the table's own line (1 at the top) when the key is not written."""
    where: str
    """Where the table is, as a message says it: "at the top", "in a silence step"."""
    examples: Mapping[str, object]
    """A right value for each key the table may hold, shown after "e.g.\""""
    errors: list[Problem]
    """Shared by every table of one file, so all its problems come out together."""

    def error(self, key: str, message: str) -> None:
        """Note a problem at the line of `key`."""
        self.errors.append((self.line_of(key), message))

    def example(self, key: str) -> str:
        return f"e.g. {key} = {as_toml(self.examples[key])}"

    def unknown_keys(self, allowed: Sequence[str], holds: str) -> None:
        """Note each key not `allowed`, naming the closest, else what the table `holds`."""
        for key in self.values:
            if key not in allowed:
                hint = suggest(key, allowed) or f"; {holds}"
                self.error(key, f"unknown key {quoted(key)} {self.where}{hint}")

    def given(self, key: str, *, required: bool, meaning: str = "", hint: str = "") -> bool:
        """Whether `key` is written; when it is not and is `required`, that is noted."""
        if key in self.values:
            return True
        if required:
            about = f" ({meaning})" if meaning else ""
            self.error(key, f"missing {key} {self.where}{about}; {self.example(key)}{hint}")
        return False

    def wrong(self, key: str, expected: str, got: str = "") -> None:
        """Note a value of the wrong kind: what it must be, what it is, and one that would do."""
        got = got or named(self.values[key])
        self.error(key, f"{key} must be {expected}, got {got}; {self.example(key)}")

    def text(
        self, key: str, *, required: bool = False, meaning: str = "", most: int | None = None
    ) -> str:
        """Text in quotes, stripped; "" when not written or wrong (noted).

        Required text must have words; `most` caps its length in characters."""
        if not self.given(key, required=required, meaning=meaning):
            return ""
        value = self.values[key]
        if not isinstance(value, str):
            self.wrong(key, "text in quotes")
            return ""
        if required and not value.strip():
            self.error(key, f"{key} is empty; {self.example(key)}")
            return ""
        if most is not None and len(value) > most:
            self.error(key, f"{key} is {len(value)} characters long; keep it to {most} at most")
            return ""
        return value.strip()

    def text_list(self, key: str) -> tuple[str, ...] | None:
        """A list of texts in quotes, each stripped; () when not written, None when wrong."""
        value = self.values.get(key, [])
        if not isinstance(value, list):
            self.wrong(key, "a list of text in quotes")
            return None
        not_text = [item for item in value if not isinstance(item, str)]
        if not_text:
            self.wrong(key, "a list of text in quotes", f"a list holding {named(not_text[0])}")
            return None
        return tuple(item.strip() for item in value)

    def whole(
        self,
        key: str,
        low: int,
        high: int | None = None,
        *,
        of: str = "",
        required: bool = False,
        default: int | None = None,
        meaning: str = "",
    ) -> int | None:
        """A whole number from `low` to `high` (of `of`: breaths, rounds); None when wrong."""
        bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
        kind = f"a whole number of {of}" if of else "a whole number"
        if not self.given(key, required=required, meaning=meaning or f"{kind}, {bounds}"):
            return default
        value = self.values[key]
        # A yes/no is an int to Python, never a count to a person.
        if not isinstance(value, int) or isinstance(value, bool):
            self.wrong(key, f"{kind}, {bounds}")
            return None
        if value < low or (high is not None and value > high):
            self.error(key, f"{key} must be {bounds}, got {value}")
            return None
        return value

    def number(
        self,
        key: str,
        unit: str,
        *,
        required: bool = False,
        default: float | None = None,
        positive: bool = True,
        hint: str = "",
    ) -> float | None:
        """A number of `unit` (seconds, minutes), more than 0 or else 0 or more; None when wrong.

        `hint` follows the message when a required number is missing."""
        if not self.given(key, required=required, meaning=f"a number of {unit}", hint=hint):
            return default
        value = self.values[key]
        if not is_number(value) or not math.isfinite(value):
            self.wrong(key, f"a number of {unit}")
            return None
        if positive and value <= 0:
            self.error(key, f"{key} must be more than 0 {unit}, got {show_number(value)}")
            return None
        if value < 0:
            self.error(key, f"{key} must be 0 {unit} or more, got {show_number(value)}")
            return None
        return float(value)

    def choice(
        self,
        key: str,
        options: Sequence[str],
        *,
        required: bool = False,
        default: str | None = None,
        meaning: str = "",
    ) -> str | None:
        """One of `options`; None when missing and required, or not one of them (noted)."""
        if not self.given(key, required=required, meaning=meaning):
            return default
        value = self.values[key]
        if not isinstance(value, str) or value not in options:
            shown = " or ".join(quoted(option) for option in options)
            hint = suggest(value, options) if isinstance(value, str) else ""
            self.error(key, f"{key} must be {shown}, got {named(value)}{hint}")
            return None
        return value

    def format_version(self, current: int) -> int | None:
        """The format to read the file as: None when it is newer than `current` (noted), and
        then nothing else in it can be judged. A missing or wrong format is noted, read as
        `current`."""
        version = self.whole("format", 1, required=True, meaning="the version of the file format")
        if version is not None and version > current:
            self.error(
                "format",
                f"written for a newer companion (format {version});"
                f" this one reads format {current}",
            )
            return None
        return version or current

    def tables(
        self, key: str, source: TomlLines, *, needs: str, owner: str, most: int, advice: str = ""
    ) -> list[dict[str, Any]]:
        """The ``[[key]]`` tables, each still to be checked; [] when none or wrong (noted).

        `needs` says what a table holds, `owner` what holds at most `most` of them."""
        value = self.values.get(key)
        if isinstance(value, dict):
            self.error(key, f"write each {key} as [[{key}]] (double brackets), not [{key}]")
            return []
        if value is not None and not (
            isinstance(value, list) and all(isinstance(table, dict) for table in value)
        ):
            self.error(key, f"{key} must be [[{key}]] tables, got {named(value)}")
            return []
        if not value:
            self.error(key, f"no [[{key}]] table; add at least one, with {needs}")
            return []
        if len(value) > most:
            self.errors.append(
                (
                    source.table_line(key, most),
                    f"{len(value)} [[{key}]] tables; {owner} has at most {most}{advice}",
                )
            )
            return []
        return value
