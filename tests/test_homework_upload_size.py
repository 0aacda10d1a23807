"""A plan dropped on the page may be up to 256 KiB, although the app limits commands to 64 KiB."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from companion.practice.journal import Journal
from companion.practice.plan_check import MAX_PLAN_BYTES
from companion.webapp.homework_api import create_homework_blueprint
from companion.webapp.routes import MAX_FRAME_BYTES

BASE = {"base_url": "http://127.0.0.1:5000"}


def plan(padding: int) -> bytes:
    """A valid plan running this week, made `padding` characters longer by a comment."""
    today = date.today()
    text = f"""\
format = 1
id = "long-notes"
version = 1
title = "Until next session"
from = {today}
until = {today + timedelta(days=14)}

[[practice]]
script = "slow-breathing"
times_per_week = 3
# {"x" * padding}
"""
    return text.encode()


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    """The homework routes under the same app-wide request limit the real app sets."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_FRAME_BYTES
    app.register_blueprint(create_homework_blueprint(lambda: Journal(tmp_path)))
    return app.test_client()


def test_a_plan_larger_than_a_command_but_within_256_kib_is_imported(client: FlaskClient) -> None:
    body = plan(MAX_FRAME_BYTES + 10_000)
    assert MAX_FRAME_BYTES < len(body) <= MAX_PLAN_BYTES
    response = client.post("/api/homework?name=plan.toml", data=body, **BASE)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["result"] == "added"


def test_a_plan_over_256_kib_is_refused_with_a_sentence_and_not_stored(
    client: FlaskClient,
) -> None:
    response = client.post("/api/homework?name=plan.toml", data=plan(MAX_PLAN_BYTES), **BASE)
    assert response.status_code == 413
    assert response.get_json()["error"].startswith("The plan is larger than 256 KiB")
    assert client.get("/api/homework", **BASE).get_json()["plans"] == []
