"""The therapist's report: CSV rows and the HTML page match what the journal holds."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from companion.cli import main
from companion.homework import Plan, Practice
from companion.homework_api import create_homework_blueprint
from companion.journal import Journal
from companion.report import CSV_COLUMNS, build_report, to_csv, to_html

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
    assert '<td class="num">1</td><td>2 &rarr; 4</td><td>3 &rarr; 5</td>' in html
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
