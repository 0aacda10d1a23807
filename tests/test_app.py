"""The assembled companion: real library, real runner thread, captions only.

The voice and the microphone are off here (their adapters have their own real-stack
tests); these pin how the parts are wired together.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from companion.app import Companion, Options, script_info, spoken_lines
from companion.effects import Command, CommandName
from companion.loader import default_library_dir, load_library
from companion.script import Names


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until `condition()` is truthy; generous, since CI machines are slow."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture
def companion(tmp_path: Path) -> Iterator[Companion]:
    options = Options(
        voice=False,
        listen_engine="off",
        journal=False,
        data_dir=tmp_path,
        names=Names("Sam", "Alex"),
    )
    app = Companion(options)
    app.start()
    yield app
    app.close()


def test_the_companion_starts_with_captions_only_and_says_why(companion: Companion) -> None:
    status = companion.status()
    assert status["voice"] == {
        "on": False,
        "reason": "The voice is off (--no-voice), so the companion shows captions only.",
    }
    assert companion.state()["status"] == "idle"


def test_a_command_from_any_thread_drives_the_session_and_every_page_sees_it(
    companion: Companion,
) -> None:
    page = companion.hub.subscribe()
    companion.submit(Command(CommandName.START, script="slow-breathing"))
    state = wait_for(lambda: companion.state()["status"] == "running" and companion.state())
    assert state["script"] == {"id": "slow-breathing", "title": "Slow breathing"}
    companion.submit(Command(CommandName.PAUSE))
    wait_for(lambda: companion.state()["status"] == "paused")
    messages = wait_for(lambda: page.drain())
    assert any(m.type == "state" for m in messages)


def test_names_change_what_is_said(companion: Companion) -> None:
    companion.set_names(Names("Robin", "Kai"))
    companion.submit(Command(CommandName.START, script="speaker-listener"))
    wait_for(lambda: companion.state()["names"] == {"a": "Robin", "b": "Kai"})


def test_every_built_in_script_has_a_length_and_lines_to_render_ahead() -> None:
    library = load_library(default_library_dir())
    for script in library.values():
        info = script_info(script)
        assert info["seconds"] > 0, script.id
        assert spoken_lines(script, Names("Sam", "Alex"), library.get("time-out")), script.id
