"""Homework plans: one small TOML file a therapist gives the couple.

A plan names scripts (from the library, or embedded in the plan as a
``[practice.script]`` table in the script format), how often to practise each per
week, and the dates it runs; `companion.practice.plan_check` reads and checks the file.
Nothing here touches the journal; `companion.practice.journal` stores what this module returns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from companion.core.errors import CompanionError
from companion.core.script import Script

logger = logging.getLogger(__name__)

PLAN_FORMAT = 1
"""The plan format this code writes and reads."""


@dataclass(frozen=True)
class Practice:
    """One assignment: practise this script so many times a week."""

    script_id: str
    times_per_week: int
    title: str = ""
    """The script's title when known (embedded or found in the library)."""
    source: str = ""
    """An embedded script's text in the script format; "" for a library script."""
    line: int = 0

    @property
    def embedded(self) -> bool:
        return bool(self.source)


@dataclass(frozen=True)
class Plan:
    """A validated homework plan."""

    id: str
    version: int
    title: str
    starts: date
    until: date
    note: str
    practice: tuple[Practice, ...]
    format: int = PLAN_FORMAT

    def overlaps(self, first: date, last: date) -> bool:
        """Whether the plan runs on any day from `first` to `last`."""
        return self.starts <= last and first <= self.until

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "from": self.starts.isoformat(),
            "until": self.until.isoformat(),
            "note": self.note,
            "practice": [
                {
                    "script": p.script_id,
                    "title": p.title or p.script_id,
                    "times_per_week": p.times_per_week,
                    "embedded": p.embedded,
                }
                for p in self.practice
            ],
        }


def library_scripts() -> dict[str, Script] | None:
    """The built-in library by id, or None when it cannot be read (ids then go unchecked)."""
    from companion.library.loader import default_library_dir, load_library

    try:
        return dict(load_library(default_library_dir()))
    except CompanionError as error:
        logger.warning("library ids in plans are not checked: %s", error)
        return None


def embedded_scripts(plans: Iterable[Plan]) -> dict[str, Script]:
    """The scripts carried inside plans, by id, ready to add to the library."""
    from companion.library.loader import check_script_text

    found: dict[str, Script] = {}
    for plan in plans:
        for practice in plan.practice:
            if practice.embedded:
                result = check_script_text(
                    practice.source, f"{plan.id}:{practice.script_id}", practice.script_id
                )
                if result.script is not None:
                    found[practice.script_id] = result.script
    return found


# -- progress --------------------------------------------------------------------------------


class Practised(Protocol):
    """What progress needs to know of a journal session."""

    @property
    def script_id(self) -> str: ...

    @property
    def started_at(self) -> datetime: ...

    @property
    def ending(self) -> str | None: ...


@dataclass(frozen=True)
class Progress:
    """One assignment's progress in one ISO week."""

    plan_id: str
    plan_title: str
    script_id: str
    script_title: str
    done: int
    """Sessions of the script completed that week."""
    target: int

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "plan": self.plan_id,
            "plan_title": self.plan_title,
            "script": self.script_id,
            "title": self.script_title,
            "done": self.done,
            "target": self.target,
        }


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of `day`'s ISO week."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def week_label(day: date) -> str:
    """The ISO week as ``2025-W10``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_progress(
    plans: Iterable[Plan], sessions: Iterable[Practised], day: date
) -> list[Progress]:
    """Each assignment of the plans running in `day`'s week, with completed sessions that week."""
    monday, sunday = week_of(day)
    done: dict[str, int] = {}
    for session in sessions:
        if session.ending == "completed" and monday <= session.started_at.date() <= sunday:
            done[session.script_id] = done.get(session.script_id, 0) + 1
    return [
        Progress(
            plan.id,
            plan.title,
            practice.script_id,
            practice.title or practice.script_id,
            done.get(practice.script_id, 0),
            practice.times_per_week,
        )
        for plan in plans
        if plan.overlaps(monday, sunday)
        for practice in plan.practice
    ]
