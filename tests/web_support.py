"""For the web and browser tests: a recording fake controller, a real server on a free port.

The fake stands in for `companion.app.Companion` where a test pins only the web layer.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from waiting import wait_for

from companion.app import Companion
from companion.core.clock import Clock, FakeClock
from companion.core.effects import Command, CommandName
from companion.core.engine import Engine
from companion.core.script import Names
from companion.options import Options
from companion.webapp.hub import Hub
from companion.webapp.server import ServerLimits, make_companion_server

SCRIPTS: list[dict[str, object]] = [
    {
        "id": "slow-breathing",
        "title": "Slow breathing",
        "summary": "Breathe in for four, out for six.",
        "tags": ["breathing"],
        "seconds": 300,
    },
    {
        "id": "speaker-listener",
        "title": "Speaker and listener",
        "summary": "Take turns: one speaks, one listens and says back.",
        "tags": ["talk"],
        "seconds": 900,
    },
]

IDLE_STATE: dict[str, object] = Engine({}, names=Names("Sam", "Alex")).snapshot(0.0)
"""The engine's own idle state, so the fake cannot drift from it."""

STATUS: dict[str, object] = {
    "voice": {"on": False, "reason": "Captions only: no sound device was found."},
    "listening": {"on": False, "engine": "off", "reason": "No microphone was found."},
}


class FakeController:
    """Records what the page asked for; publishes nothing unless a test does."""

    def __init__(self) -> None:
        self.hub = Hub()
        self.commands: list[Command] = []
        self.names: list[Names] = []
        self.signals: list[str] = []
        self.received = threading.Condition()

    def submit(self, command: Command) -> None:
        with self.received:
            self.commands.append(command)
            self.received.notify_all()

    def set_names(self, names: Names) -> None:
        with self.received:
            self.names.append(names)
            self.received.notify_all()

    def set_signal(self, phrase: str) -> None:
        with self.received:
            self.signals.append(phrase)
            self.received.notify_all()

    def scripts(self) -> list[dict[str, object]]:
        return SCRIPTS

    def status(self) -> dict[str, object]:
        return STATUS

    def state(self) -> dict[str, object]:
        return IDLE_STATE

    def audio_file(self, key: str) -> Path | None:
        return None

    def wait_for_command(self, timeout: float = 10.0) -> Command:
        """The first command received, waiting for it to arrive from the server thread."""
        with self.received:
            self.received.wait_for(lambda: bool(self.commands), timeout)
        assert self.commands, "no command reached the controller"
        return self.commands[0]


@contextmanager
def serve(app: Flask, hub: Hub, limits: ServerLimits | None = None) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 on a free port in a thread, as `companion serve` does;
    yield `host:port`."""
    server = make_companion_server("127.0.0.1", 0, app, limits)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="test-server", daemon=True
    )
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        hub.close()  # ends every /ws handler loop
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
"""Debian's Chromium; Playwright's own browser download cannot work offline."""
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # Without these Chromium keeps trying to reach the internet, which is refused here.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
WAIT_MS = 30_000
"""Generous: a loaded CI machine with two cores may be slow to start Chromium."""


@contextmanager
def companion_page(
    browser: Browser,
    data_dir: Path,
    journal: bool,
    app_for: Callable[[Companion], Flask],
    listen_engine: Literal["off", "pocketsphinx"] = "off",
    color_scheme: Literal["light", "dark"] = "light",
    viewport: tuple[int, int] = (1280, 800),
    clock: Clock | None = None,
) -> Iterator[tuple[Page, BrowserContext, str]]:
    """The real page served by a real companion (captions only, mic off), connected.

    Yields the page, its browser context and `host:port`; afterwards asserts that the
    page raised no JavaScript error. With `listen_engine="pocketsphinx"` the real model
    loads (and checks words); with no microphone here it hears nothing. A `clock` (a
    `FakeClock`) lets a test move the session's time by hand.
    """
    options = Options(
        voice=False,
        listen_engine=listen_engine,
        journal=journal,
        data_dir=data_dir,
        names=Names("Sam", "Alex"),
    )
    companion = Companion(options, clock=clock)
    companion.start()
    errors: list[str] = []
    try:
        with serve(app_for(companion), companion.hub) as host:
            context = browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]}, color_scheme=color_scheme
            )
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"http://{host}/")
            expect(page.locator("#connection")).to_have_text("Connected", timeout=WAIT_MS)
            yield page, context, host
            context.close()
    finally:
        companion.close()
    assert errors == [], "the page raised JavaScript errors"


def on_runner(companion: Companion, question: Callable[[Engine], object]) -> object:
    """Ask the engine something on its own thread (which also catches up with the clock)."""
    answers: list[object] = []
    done = threading.Event()

    def ask(engine: Engine) -> None:
        answers.append(question(engine))
        done.set()

    companion.runner.call(ask)
    assert done.wait(10), "the runner did not answer"
    return answers[0]


def into_the_break(companion: Companion, clock: FakeClock, minutes: float | None = 20) -> float:
    """Call a time-out (`minutes=None`: one was called already) and let its opening lines
    pass on the fake clock; return when the break ends (clock time)."""
    if minutes is not None:
        companion.submit(Command(CommandName.TIMEOUT, minutes=minutes))
    for _ in range(20):
        if on_runner(companion, lambda engine: engine.snapshot(clock.now())["break"]):
            break
        clock.advance(5.0)
    remaining = on_runner(companion, lambda engine: engine.remaining(clock.now()))
    assert isinstance(remaining, float)
    # Let the runner publish what it just did before the test moves the clock again.
    wait_for(lambda: (companion.hub.latest("state") or {}).get("break"))
    return clock.now() + remaining
