"""What `companion` tells the person at the terminal: the truth, quietly, `-v` for more."""

from __future__ import annotations

import http.client
import logging
from pathlib import Path

import pytest
from web_support import FakeController, serve

from companion.app import Companion
from companion.cli import main
from companion.listening.heard import ListenStatus
from companion.options import Options
from companion.webapp.routes import create_app


def test_companion_help_shows_the_options_of_companion_alone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for option in ("--port", "--no-browser", "--names", "--no-voice", "-v, --verbose"):
        assert option in out


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--port", "70000"], "70000 is not a port"),
        (["serve", "--port", "http"], "'http' is not a port number"),
        (["--volume", "5"], "5 is outside 0..1"),
        (["-v", "--volume", "-0.1"], "-0.1 is outside 0..1"),
    ],
)
def test_a_port_or_volume_out_of_range_is_refused_with_a_sentence(
    capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert said in capsys.readouterr().err


class FakeListener:
    """Stands in for `speech_in.Listener`: a status, changed by the test."""

    def __init__(self) -> None:
        self.now = ListenStatus(False, "off", "Loading the speech model…")

    def status(self) -> ListenStatus:
        return self.now

    def close(self) -> None:
        pass


def test_the_terminal_hears_each_change_of_listening_once(tmp_path: Path) -> None:
    said: list[str] = []
    options = Options(voice=False, listen_engine="off", journal=False, data_dir=tmp_path)
    companion = Companion(options, say=said.append)
    listener = FakeListener()
    companion._listener = listener
    try:
        companion._on_listen_status(listener.now)
        listener.now = ListenStatus(True, "pocketsphinx", "Listening with pocketsphinx.")
        companion._on_listen_status(listener.now)
        companion._on_listen_status(listener.now)  # a signal-word note: nothing new to say
        listener.now = ListenStatus(False, "pocketsphinx", "The microphone went away.")
        companion._on_listen_status(listener.now)
    finally:
        companion.close()
    listening = [line for line in said if line.startswith("listening")]
    assert listening == [
        "listening: off. Loading the speech model…",
        "listening: on (pocketsphinx).",
        "listening: off. The microphone went away.",
    ]


def test_requests_are_logged_only_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    controller = FakeController()
    with (
        caplog.at_level(logging.DEBUG),
        serve(create_app(controller), controller.hub) as host,
    ):
        connection = http.client.HTTPConnection(host, timeout=10)
        connection.request("GET", "/api/state")
        assert connection.getresponse().status == 200
        connection.close()
    requests = [r for r in caplog.records if "GET /api/state" in r.getMessage()]
    assert requests and all(r.levelno == logging.DEBUG for r in requests)
