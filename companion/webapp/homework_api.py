"""JSON routes for homework and the journal, for the page: a thin adapter over the journal.

`create_homework_blueprint(journal_factory)` gives GET/POST /api/homework,
GET /api/journal/export and POST /api/journal/calm. Each request opens its own
journal and closes it; validation is the same as `companion homework add`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from companion.core.errors import CompanionError
from companion.core.script import Names, Script
from companion.practice.homework import library_scripts, week_label, week_of, week_progress
from companion.practice.journal import Journal
from companion.practice.plan_check import MAX_PLAN_BYTES, check_plan_bytes
from companion.practice.report import build_report, render_report

logger = logging.getLogger(__name__)

REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
"""The report loads nothing from anywhere and runs no scripts."""
MAX_CALM_BYTES = 1024


PLAN_MISTAKE = "This plan file has a mistake; ask your therapist for a corrected one."
SCRIPT_NOT_PLAN = (
    "This file is an exercise, not a homework plan; ask your therapist for the plan file."
)


def _error(message: str, status: int, **extra: Any) -> Response:
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def _day(name: str) -> date | None:
    text = request.args.get(name)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CompanionError(f"{name} takes a date like 2025-03-03.") from None


def create_homework_blueprint(
    journal_factory: Callable[[], Journal],
    *,
    scripts: Callable[[], Mapping[str, Script] | None] = library_scripts,
    on_change: Callable[[], None] | None = None,
    names: Callable[[], Names] = Names,
) -> Blueprint:
    """Routes for this week's homework, importing a plan, calm ratings and the report."""
    bp = Blueprint("homework", __name__)

    @bp.before_request
    def check_origin() -> Response | None:
        # A plan upload is a "simple" cross-site request: refuse foreign Host/Origin like
        # /api, and devices that are not paired.
        from companion.webapp.guard import request_refusal

        refused = request_refusal(request.environ, current_app.config)
        return None if refused is None else _error(*refused)

    @bp.errorhandler(CompanionError)
    def companion_error(error: CompanionError) -> Response:
        return _error(str(error), 400)

    @bp.get("/api/homework")
    def homework() -> Response:
        day = _day("date") or date.today()
        monday, sunday = week_of(day)
        with journal_factory() as journal:
            plans = [plan for plan in journal.plans() if plan.overlaps(monday, sunday)]
            progress = week_progress(plans, journal.sessions(monday), day)
        return jsonify(
            {
                "week": week_label(day),
                "from": monday.isoformat(),
                "until": sunday.isoformat(),
                "plans": [plan.to_json() for plan in plans],
                "progress": [item.to_json() for item in progress],
            }
        )

    @bp.post("/api/homework")
    def add_plan() -> Response:
        name = (request.args.get("name") or "plan.toml")[:200]
        if request.content_length is not None and request.content_length > MAX_PLAN_BYTES:
            return _error("The plan is larger than 256 KiB; a plan is a few KiB of text.", 413)
        # The app's 64 KiB limit is sized for commands; a plan may be up to 256 KiB (Flask 3.1+).
        request.max_content_length = MAX_PLAN_BYTES + 1
        data = request.stream.read(MAX_PLAN_BYTES + 1)
        if request.mimetype == "application/json":
            body = _json(data)
            if not isinstance(body, dict) or not isinstance(body.get("text"), str):
                return _error('Send {"name": "plan.toml", "text": "..."} or the file itself.', 400)
            name = str(body.get("name") or name)[:200]
            data = body["text"].encode("utf-8")
        result = check_plan_bytes(data, name, scripts())
        if result.plan is None:
            # The couple did not write the file: say what to do, and keep the details
            # (file:line, for whoever wrote it) for the page to fold away.
            said = SCRIPT_NOT_PLAN if result.is_script else PLAN_MISTAKE
            kind = "script" if result.is_script else "mistake"
            return _error(said, 400, problems=result.errors, kind=kind)
        with journal_factory() as journal:
            outcome = journal.save_plan(result.plan, datetime.now())
        if on_change is not None and outcome != "unchanged":
            on_change()  # e.g. the running companion adds the plan's embedded scripts
        response = jsonify(
            {
                "ok": True,
                "result": outcome,
                "plan": result.plan.to_json(),
                "warnings": result.warnings,
            }
        )
        response.status_code = 200 if outcome == "unchanged" else 201
        return response

    @bp.post("/api/journal/calm")
    def calm() -> Response:
        data = request.stream.read(MAX_CALM_BYTES + 1)
        body = _json(data) if len(data) <= MAX_CALM_BYTES else None
        if not isinstance(body, dict):
            return _error('Send {"partner": "a", "moment": "before", "value": 6}.', 400)
        partner, moment, value = body.get("partner"), body.get("moment"), body.get("value")
        if partner not in ("a", "b") or moment not in ("before", "after"):
            return _error('partner is "a" or "b" and moment is "before" or "after".', 400)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return _error("A calm rating is a whole number from 0 to 10.", 400)
        session = body.get("session")
        if session is not None and (isinstance(session, bool) or not isinstance(session, int)):
            return _error("session is a session id number.", 400)
        with journal_factory() as journal:
            if session is None:
                latest = journal.sessions()
                if not latest:
                    return _error("There is no session to rate yet.", 409)
                session = latest[-1].id
            journal.set_calm(session, partner, moment, value)
        return jsonify({"ok": True, "session": session})

    @bp.get("/api/journal/export")
    def export() -> Response:
        fmt = request.args.get("format", "html")
        if fmt not in ("html", "csv"):
            return _error("format is html or csv.", 400)
        since = _day("since")
        with journal_factory() as journal:
            report = build_report(journal.sessions(), journal.plans(), date.today(), since)
        text = render_report(report, "csv" if fmt == "csv" else "html", names())
        kind = "text/csv" if fmt == "csv" else "text/html"
        response = Response(text, content_type=f"{kind}; charset=utf-8")
        if request.args.get("download", "1") != "0":
            filename = f"companion-journal-{date.today().isoformat()}.{fmt}"
            response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        response.headers["Content-Security-Policy"] = REPORT_CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp


def _json(data: bytes) -> object:
    """The JSON in a request body; None when it is not JSON, CompanionError (400) when it
    nests deeper than anything the page sends."""
    import json

    from companion.library.nesting import MAX_NESTING, json_too_deep

    text = data.decode("utf-8", "replace")
    if json_too_deep(text):
        raise CompanionError(f"That request nests more than {MAX_NESTING} levels deep.")
    try:
        return json.loads(text)
    except ValueError:
        return None
