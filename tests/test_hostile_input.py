"""Hostile input, each case the attack it guards against: deep nesting, huge plans and
scripts, and answers that must carry the security headers whatever route or error."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from web_support import FakeController

from companion.library.limits import MAX_STEPS
from companion.library.loader import check_script_text
from companion.library.nesting import MAX_NESTING
from companion.practice.journal import Journal
from companion.practice.plan_check import MAX_EMBEDDED_BYTES, MAX_PLAN_BYTES, check_plan_bytes
from companion.webapp.guard import SECURITY_HEADERS
from companion.webapp.homework_api import create_homework_blueprint
from companion.webapp.page_socket import _handle_client_message
from companion.webapp.routes import create_app

BASE = {"base_url": "http://127.0.0.1:5000"}
FOREIGN = {"base_url": "http://evil.example:5000"}
DEEP_JSON = "[" * 5000 + "]" * 5000
DEEP_TOML = "x = " + "[" * 5000 + "]" * 5000 + "\n"
TODAY = date.today()
PLAN_HEAD = f"""\
format = 1
id = "p"
version = 1
title = "Until next time"
from = {TODAY}
until = {TODAY + timedelta(days=14)}
"""


@pytest.fixture
def client(tmp_path: Path) -> Iterator[FlaskClient]:
    """The app as `companion serve` builds it: page and API, homework and journal."""
    app = create_app(FakeController())
    app.register_blueprint(create_homework_blueprint(lambda: Journal(tmp_path)))
    yield app.test_client()


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING)
    yield
    assert [r for r in caplog.records if r.exc_info] == [], "a traceback was logged"


# -- nesting -----------------------------------------------------------------------------


def test_deeply_nested_json_on_the_socket_gets_one_sentence_and_no_traceback(
    no_tracebacks: None,
) -> None:
    message = '{"type": "command", "data": ' + DEEP_JSON[:3000] + DEEP_JSON[-3000:] + "}"
    refusal = _handle_client_message(message[:4000], FakeController())
    assert refusal is not None
    assert refusal.message == f"Messages must not nest more than {MAX_NESTING} levels deep."


def test_deeply_nested_json_posted_as_a_command_is_a_one_line_400(
    client: FlaskClient, no_tracebacks: None
) -> None:
    response = client.post("/api/command", data=DEEP_JSON[:2000] + DEEP_JSON[-2000:], **BASE)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": f"Commands must not nest more than {MAX_NESTING} levels deep."
    }


def test_deeply_nested_toml_posted_as_a_plan_is_a_one_line_400(
    client: FlaskClient, no_tracebacks: None
) -> None:
    response = client.post("/api/homework?name=plan.toml", data=PLAN_HEAD + DEEP_TOML, **BASE)
    assert response.status_code == 400
    body = response.get_json()
    assert body["problems"] == [
        f"plan.toml:7: nested more than {MAX_NESTING} levels deep; a plan is a few flat tables"
    ]


def test_deeply_nested_json_around_a_plan_is_a_one_line_400(
    client: FlaskClient, no_tracebacks: None
) -> None:
    response = client.post("/api/homework", data=DEEP_JSON, content_type="application/json", **BASE)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": f"That request nests more than {MAX_NESTING} levels deep."
    }


def test_a_deeply_nested_script_is_one_problem_with_its_line() -> None:
    result = check_script_text('format = 1\ntitle = "Deep"\n' + DEEP_TOML, "deep.toml")
    assert result.errors == [
        f"deep.toml:3: nested more than {MAX_NESTING} levels deep; a script is a list of flat steps"
    ]


# -- size and cost -----------------------------------------------------------------------


def test_a_plan_of_thousands_of_unknown_keys_up_to_the_size_limit_reports_every_one() -> None:
    # Checking such a plan used to cost the square of its size (489 s of CPU at 256 KiB).
    lines: list[str] = []
    size = len(PLAN_HEAD)
    while size < MAX_PLAN_BYTES - 40:
        line = f"unknown_key_{len(lines)} = {len(lines)}\n"
        lines.append(line)
        size += len(line)
    result = check_plan_bytes((PLAN_HEAD + "".join(lines)).encode(), "plan.toml", {})
    unknown = [e for e in result.errors if "unknown key" in e]
    assert len(unknown) == len(lines) > 10_000
    assert unknown[-1].startswith(f"plan.toml:{6 + len(lines)}: ")


def practice_with(script_body: str) -> str:
    return (
        PLAN_HEAD
        + '\n[[practice]]\nid = "ours"\ntimes_per_week = 1\n\n[practice.script]\n'
        + 'format = 1\ntitle = "Ours"\nsummary = "A long one."\n'
        + script_body
    )


def test_an_embedded_script_over_the_size_cap_is_refused_saying_where_to_put_it() -> None:
    step = '\n[[practice.script.step]]\nkind = "silence"\nseconds = 1\ncaption = "{}"\n'
    body = "".join(step.format("x" * 200) for _ in range(MAX_EMBEDDED_BYTES // 200))
    result = check_plan_bytes(practice_with(body).encode(), "plan.toml", {})
    assert result.plan is None
    [error] = result.errors
    assert error.startswith('plan.toml:12: the embedded script "ours" is ')
    assert error.endswith(
        "KiB; an embedded script is at most 32 KiB (put a longer one in the library)"
    )


def test_a_script_of_thousands_of_steps_is_refused_at_the_first_one_too_many() -> None:
    steps = '[[step]]\nkind = "silence"\nseconds = 1\n' * 5344
    result = check_script_text('format = 1\ntitle = "Long"\nsummary = "x"\n' + steps, "long.toml")
    first_too_many = 4 + MAX_STEPS * 3
    assert result.errors == [
        f"long.toml:{first_too_many}: 5344 [[step]] tables; a script has at most {MAX_STEPS}:"
        " split it into several scripts"
    ]


# -- security headers on every answer ------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "base"),
    [
        ("get", "/", BASE),
        ("get", "/api/state", BASE),
        ("get", "/api/homework", BASE),
        ("get", "/api/journal/export?format=csv", BASE),
        ("post", "/api/journal/calm", BASE),
        ("get", "/api/homework", FOREIGN),
        ("post", "/api/homework", FOREIGN),
        ("get", "/no/such/page", BASE),
        ("delete", "/api/state", BASE),
    ],
)
def test_every_answer_carries_the_security_headers_refusals_and_errors_too(
    client: FlaskClient, method: str, path: str, base: dict[str, str]
) -> None:
    response = getattr(client, method)(path, **base)
    response.close()
    for name, value in SECURITY_HEADERS:
        if name == "Content-Security-Policy" and path.startswith("/api/journal/export"):
            assert response.headers[name].startswith("default-src 'none'")  # its own, stricter
        else:
            assert response.headers.get(name) == value, (name, response.status_code)
