"""Homework plans: validation with file:line errors, import rules, weekly progress, the API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from companion.cli import main
from companion.core.script import Script
from companion.library.loader import default_library_dir
from companion.practice.homework import (
    Plan,
    Practice,
    embedded_scripts,
    library_scripts,
    week_progress,
)
from companion.practice.journal import Journal
from companion.practice.plan_check import check_plan, check_plan_text, load_plan_text
from companion.webapp.homework_api import create_homework_blueprint

PLAN = """\
# Homework until our next appointment
format = 1
id = "spring-homework"
version = 1
title = "Until our next session"
from = 2025-03-03
until = 2025-04-30
note = "Practise when you are both rested."

[[practice]]
script = "slow-breathing"
times_per_week = 3

[[practice]]
id = "our-evening"
times_per_week = 2

[practice.script]
format = 1
title = "Our evening check-in"
summary = "A short check-in."

[[practice.script.step]]
kind = "say"
text = "How was your day, {a}?"

[[practice.script.step]]
kind = "silence"
seconds = 30
"""


def _edit(old: str, new: str) -> str:
    assert old in PLAN
    return PLAN.replace(old, new, 1)


@pytest.fixture(scope="module")
def library() -> dict[str, Script]:
    scripts = library_scripts()
    assert scripts is not None and "slow-breathing" in scripts
    return scripts


def test_a_plan_with_a_library_script_and_an_embedded_script_loads(
    library: dict[str, Script],
) -> None:
    plan = load_plan_text(PLAN, "plan.toml", library)
    assert (plan.id, plan.version, plan.title) == ("spring-homework", 1, "Until our next session")
    assert (plan.starts, plan.until) == (date(2025, 3, 3), date(2025, 4, 30))
    first, second = plan.practice
    assert (first.script_id, first.title, first.times_per_week, first.embedded) == (
        "slow-breathing",
        "Slow breathing",
        3,
        False,
    )
    assert (second.script_id, second.title, second.times_per_week) == (
        "our-evening",
        "Our evening check-in",
        2,
    )
    [script] = embedded_scripts([plan]).values()
    assert (script.id, len(script.steps)) == ("our-evening", 2)


MALFORMED = [
    ("bad TOML", _edit('title = "Until our next session"', "title = Until"), 5, "not valid TOML"),
    (
        "unknown top key",
        _edit("note =", "notes ="),
        8,
        'unknown key "notes" at the top; did you mean "note"?',
    ),
    (
        "unknown practice key",
        _edit("times_per_week = 3", "times_per_weak = 3"),
        12,
        'unknown key "times_per_weak" in [[practice]]; did you mean "times_per_week"?',
    ),
    (
        "wrong type",
        _edit("times_per_week = 3", 'times_per_week = "3"'),
        12,
        'times_per_week must be a whole number, from 1 to 14, got a string ("3");'
        " e.g. times_per_week = 3",
    ),
    ("missing title", _edit('title = "Until our next session"\n', ""), 1, "missing title"),
    (
        "out of range",
        _edit("times_per_week = 2", "times_per_week = 15"),
        16,
        "times_per_week must be from 1 to 14",
    ),
    (
        "wrong version",
        _edit("format = 1", "format = 2"),
        2,
        "written for a newer companion (format 2); this one reads format 1",
    ),
    ("version not a number", _edit("version = 1", "version = 1.5"), 4, "version must be a whole"),
    ("until before from", _edit("until = 2025-04-30", "until = 2025-02-01"), 7, "is before from"),
    ("date as text", _edit("from = 2025-03-03", 'from = "next monday"'), 6, "from must be a date"),
    (
        "unknown library script",
        _edit('script = "slow-breathing"', 'script = "slow-breathin"'),
        11,
        'no script "slow-breathin" in the library; did you mean "slow-breathing"?',
    ),
    ("embedded script error", _edit("seconds = 30", "seconds = -3"), 29, "seconds must be"),
    (
        "embedded script without a title",
        _edit('title = "Our evening check-in"\n', ""),
        18,
        "missing title",
    ),
    ("missing practice", PLAN[: PLAN.index("[[practice]]")], 1, "no [[practice]] table"),
    (
        "bad id",
        _edit('id = "spring-homework"', 'id = "Spring Homework"'),
        3,
        "id must be lowercase",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_a_malformed_plan_gives_file_line_error_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, message: str
) -> None:
    data = tmp_path / "data"
    good = tmp_path / "good.toml"
    good.write_text(PLAN)
    assert main(["homework", "add", str(good), "--data-dir", str(data)]) == 0
    with Journal(data) as journal:
        before = journal.plans()
    bad = tmp_path / "plan.toml"
    # As a newer version, the plan would replace the stored one if it were accepted.
    bad.write_text(text.replace("version = 1", "version = 2"))
    capsys.readouterr()
    assert main(["homework", "add", str(bad), "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:{line}: " in err
    [problem] = [e for e in err.splitlines() if f"{bad}:{line}: " in e]
    assert message in problem
    with Journal(data) as journal:
        assert journal.plans() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"# padding\n" * 30000, "larger than 256 KiB"),
        (b'format = 1\ntitle = "caf\xe9"\n', "not UTF-8"),
    ],
    ids=["huge file", "not utf-8"],
)
def test_huge_or_non_utf8_plan_files_are_refused_at_a_line(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "plan.toml"
    path.write_bytes(data)
    result = check_plan(path)
    assert result.plan is None
    [error] = result.errors
    assert error.startswith(f"{path}:") and message in error


def test_one_practice_table_per_script() -> None:
    text = PLAN + '\n[[practice]]\nscript = "slow-breathing"\ntimes_per_week = 1\n'
    result = check_plan_text(text, "plan.toml")
    assert result.plan is None
    assert result.errors == [
        'plan.toml:32: script "slow-breathing" is already assigned on line 11;'
        " give it one entry with the total times_per_week"
    ]


def test_a_plan_imported_twice_is_stored_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN)
    for _ in range(2):
        assert main(["homework", "add", str(plan), "--data-dir", str(tmp_path)]) == 0
    assert "already imported; nothing changed" in capsys.readouterr().out
    with Journal(tmp_path) as journal:
        assert [p.id for p in journal.plans()] == ["spring-homework"]


def test_a_newer_version_replaces_the_older_and_an_older_one_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v1, v2 = tmp_path / "v1.toml", tmp_path / "v2.toml"
    v1.write_text(PLAN)
    v2.write_text(
        _edit("version = 1", "version = 2").replace("times_per_week = 3", "times_per_week = 5")
    )
    assert main(["homework", "add", str(v1), "--data-dir", str(tmp_path)]) == 0
    assert main(["homework", "add", str(v2), "--data-dir", str(tmp_path)]) == 0
    assert "Replaced the older version" in capsys.readouterr().out
    assert main(["homework", "add", str(v1), "--data-dir", str(tmp_path)]) == 1
    assert "newer version (2)" in capsys.readouterr().err
    with Journal(tmp_path) as journal:
        [plan] = journal.plans()
    assert (plan.version, plan.practice[0].times_per_week) == (2, 5)
    assert main(["homework", "list", "--json", "--data-dir", str(tmp_path)]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["version"], listed["practice"][1]["embedded"]) == (2, True)


@dataclass(frozen=True)
class _Done:
    script_id: str
    started_at: datetime
    ending: str | None


def test_progress_counts_completed_sessions_of_each_script_in_the_iso_week() -> None:
    plan = Plan(
        "p",
        1,
        "Plan",
        date(2025, 3, 1),
        date(2025, 3, 31),
        "",
        (Practice("breathe", 3, "Breathe"), Practice("talk", 1, "Talk")),
    )
    wednesday = datetime(2025, 3, 5, 20, 0)
    sessions = [
        _Done("breathe", wednesday - timedelta(days=2), "completed"),  # Monday
        _Done("breathe", wednesday + timedelta(days=4), "completed"),  # Sunday
        _Done("breathe", wednesday, "stopped"),
        _Done("breathe", wednesday - timedelta(days=3), "completed"),  # the Sunday before
        _Done("talk", wednesday, "interrupted"),
    ]
    progress = week_progress([plan], sessions, wednesday.date())
    assert [(p.script_id, p.done, p.target) for p in progress] == [
        ("breathe", 2, 3),
        ("talk", 0, 1),
    ]
    assert week_progress([plan], sessions, date(2025, 4, 9)) == []


def test_homework_show_prints_this_weeks_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN)
    assert main(["homework", "add", str(plan), "--data-dir", str(tmp_path)]) == 0
    with Journal(tmp_path) as journal:
        session = journal.start_session(
            "slow-breathing", "Slow breathing", 5, datetime(2025, 3, 4, 9)
        )
        journal.end_session(session, "completed", datetime(2025, 3, 4, 9, 6))
    capsys.readouterr()
    args = ["homework", "show", "--week", "2025-03-05", "--data-dir", str(tmp_path)]
    assert main([*args, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["week"] == "2025-W10"
    assert [(p["script"], p["done"], p["target"]) for p in shown["progress"]] == [
        ("slow-breathing", 1, 3),
        ("our-evening", 0, 2),
    ]
    assert main(args) == 0
    assert "Slow breathing               1 of 3" in capsys.readouterr().out
    assert main(["homework", "show", "--week", "soon", "--data-dir", str(tmp_path)]) == 1
    assert (
        capsys.readouterr().err == "companion: --week takes a date like 2025-03-03, not 'soon'.\n"
    )


# -- the JSON API ---------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    app = Flask(__name__)
    app.register_blueprint(create_homework_blueprint(lambda: Journal(tmp_path)))
    return app.test_client()


BASE = {"base_url": "http://127.0.0.1:5000"}


def test_api_imports_a_plan_once_and_shows_it_as_this_weeks_homework(client: FlaskClient) -> None:
    text = _edit("from = 2025-03-03", f"from = {date.today()}").replace(
        "until = 2025-04-30", f"until = {date.today() + timedelta(days=30)}"
    )
    first = client.post(
        "/api/homework?name=plan.toml", data=text, content_type="text/plain", **BASE
    )
    assert (first.status_code, first.json["result"]) == (201, "added")  # type: ignore[index]
    again = client.post("/api/homework", json={"name": "plan.toml", "text": text}, **BASE)
    assert (again.status_code, again.json["result"]) == (200, "unchanged")  # type: ignore[index]
    week = client.get("/api/homework", **BASE).json
    assert week is not None
    assert [p["id"] for p in week["plans"]] == ["spring-homework"]
    assert [(p["script"], p["done"], p["target"]) for p in week["progress"]] == [
        ("slow-breathing", 0, 3),
        ("our-evening", 0, 2),
    ]


def test_api_refuses_a_malformed_plan_with_every_problem(client: FlaskClient) -> None:
    bad = _edit("times_per_week = 3", "times_per_week = 30")
    response = client.post("/api/homework?name=mine.toml", data=bad, **BASE)
    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] == (
        "This plan file has a mistake; ask your therapist for a corrected one."
    )
    assert response.json["kind"] == "mistake"
    assert response.json["problems"][0].startswith(
        "mine.toml:12: times_per_week must be from 1 to 14"
    )
    assert client.get("/api/homework?date=2025-03-05", **BASE).json["plans"] == []  # type: ignore[index]


def test_api_refuses_uploads_from_other_web_pages(client: FlaskClient) -> None:
    response = client.post(
        "/api/homework", data=PLAN, headers={"Origin": "http://evil.example"}, **BASE
    )
    assert response.status_code == 403
    assert client.get("/api/homework", base_url="http://evil.example").status_code == 403


def test_api_records_a_calm_rating_on_the_latest_session(
    client: FlaskClient, tmp_path: Path
) -> None:
    assert (
        client.post(
            "/api/journal/calm", json={"partner": "a", "moment": "after", "value": 7}, **BASE
        ).status_code
        == 409
    )
    with Journal(tmp_path) as journal:
        session = journal.start_session("grounding", "Grounding", 3, datetime(2025, 3, 4, 9))
    ok = client.post(
        "/api/journal/calm", json={"partner": "a", "moment": "after", "value": 7}, **BASE
    )
    assert (ok.status_code, ok.json) == (200, {"ok": True, "session": session})
    bad = client.post(
        "/api/journal/calm", json={"partner": "a", "moment": "after", "value": 12}, **BASE
    )
    assert bad.status_code == 400
    with Journal(tmp_path) as journal:
        record = journal.session(session)
    assert record is not None and record.calm_after_a == 7


def test_a_script_offered_as_a_plan_is_one_sentence_saying_so(client: FlaskClient) -> None:
    script = (default_library_dir() / "grounding.toml").read_text(encoding="utf-8")
    result = check_plan_text(script, "grounding.toml", library_scripts())
    assert (result.plan, result.is_script) == (None, True)
    [problem] = result.errors
    assert problem.startswith("grounding.toml:")
    assert "this is an exercise script, not a homework plan" in problem
    response = client.post("/api/homework?name=grounding.toml", data=script, **BASE)
    assert response.status_code == 400
    assert response.json == {
        "error": "This file is an exercise, not a homework plan; ask your therapist for the"
        " plan file.",
        "kind": "script",
        "problems": [problem],
    }
