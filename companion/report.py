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
from html import escape
from typing import Literal

from companion.homework import Plan, Progress, week_label, week_of, week_progress
from companion.journal import SessionRecord
from companion.script import Names

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

_STYLE = """
:root { color-scheme: light; --ink: #2b3440; --soft: #6b7785; --line: #dde3ea;
  --a1: #b9d3ea; --a2: #3f7cac; --b1: #cfe5cf; --b2: #4f8f5b; --bar: #8fb3d1; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
  max-width: 52rem; margin: 2rem auto; padding: 0 1.25rem; background: #fbfcfd; }
h1 { font-weight: 600; font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-weight: 600; font-size: 1.15rem; margin-top: 2.2rem;
  border-bottom: 1px solid var(--line); padding-bottom: .3rem; }
p.meta, p.quiet, td.quiet { color: var(--soft); }
table { border-collapse: collapse; width: 100%; margin-top: .6rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-weight: 600; font-size: .85rem; color: var(--soft); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.meter { display: inline-block; width: 7rem; height: .55rem; background: var(--line);
  border-radius: .3rem; overflow: hidden; vertical-align: middle; margin-left: .5rem; }
.meter > span { display: block; height: 100%; background: var(--bar); }
blockquote { margin: .4rem 0 0; padding: .4rem .9rem; border-left: 3px solid var(--bar);
  color: var(--ink); background: #f1f5f9; }
svg text { font: 11px system-ui, sans-serif; fill: var(--soft); }
.legend span { display: inline-block; margin-right: 1rem; font-size: .85rem; }
.legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem;
  vertical-align: -1px; border-radius: 2px; }
@media print {
  body { background: white; margin: 0; max-width: none; font-size: 11pt; }
  h2 { break-after: avoid; }
  tr, svg { break-inside: avoid; }
}
"""


def to_html(
    report: Report, names: Names | None = None, *, generated: datetime | None = None
) -> str:
    """A calm, printable, self-contained HTML report (inline CSS and SVG, no scripts)."""
    names = names or Names()
    when = (generated or datetime.now()).strftime("%d %B %Y")
    period = (
        f"Since {report.since:%d %B %Y}" if report.since else "Everything in the journal"
    ) + f", as of {when}."
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # Nothing may load from anywhere: the report is read offline and printed.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        "<title>Practice journal</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Practice journal</h1>",
        f'<p class="meta">{escape(period)} {_count(len(report.sessions), "session")}.</p>',
        '<p class="quiet">This report shows what was practised and how calm each of you felt. '
        "It holds nothing that was said: no audio and no words are ever kept.</p>",
    ]
    parts += _plans_html(report)
    parts += _weeks_html(report)
    parts += _calm_html(report, names)
    parts += _sessions_html(report, names)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _plans_html(report: Report) -> list[str]:
    if not report.plans:
        return []
    out = ["<h2>Homework</h2>"]
    for plan in report.plans:
        out.append(
            f"<p><strong>{escape(plan.title)}</strong> "
            f'<span class="quiet">({plan.starts:%d %b %Y} to {plan.until:%d %b %Y}, '
            f"version {plan.version})</span></p>"
        )
        items = ", ".join(
            f"{escape(p.title or p.script_id)}: {p.times_per_week} a week" for p in plan.practice
        )
        out.append(f"<p>{items}</p>")
        if plan.note:
            out.append(f"<blockquote>{escape(plan.note)}</blockquote>")
    return out


def _weeks_html(report: Report) -> list[str]:
    out = ["<h2>Practice per week</h2>"]
    if not report.weeks:
        return [*out, '<p class="quiet">No practice recorded yet.</p>']
    out.append(
        '<table><thead><tr><th>Week</th><th>Exercise</th><th class="num">Done</th>'
        '<th class="num">Planned</th><th></th><th class="num">Time-outs</th></tr></thead><tbody>'
    )
    for week in reversed(report.weeks):
        # Each row: title, done, planned, time-outs during that exercise's sessions.
        rows: list[tuple[str, int, int | None, int]] = [
            (p.script_title, p.done, p.target, week.timeouts_by_script.get(p.script_id, 0))
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
            (title, done, None, unplanned_timeouts.get(title, 0))
            for title, done in sorted(by_title.items())
        ]
        if not rows:
            rows = [("(no practice)", 0, None, 0)]
        for n, (title, done, target, timeouts) in enumerate(rows):
            head = f"{week.label}<br><small>{week.monday:%d %b}</small>" if n == 0 else ""
            meter = ""
            if target:
                fill = min(100, round(100 * done / target))
                meter = (
                    f'<span class="meter" title="{done} of {target}">'
                    f'<span style="width:{fill}%"></span></span>'
                )
            out.append(
                f'<tr><td>{head}</td><td>{escape(title)}</td><td class="num">{done}</td>'
                f'<td class="num">{"" if target is None else target}</td><td>{meter}</td>'
                f'<td class="num">{timeouts or ""}</td></tr>'
            )
    out.append("</tbody></table>")
    return out


