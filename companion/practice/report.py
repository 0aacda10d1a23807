"""The report a couple brings to their therapist: CSV or one self-contained HTML page.

Pure functions over journal records: what was practised per week against the plan,
calm ratings before and after, time-outs per session. Never anything that was said.
The HTML needs no network, no scripts and no other files, and prints well.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

import jinja2

from companion.core.script import Names
from companion.practice.homework import Plan, Progress, week_label, week_of, week_progress
from companion.practice.journal import SessionRecord

ReportFormat = Literal["csv", "html"]
MAX_WEEKS = 104
"""At most two years of weeks in one report (a plan may run for a long time)."""
MAX_CHART_SESSIONS = 40

CSV_COLUMNS = (
    "id",
    "week",
    "script",
    "title",
    "started_at",
    "ended_at",
    "minutes",
    "ending",
    "steps_reached",
    "steps_completed",
    "total_steps",
    "pauses",
    "timeouts",
    "calm_before_a",
    "calm_after_a",
    "calm_before_b",
    "calm_after_b",
)


@dataclass(frozen=True)
class Week:
    """One ISO week of practice: each assignment against its target, and the rest."""

    label: str
    monday: date
    planned: list[Progress]
    unplanned: dict[str, int]
    """Completed sessions of scripts no plan asked for that week, by title."""
    sessions: int
    timeouts: int
    """Time-outs called during that week's sessions, in all."""
    timeouts_by_script: dict[str, int] = field(default_factory=dict)
    """The same by script id: each on the row of the exercise it interrupted."""
    titles: dict[str, str] = field(default_factory=dict)
    """Script id to title, for the week's sessions."""


@dataclass(frozen=True)
class Report:
    """Everything a report shows, computed once from the journal's records."""

    sessions: list[SessionRecord]
    plans: list[Plan]
    weeks: list[Week]
    since: date | None
    today: date


def build_report(
    sessions: Sequence[SessionRecord], plans: Sequence[Plan], today: date, since: date | None = None
) -> Report:
    """Gather sessions (from `since`) and practice per week against the plans in force."""
    chosen = [s for s in sessions if since is None or s.started_at.date() >= since]
    mondays: set[date] = {week_of(s.started_at.date())[0] for s in chosen}
    for plan in plans:
        first = max(plan.starts, since) if since else plan.starts
        last = min(plan.until, today)
        monday = week_of(first)[0]
        while monday <= last:
            mondays.add(monday)
            monday += timedelta(days=7)
    weeks = [_week(monday, chosen, plans) for monday in sorted(mondays)[-MAX_WEEKS:]]
    return Report(chosen, list(plans), weeks, since, today)


def _week(monday: date, sessions: Sequence[SessionRecord], plans: Sequence[Plan]) -> Week:
    sunday = monday + timedelta(days=6)
    inside = [s for s in sessions if monday <= s.started_at.date() <= sunday]
    planned = week_progress(plans, inside, monday)
    assigned = {p.script_id for p in planned}
    unplanned: dict[str, int] = {}
    for session in inside:
        if session.ending == "completed" and session.script_id not in assigned:
            unplanned[session.script_title] = unplanned.get(session.script_title, 0) + 1
    by_script: dict[str, int] = {}
    for session in inside:
        if session.timeouts:
            by_script[session.script_id] = by_script.get(session.script_id, 0) + session.timeouts
    return Week(
        week_label(monday),
        monday,
        planned,
        unplanned,
        len(inside),
        sum(by_script.values()),
        by_script,
        {s.script_id: s.script_title for s in inside},
    )


# -- CSV -----------------------------------------------------------------------------------


