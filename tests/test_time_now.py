"""Every `remaining` a page or an API client is sent is as of the moment it is sent.

The real companion on a real server, on a fake clock: the runner publishes nothing
between deadlines, so a page that connects minutes into a break is sent a snapshot
taken minutes ago. What it reads must still agree with the engine's own deadline.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from waiting import wait_for
from web_support import into_the_break, serve
from websockets.sync.client import connect

from companion.app import Companion
from companion.core.clock import FakeClock
from companion.core.effects import Command, CommandName
from companion.options import Options
from companion.webapp.site import build_web_app

TOLERANCE = 0.1
"""The issue's bound: a page shows the deadline to within 100 ms."""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def companion(tmp_path: Path, clock: FakeClock) -> Iterator[Companion]:
    options = Options(voice=False, listen_engine="off", journal=False, data_dir=tmp_path)
    app = Companion(options, clock=clock)
    app.start()
    yield app
    app.close()


def page_state(host: str) -> dict[str, object]:
    """What a page is sent on connect: hello, then the state."""
    with connect(f"ws://{host}/ws", open_timeout=10) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["type"] == "hello"
        message = json.loads(ws.recv(timeout=10))
        while message["type"] != "state":
            message = json.loads(ws.recv(timeout=10))
    data = message["data"]
    assert isinstance(data, dict)
    return data


def api_state(host: str) -> dict[str, object]:
    connection = http.client.HTTPConnection(host, timeout=10)
    try:
        connection.request("GET", "/api/state")
        data = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("minutes_in", [0.0, 0.5, 3.25, 11.0, 19.5])
def test_a_page_connecting_mid_break_is_sent_the_break_as_it_is_now(
    companion: Companion, clock: FakeClock, minutes_in: float
) -> None:
    ends_at = into_the_break(companion, clock)
    clock.advance(minutes_in * 60)  # no deadline wakes the runner: the snapshot is old
    with serve(build_web_app(companion, set()), companion.hub) as host:
        for state in (page_state(host), api_state(host)):
            brk = state["break"]
            assert isinstance(brk, dict)
            assert abs(brk["remaining"] - (ends_at - clock.now())) < TOLERANCE
            assert state["phase"]["remaining"] == brk["remaining"]  # type: ignore[index]


def test_a_break_that_ended_while_nobody_was_told_reads_zero_never_negative(
    companion: Companion, clock: FakeClock
) -> None:
    ends_at = into_the_break(companion, clock)
    clock.set(ends_at + 90.0)
    with serve(build_web_app(companion, set()), companion.hub) as host:
        assert page_state(host)["break"]["remaining"] == 0.0  # type: ignore[index]
        assert api_state(host)["break"]["remaining"] == 0.0  # type: ignore[index]


def test_a_paused_break_reads_the_same_however_late_a_page_connects(
    companion: Companion, clock: FakeClock
) -> None:
    into_the_break(companion, clock)
    clock.advance(60.0)
    companion.submit(Command(CommandName.PAUSE))
    wait_for(lambda: companion.state()["status"] == "paused")
    paused = companion.state()["break"]
    clock.advance(3600.0)
    with serve(build_web_app(companion, set()), companion.hub) as host:
        assert page_state(host)["break"] == paused
        assert api_state(host)["break"] == paused
