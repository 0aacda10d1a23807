"""The therapist's report: CSV rows and the HTML page match what the journal holds."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from companion.cli import main
from companion.core.script import Names
from companion.practice.homework import Plan, Practice
from companion.practice.journal import Journal
from companion.practice.report import CSV_COLUMNS, build_report, to_csv, to_html
from companion.webapp.homework_api import create_homework_blueprint

MONDAY = datetime(2025, 3, 3, 20, 0)
PLAN = Plan(
    "march",
    1,
    "Homework for March",
    date(2025, 3, 1),
    date(2025, 3, 31),
    "Gently, and only when you both have time.",
    (
        Practice("slow-breathing", 3, "Slow breathing"),
        Practice("speaker-listener", 1, "Speaker <and> listener"),
    ),
)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    """A journal with four sessions over two weeks, ratings on some, and the March plan."""
    opened = Journal(tmp_path)
    rows = [
        # (day offset, script, title, ending, steps, pauses, timeouts, calm a/b before/after)
        (0, "slow-breathing", "Slow breathing", "completed", 5, 0, 0, (3, 7, 4, 6)),
        (2, "slow-breathing", "Slow breathing", "completed", 5, 1, 0, (5, 8, None, None)),
        (3, "speaker-listener", "Speaker <and> listener", "stopped", 4, 2, 1, (2, 4, 3, 5)),
        (8, "grounding", "Grounding", "completed", 6, 0, 0, (None, None, None, None)),
    ]
    for offset, script, title, ending, steps, pauses, timeouts, calm in rows:
        start = MONDAY + timedelta(days=offset)
        session = opened.start_session(script, title, steps + 1, start)
        opened.update_session(session, steps_completed=steps)
        for _ in range(pauses):
            opened.update_session(session, add_pause=True)
        for _ in range(timeouts):
            opened.update_session(session, add_timeout=True)
        opened.end_session(session, ending, start + timedelta(minutes=6))  # type: ignore[arg-type]
        for (partner, moment), value in zip(
            (("a", "before"), ("a", "after"), ("b", "before"), ("b", "after")), calm, strict=True
        ):
            opened.set_calm(session, partner, moment, value)  # type: ignore[arg-type]
    opened.save_plan(PLAN, MONDAY)
    yield opened
    opened.close()


def test_csv_has_one_row_per_session_matching_the_journal(journal: Journal) -> None:
    sessions = journal.sessions()
    report = build_report(sessions, journal.plans(), date(2025, 3, 20))
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(sessions) == 4
    for row, session in zip(rows, sessions, strict=True):
        assert row["id"] == str(session.id)
        assert row["title"] == session.script_title
        assert row["started_at"] == session.started_at.isoformat()
        assert row["ending"] == session.ending
        assert (row["pauses"], row["timeouts"]) == (str(session.pauses), str(session.timeouts))
        assert row["calm_before_a"] == (
            "" if session.calm_before_a is None else str(session.calm_before_a)
        )
        assert row["minutes"] == "6.0"
    assert rows[0]["week"] == "2025-W10" and rows[3]["week"] == "2025-W11"


def test_csv_cells_cannot_become_spreadsheet_formulas(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.start_session("x", "=HYPERLINK(1)", 1, MONDAY)
        report = build_report(journal.sessions(), [], MONDAY.date())
    [row] = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert row["title"] == "'=HYPERLINK(1)"


def test_html_shows_practice_per_week_against_the_plan_calm_chart_and_timeouts(
    journal: Journal,
) -> None:
    report = build_report(journal.sessions(), journal.plans(), date(2025, 3, 20))
    html = to_html(report)
    # Practice per week: W10 had 2 of 3 breathing sessions; the stopped talk is not done.
    week10 = html[html.index("2025-W10") :]
    assert re.search(r"Slow breathing</td><td class=\"num\">2</td><td class=\"num\">3</td>", week10)
    assert re.search(
        r"Speaker &lt;and&gt; listener</td><td class=\"num\">0</td><td class=\"num\">1</td>", week10
    )
    # W11: grounding practised though not planned, breathing not yet.
    week11 = html[html.index("2025-W11") : html.index("2025-W10")]
    assert 'Grounding</td><td class="num">1</td><td class="num"></td>' in week11
    # The chart: one bar per rating, each with its value.
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert svg.count("<rect") == 10
    assert "Partner A before: 3</title>" in svg and "Partner B after: 5</title>" in svg
    # Time-outs per session, and the therapist's note.
    assert '<td class="num">1</td><td>2 before, 4 after</td><td>3 before, 5 after</td>' in html
    assert "Gently, and only when you both have time." in html
    assert "<and>" not in html


def test_html_is_self_contained_and_runs_no_scripts(journal: Journal) -> None:
    html = to_html(build_report(journal.sessions(), journal.plans(), date(2025, 3, 20)))
    assert "<script" not in html.lower()
    assert not re.search(r"\b(src|href)\s*=", html)
    assert "@import" not in html and "url(" not in html
    assert "@media print" in html


def test_cli_export_writes_the_report_to_a_file_since_a_date(
    journal: Journal, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.csv"
    args = ["journal", "export", "--format", "csv", "--since", "2025-03-06"]
    assert main([*args, "--out", str(out), "--data-dir", str(journal.data_dir)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [row["script"] for row in rows] == ["speaker-listener", "grounding"]
    assert main(["journal", "export", "--data-dir", str(journal.data_dir)]) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")
    assert main(["journal", "export", "--since", "March", "--data-dir", str(journal.data_dir)]) == 1
    assert (
        capsys.readouterr().err == "companion: --since takes a date like 2025-03-03, not 'March'.\n"
    )


def test_api_export_serves_a_download_the_browser_cannot_run_scripts_in(journal: Journal) -> None:
    app = Flask(__name__)
    app.register_blueprint(create_homework_blueprint(lambda: Journal(journal.data_dir)))
    client = app.test_client()
    csv_response = client.get("/api/journal/export?format=csv", base_url="http://127.0.0.1:8000")
    assert csv_response.status_code == 200
    assert csv_response.mimetype == "text/csv"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    assert len(list(csv.DictReader(io.StringIO(csv_response.text)))) == 4
    html = client.get(
        "/api/journal/export?format=html&download=0", base_url="http://127.0.0.1:8000"
    )
    assert html.mimetype == "text/html" and "Content-Disposition" not in html.headers
    assert "default-src 'none'" in html.headers["Content-Security-Policy"]
    bad = client.get("/api/journal/export?format=pdf", base_url="http://127.0.0.1:8000")
    assert (bad.status_code, bad.json) == (400, {"error": "format is html or csv."})


# -- a week driven through the real engine and recorder, then read back ---------------------


class Couple:
    """Runs the real engine on a fake clock and journals its milestones, as the app does."""

    def __init__(self, data_dir: Path, day: datetime) -> None:
        from companion.core.engine import Engine
        from companion.library.loader import default_library_dir, load_library
        from companion.practice.recorder import JournalRecorder

        self.library = dict(load_library(default_library_dir()))
        self.engine = Engine(self.library, speech_seconds=lambda text: 2.0)
        self.recorder = JournalRecorder(data_dir, self.library.get)
        self.day = day
        self.now = 0.0

    def do(self, name: str, **fields: Any) -> None:
        from companion.core.effects import Command, CommandName

        self._journal(self.engine.handle(Command(CommandName(name), **fields), self.now))

    def wait(self, until: Callable[[dict[str, Any]], bool]) -> None:
        """Let time pass (ticks only) until the state satisfies `until`."""
        from companion.core.engine import Tick

        while not until(self.engine.snapshot(self.now)):
            deadline = self.engine.next_deadline()
            assert deadline is not None, self.engine.snapshot(self.now)
            self.now = deadline
            self._journal(self.engine.handle(Tick(), self.now))

    def step(self) -> int:
        return int(self.engine.snapshot(self.now)["step"]["index"])

    def _journal(self, effects: list[Any]) -> None:
        from companion.core.effects import Milestone

        for effect in effects:
            if isinstance(effect, Milestone):
                self.recorder.record(effect, self.day + timedelta(seconds=self.now))


def waiting_for(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda state: bool(state["waiting"]) and state["waiting"]["for"] == kind


def test_the_report_and_the_list_match_the_journal_field_by_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Monday: grounding, from start to end, untouched.
    couple = Couple(tmp_path, MONDAY)
    couple.do("start", script="grounding")
    couple.wait(lambda state: state["status"] == "ended")
    # Tuesday: speaker-listener; Alex speaks first; Next to step 9; a time-out; then a stop.
    couple.day, couple.now = MONDAY + timedelta(days=1), 0.0
    couple.do("start", script="speaker-listener")
    couple.wait(waiting_for("role"))
    couple.do("ready", partner="b")
    while couple.step() < 8:
        couple.do("next")
    couple.do("pause")
    couple.do("resume")
    couple.do("timeout")
    couple.wait(waiting_for("return"))
    couple.do("return")
    couple.wait(lambda state: state["timeout"] is None)
    couple.do("stop")
    # Wednesday: the daily check-in, a time-out, and then the power goes.
    couple.day, couple.now = MONDAY + timedelta(days=2), 0.0
    couple.do("start", script="daily-check-in")
    couple.wait(waiting_for("role"))
    couple.do("ready", partner="a")
    couple.do("timeout")
    couple.recorder.close()
    # Thursday: a time-out on its own, ended at the choice.
    couple = Couple(tmp_path, MONDAY + timedelta(days=3))
    couple.do("timeout")
    couple.wait(waiting_for("return"))
    couple.do("stop")
    couple.recorder.close()

    with Journal(tmp_path) as journal:
        sessions = journal.sessions()
        journal.set_calm(sessions[0].id, "a", "before", 3)
        journal.set_calm(sessions[0].id, "a", "after", 7)
        journal.set_calm(sessions[0].id, "b", "after", 6)
        sessions = journal.sessions()
    library = couple.library
    total = {key: len(library[key].steps) for key in library}
    got = [
        (s.script_id, s.ending, s.steps_reached, s.total_steps, s.pauses, s.timeouts)
        for s in sessions
    ]
    assert got == [
        ("grounding", "completed", total["grounding"], total["grounding"], 0, 0),
        ("speaker-listener", "stopped", 9, total["speaker-listener"], 1, 1),
        ("daily-check-in", "interrupted", 4, total["daily-check-in"], 0, 1),
        ("time-out", "stopped", 4, total["time-out"], 0, 0),
    ]

    report = build_report(sessions, [], date(2025, 3, 9))
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    for row, s in zip(rows, sessions, strict=True):
        assert row == {
            "id": str(s.id),
            "week": "2025-W10",
            "script": s.script_id,
            "title": s.script_title,
            "started_at": s.started_at.isoformat(),
            "ended_at": s.ended_at.isoformat() if s.ended_at else "",
            "minutes": "" if s.minutes is None else f"{s.minutes:.1f}",
            "ending": s.ending,
            "steps_reached": str(s.steps_reached),
            "steps_completed": str(s.steps_completed),
            "total_steps": str(s.total_steps),
            "pauses": str(s.pauses),
            "timeouts": str(s.timeouts),
            "calm_before_a": "" if s.calm_before_a is None else str(s.calm_before_a),
            "calm_after_a": "" if s.calm_after_a is None else str(s.calm_after_a),
            "calm_before_b": "" if s.calm_before_b is None else str(s.calm_before_b),
            "calm_after_b": "" if s.calm_after_b is None else str(s.calm_after_b),
        }

    html = to_html(report, Names("Sam", "Alex"))
    table = html[html.index("<h2>Sessions</h2>") :]
    for s in sessions:
        start = table.index(f"<td>{s.started_at:%a %d %b %Y, %H:%M}</td>")
        cells = table[start : table.index("</tr>", start)]
        assert f"<td>{s.script_title}</td><td>{s.ending}</td>" in cells
        assert f'<td class="num">{s.steps_reached} of {s.total_steps}</td>' in cells
        assert f'<td class="num">{s.pauses}</td><td class="num">{s.timeouts}</td>' in cells
    assert "<td>3 before, 7 after</td><td>not rated before, 6 after</td>" in table
    # The week: each time-out on the row of the exercise it interrupted, none on grounding's.
    week = html[html.index("Practice per week") : html.index("<h2>How calm")]
    assert re.search(r"<td>Grounding: 5-4-3-2-1</td>(<td[^>]*>[^<]*</td>){3}<td[^>]*></td>", week)
    assert re.search(r"<td>Speaker and listener</td>.*?<td class=\"num\">1</td></tr>", week)
    assert re.search(r"<td>Daily check-in</td>.*?<td class=\"num\">1</td></tr>", week)

    assert main(["journal", "list", "--names", "Sam,Alex", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert f"reached step {total['grounding']} of {total['grounding']}" in lines[0]
    assert "calm, Sam: 3 before, 7 after  calm, Alex: not rated before, 6 after" in lines[0]
    assert "stopped" in lines[1] and f"reached step 9 of {total['speaker-listener']}" in lines[1]
    assert "1 pause  1 time-out" in lines[1]
    assert "interrupted" in lines[2] and "1 time-out" in lines[2]