def to_csv(report: Report) -> str:
    """One row per session, with a header row; times in ISO 8601."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for s in report.sessions:
        minutes = s.minutes
        writer.writerow(
            [
                s.id,
                week_label(s.started_at.date()),
                _cell(s.script_id),
                _cell(s.script_title),
                s.started_at.isoformat(),
                s.ended_at.isoformat() if s.ended_at else "",
                "" if minutes is None else f"{minutes:.1f}",
                s.ending or "running",
                s.steps_reached,
                s.steps_completed,
                s.total_steps,
                s.pauses,
                s.timeouts,
                _blank(s.calm_before_a),
                _blank(s.calm_after_a),
                _blank(s.calm_before_b),
                _blank(s.calm_after_b),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    # A spreadsheet would run a cell starting with = + - @ as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _blank(value: int | None) -> str:
    return "" if value is None else str(value)


# -- HTML ----------------------------------------------------------------------------------


def to_html(
    report: Report, names: Names | None = None, *, generated: datetime | None = None
) -> str:
    """A calm, printable, self-contained HTML report (inline CSS and SVG, no scripts).

    The page is `templates/report.html`, rendered by Jinja2 with autoescaping: every title,
    name and note a plan or a script brings is escaped without a call to remember."""
    names = names or Names()
    when = (generated or datetime.now()).strftime("%d %B %Y")
    period = (
        f"Since {report.since:%d %B %Y}" if report.since else "Everything in the journal"
    ) + f", as of {when}."
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("companion.practice", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    page = environment.get_template("report.html").render(
        period=period,
        session_count=_count(len(report.sessions), "session"),
        plans=report.plans,
        weeks=[_week_rows(week) for week in reversed(report.weeks)],
        chart=_calm_chart(report, names),
        names=names,
        sessions=list(reversed(report.sessions)),
        calm_words=calm_words,
    )
    return page if page.endswith("\n") else page + "\n"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@dataclass(frozen=True)
class _Row:
    """One exercise in a week: done against planned (None: not planned), its time-outs."""

    title: str
    done: int
    target: int | None
    timeouts: int

    @property
    def fill(self) -> int:
        return min(100, round(100 * self.done / self.target)) if self.target else 0


def _week_rows(week: Week) -> dict[str, object]:
    """A week's rows: each assignment, then unplanned practice and interrupted exercises."""
    rows = [
        _Row(p.script_title, p.done, p.target, week.timeouts_by_script.get(p.script_id, 0))
        for p in week.planned
    ]
    shown = {p.script_id for p in week.planned}
    by_title = dict(week.unplanned)
    for script_id, title in week.titles.items():
        if script_id not in shown and week.timeouts_by_script.get(script_id):
            by_title.setdefault(title, 0)  # interrupted, never completed: still a row
    unplanned_timeouts: dict[str, int] = {}
    for script_id, count in week.timeouts_by_script.items():
        if script_id not in shown:
            title = week.titles.get(script_id, script_id)
            unplanned_timeouts[title] = unplanned_timeouts.get(title, 0) + count
    rows += [
        _Row(title, done, None, unplanned_timeouts.get(title, 0))
        for title, done in sorted(by_title.items())
    ]
    return {
        "label": week.label,
        "monday": week.monday,
        "rows": rows or [_Row("(no practice)", 0, None, 0)],
    }


def _calm_chart(report: Report, names: Names) -> dict[str, object] | None:
    """Grouped bars, 0-10, four per session (A before/after, B before/after), values written;
    None when nobody rated their calm."""
    sessions = [
        s
        for s in report.sessions
        if any(
            v is not None
            for v in (s.calm_before_a, s.calm_after_a, s.calm_before_b, s.calm_after_b)
        )
    ][-MAX_CHART_SESSIONS:]
    if not sessions:
        return None
    bar, gap, left, top, height = 9, 18, 28, 14, 120
    group = 4 * bar + gap
    width = left + group * len(sessions) + 8
    scale = height / 10.0
    marks = [
        {"value": mark, "y": f"{y:.1f}", "text_y": f"{y + 4:.1f}"}
        for mark in (0, 5, 10)
        for y in [top + height - mark * scale]
    ]
    bars: list[dict[str, object]] = []
    days: list[dict[str, object]] = []
    for n, s in enumerate(sessions):
        x0 = left + gap / 2 + n * group
        values = (
            (s.calm_before_a, "#b9d3ea", f"{names.a} before"),
            (s.calm_after_a, "#3f7cac", f"{names.a} after"),
            (s.calm_before_b, "#cfe5cf", f"{names.b} before"),
            (s.calm_after_b, "#4f8f5b", f"{names.b} after"),
        )
        for k, (value, colour, label) in enumerate(values):
            if value is None:
                continue
            x = x0 + k * bar
            h = max(1.5, value * scale)
            y = top + height - h
            bars.append(
                {
                    "x": f"{x:.1f}",
                    "y": f"{y:.1f}",
                    "h": f"{h:.1f}",
                    "colour": colour,
                    "label": label,
                    "value": value,
                    "text_x": f"{x + (bar - 1) / 2:.1f}",
                    "text_y": f"{y - 3:.1f}",
                }
            )
        days.append(
            {"x": f"{x0 + 2 * bar:.1f}", "y": top + height + 14, "text": f"{s.started_at:%d %b}"}
        )
    return {
        "width": width,
        "height": top + height + 34,
        "left": left,
        "bar": bar,
        "marks": marks,
        "bars": bars,
        "days": days,
    }


def calm_words(before: int | None, after: int | None) -> str:
    """One partner's calm ratings in words: "3 before, 7 after", "not rated before, 7 after"."""
    if before is None and after is None:
        return ""
    said = ("not rated" if value is None else str(value) for value in (before, after))
    return "{} before, {} after".format(*said)


def render_report(report: Report, fmt: ReportFormat, names: Names | None = None) -> str:
    """The report as text in the chosen format."""
    return to_csv(report) if fmt == "csv" else to_html(report, names)
