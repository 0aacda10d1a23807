"""The web adapter on a real server with a real WebSocket client: protocol, validation, refusals."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from web_support import IDLE_STATE, SCRIPTS, STATUS, FakeController, serve
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from companion.core.effects import Command, CommandName
from companion.core.script import Names
from companion.webapp.inbound import MessageError, parse_message
from companion.webapp.routes import create_app


@dataclass
class Served:
    controller: FakeController
    host: str

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}/ws"

    def socket(self, origin: str | None = None) -> ClientConnection:
        return connect(self.ws_url, origin=origin, open_timeout=10)  # type: ignore[arg-type]

    def request(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, object]:
        connection = http.client.HTTPConnection(self.host, timeout=10)
        payload = None if body is None else json.dumps(body)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        try:
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        content_type = response.getheader("Content-Type", "")
        return response.status, json.loads(raw) if "json" in content_type else raw


@pytest.fixture
def served() -> Iterator[Served]:
    controller = FakeController()
    app = create_app(controller)
    with serve(app, controller.hub) as host:
        yield Served(controller, host)


def receive(ws: ClientConnection) -> dict[str, object]:
    message = json.loads(ws.recv(timeout=10))
    assert isinstance(message, dict)
    return message


def test_a_new_socket_gets_hello_with_the_library_then_the_state(served: Served) -> None:
    with served.socket() as ws:
        hello = receive(ws)
        assert hello == {
            "type": "hello",
            "data": {"version": 1, "scripts": SCRIPTS, "status": STATUS},
        }
        assert receive(ws) == {"type": "state", "data": IDLE_STATE}


def test_a_new_socket_gets_the_latest_published_state(served: Served) -> None:
    running = {**IDLE_STATE, "status": "running"}
    served.controller.hub.publish("state", running)
    with served.socket() as ws:
        assert receive(ws)["type"] == "hello"
        assert receive(ws) == {"type": "state", "data": running}


def test_a_command_on_the_socket_reaches_the_controller(served: Served) -> None:
    with served.socket() as ws:
        receive(ws), receive(ws)
        ws.send(
            json.dumps({"type": "command", "data": {"name": "start", "script": "slow-breathing"}})
        )
        assert served.controller.wait_for_command() == Command(
            CommandName.START, source="page", script="slow-breathing"
        )


def test_names_on_the_socket_reach_the_controller(served: Served) -> None:
    with served.socket() as ws:
        receive(ws), receive(ws)
        ws.send(json.dumps({"type": "names", "data": {"a": " Sam ", "b": "Alex"}}))
        ws.send(json.dumps({"type": "command", "data": {"name": "pause", "source": "key"}}))
        assert served.controller.wait_for_command() == Command(CommandName.PAUSE, source="key")
        assert served.controller.names == [Names(a="Sam", b="Alex")]


def test_a_signal_word_on_the_socket_reaches_the_controller_trimmed(served: Served) -> None:
    with served.socket() as ws:
        receive(ws), receive(ws)
        ws.send(json.dumps({"type": "signal", "data": {"phrase": "  red   light "}}))
        ws.send(json.dumps({"type": "signal", "data": {"phrase": ""}}))  # none of their own
        ws.send(json.dumps({"type": "command", "data": {"name": "pause"}}))
        served.controller.wait_for_command()
    assert served.controller.signals == ["red light", ""]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"phrase": 42}, "A break word must be text."),
        ({"phrase": ["pineapple"]}, "A break word must be text."),
        ({"word": "pineapple"}, "A break word needs exactly one field, 'phrase'."),
        ({"phrase": "pineapple", "lang": "en"}, "A break word needs exactly one field, 'phrase'."),
        ({"phrase": "x" * 41}, "A break word must be at most 40 characters."),
        ({"phrase": "we need a break now"}, "A break word must be at most 4 words."),
        (
            {"phrase": "pine4pple"},
            "A break word may use only letters, spaces and apostrophes, not “4”.",
        ),
        (
            {"phrase": "<b>break</b>"},
            "A break word may use only letters, spaces and apostrophes, not “<”.",
        ),
    ],
)
def test_a_malformed_signal_word_is_refused_saying_what_is_wrong_and_changes_nothing(
    served: Served, data: object, why: str
) -> None:
    with served.socket() as ws:
        receive(ws), receive(ws)
        ws.send(json.dumps({"type": "signal", "data": data}))
        # About the break word: the page shows it under the field, not as a passing toast.
        assert receive(ws) == {"type": "error", "data": {"message": why, "about": "signal"}}
        # The session goes on: the next message is acted on as usual.
        ws.send(json.dumps({"type": "command", "data": {"name": "pause"}}))
        assert served.controller.wait_for_command() == Command(CommandName.PAUSE)
    assert served.controller.signals == []


def test_published_messages_reach_every_open_socket(served: Served) -> None:
    with served.socket() as first, served.socket() as second:
        for ws in (first, second):
            receive(ws), receive(ws)
        served.controller.hub.publish("heard", {"text": "pause", "command": "pause"})
        for ws in (first, second):
            assert receive(ws) == {"type": "heard", "data": {"text": "pause", "command": "pause"}}


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1, 2]",
        json.dumps({"type": "dance", "data": {}}),
        json.dumps({"type": "command", "data": {"name": "explode"}}),
        json.dumps({"type": "command", "data": {"name": "timeout", "minutes": "twenty"}}),
        json.dumps({"type": "command", "data": {"name": "start", "script": "no-such-script"}}),
        json.dumps({"type": "command", "data": {"name": "start", "script": "x", "step": -1}}),
        json.dumps({"type": "command", "data": {"name": "start", "script": "x", "step": 1.5}}),
        json.dumps({"type": "names", "data": {"a": "", "b": "Alex"}}),
        json.dumps({"type": "names", "data": {"a": "x" * 5000, "b": "Alex"}}),
        json.dumps({"type": "signal", "data": {"phrase": "x" * 5000}}),
        json.dumps({"type": "signal", "data": "pineapple"}),
    ],
)
def test_a_malformed_message_gets_an_error_and_the_socket_stays_usable(
    served: Served, frame: str
) -> None:
    with served.socket() as ws:
        receive(ws), receive(ws)
        ws.send(frame)
        reply = receive(ws)
        assert reply["type"] == "error"
        message = reply["data"]["message"]  # type: ignore[index]
        assert isinstance(message, str) and message.endswith(".") and "\n" not in message
        ws.send(json.dumps({"type": "command", "data": {"name": "next"}}))
        assert served.controller.wait_for_command().name is CommandName.NEXT
    assert served.controller.names == []
    assert served.controller.signals == []


def test_a_binary_frame_gets_an_error(served: Served) -> None:
    with served.socket() as ws:
        receive(ws), receive(ws)
        ws.send(b'{"type": "command", "data": {"name": "stop"}}')
        assert receive(ws)["type"] == "error"
    assert served.controller.commands == []


def test_a_socket_from_a_foreign_origin_is_refused(served: Served) -> None:
    with pytest.raises(InvalidStatus) as refused:
        served.socket(origin="http://evil.example")
    assert refused.value.response.status_code == 403


def test_a_socket_from_the_page_own_origin_is_accepted(served: Served) -> None:
    with served.socket(origin=f"http://{served.host}") as ws:
        assert receive(ws)["type"] == "hello"


def test_a_command_post_from_a_foreign_origin_is_refused(served: Served) -> None:
    status, body = served.request(
        "POST", "/api/command", {"name": "stop"}, {"Origin": "http://evil.example"}
    )
    assert status == 403
    assert isinstance(body, dict) and "error" in body
    assert served.controller.commands == []


@pytest.mark.parametrize("path", ["/api/state", "/ws", "/"])
def test_a_wrong_host_is_refused_against_dns_rebinding(served: Served, path: str) -> None:
    port = served.host.rsplit(":", 1)[1]
    headers = {"Host": f"evil.example:{port}"}
    if path == "/ws":
        headers |= {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
        }
    status, _ = served.request("GET", path, headers=headers)
    assert status == 403


def test_the_api_serves_scripts_state_and_status_as_json(served: Served) -> None:
    assert served.request("GET", "/api/scripts") == (200, SCRIPTS)
    assert served.request("GET", "/api/state") == (200, IDLE_STATE)
    assert served.request("GET", "/api/status") == (200, STATUS)


def test_a_command_post_is_accepted_and_queued(served: Served) -> None:
    status, body = served.request(
        "POST",
        "/api/command",
        {"name": "timeout", "minutes": 30},
        {"Origin": f"http://{served.host}"},
    )
    assert (status, body) == (202, {"ok": True})
    assert served.controller.wait_for_command() == Command(CommandName.TIMEOUT, minutes=30.0)


def test_a_bad_command_post_gets_a_one_sentence_json_error(served: Served) -> None:
    status, body = served.request("POST", "/api/command", {"name": "fly"})
    assert status == 400
    assert body == {"error": "There is no command called 'fly'."}


def test_unknown_addresses_get_json_not_a_traceback(served: Served) -> None:
    status, body = served.request("GET", "/api/nothing-here")
    assert status == 404
    assert isinstance(body, dict) and isinstance(body["error"], str)
    status, body = served.request("GET", "/../companion/webapp/routes.py")
    assert status in (400, 404)


def test_the_page_is_served_with_a_strict_content_security_policy(served: Served) -> None:
    connection = http.client.HTTPConnection(served.host, timeout=10)
    connection.request("GET", "/")
    response = connection.getresponse()
    html = response.read().decode()
    connection.close()
    assert response.status == 200
    assert "<html" in html
    assert "default-src 'self'" in (response.getheader("Content-Security-Policy") or "")


def test_a_start_may_name_the_step_to_go_on_from() -> None:
    data = {"name": "start", "script": "slow-breathing", "step": 3}
    parsed = parse_message(json.dumps({"type": "command", "data": data}), {"slow-breathing"})
    assert parsed == Command(CommandName.START, script="slow-breathing", step=3)


def test_parse_message_accepts_each_command_name() -> None:
    for name in CommandName:
        data: dict[str, object] = {"name": name.value}
        if name is CommandName.START:
            data["script"] = "slow-breathing"
        if name is CommandName.READY:
            data["partner"] = "b"
        parsed = parse_message(json.dumps({"type": "command", "data": data}), {"slow-breathing"})
        assert isinstance(parsed, Command) and parsed.name is name


def test_coming_back_early_is_said_explicitly_and_only_as_true_or_false() -> None:
    data = {"name": "return", "early": True}
    parsed = parse_message(json.dumps({"type": "command", "data": data}))
    assert parsed == Command(CommandName.RETURN, early=True)
    assert parse_message(json.dumps({"type": "command", "data": {"name": "return"}})) == Command(
        CommandName.RETURN
    )
    with pytest.raises(MessageError, match=r"'early' must be true or false\."):
        parse_message(json.dumps({"type": "command", "data": {"name": "return", "early": 1}}))