def _calm_html(report: Report, names: Names) -> list[str]:
    rated = [
        s
        for s in report.sessions
        if any(
            v is not None
            for v in (s.calm_before_a, s.calm_after_a, s.calm_before_b, s.calm_after_b)
        )
    ][-MAX_CHART_SESSIONS:]
    out = ["<h2>How calm you felt, before and after</h2>"]
    if not rated:
        return [*out, '<p class="quiet">No calm ratings recorded.</p>']
    out.append(_calm_svg(rated, names))
    out.append(
        '<p class="legend">'
        f'<span><i style="background:var(--a1)"></i>{escape(names.a)} before</span>'
        f'<span><i style="background:var(--a2)"></i>{escape(names.a)} after</span>'
        f'<span><i style="background:var(--b1)"></i>{escape(names.b)} before</span>'
        f'<span><i style="background:var(--b2)"></i>{escape(names.b)} after</span></p>'
    )
    return out


def _calm_svg(sessions: Sequence[SessionRecord], names: Names) -> str:
    """Grouped bars, 0-10, four per session (A before/after, B before/after), values written."""
    bar, gap, left, top, height = 9, 18, 28, 14, 120
    group = 4 * bar + gap
    width = left + group * len(sessions) + 8
    total = top + height + 34
    scale = height / 10.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}" '
        f'viewBox="0 0 {width} {total}" role="img" aria-label="Calm ratings, 0 to 10, before '
        'and after each session">'
    ]
    for mark in (0, 5, 10):
        y = top + height - mark * scale
        parts.append(
            f'<line x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dde3ea"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{mark}</text>'
        )
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
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 1}" height="{h:.1f}" '
                f'fill="{colour}" rx="1"><title>{escape(label)}: {value}</title></rect>'
                f'<text x="{x + (bar - 1) / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                f'style="font-size:8px">{value}</text>'
            )
        parts.append(
            f'<text x="{x0 + 2 * bar:.1f}" y="{top + height + 14}" text-anchor="middle">'
            f"{s.started_at:%d %b}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _sessions_html(report: Report, names: Names) -> list[str]:
    out = ["<h2>Sessions</h2>"]
    if not report.sessions:
        return [*out, '<p class="quiet">No sessions recorded.</p>']
    out.append(
        "<table><thead><tr><th>When</th><th>Exercise</th><th>How it ended</th>"
        '<th class="num">Steps reached</th><th class="num">Minutes</th>'
        '<th class="num">Pauses</th><th class="num">Time-outs</th>'
        f"<th>Calm, {escape(names.a)}</th><th>Calm, {escape(names.b)}</th></tr></thead><tbody>"
    )
    for s in reversed(report.sessions):
        minutes = "" if s.minutes is None else f"{s.minutes:.1f}"
        out.append(
            f"<tr><td>{s.started_at:%a %d %b %Y, %H:%M}</td><td>{escape(s.script_title)}</td>"
            f"<td>{s.ending or 'running'}</td>"
            f'<td class="num">{s.steps_reached} of {s.total_steps}</td>'
            f'<td class="num">{minutes}</td><td class="num">{s.pauses}</td>'
            f'<td class="num">{s.timeouts}</td>'
            f"<td>{escape(calm_words(s.calm_before_a, s.calm_after_a))}</td>"
            f"<td>{escape(calm_words(s.calm_before_b, s.calm_after_b))}</td></tr>"
        )
    out.append("</tbody></table>")
    return out


def calm_words(before: int | None, after: int | None) -> str:
    """One partner's calm ratings in words: "3 before, 7 after", "not rated before, 7 after"."""
    if before is None and after is None:
        return ""
    said = ("not rated" if value is None else str(value) for value in (before, after))
    return "{} before, {} after".format(*said)


def render(report: Report, fmt: ReportFormat, names: Names | None = None) -> str:
    """The report as text in the chosen format."""
    return to_csv(report) if fmt == "csv" else to_html(report, names)
