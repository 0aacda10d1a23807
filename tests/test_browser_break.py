"""The break in the real page: the right countdown whenever a page opens, and only the
break's own controls while it runs.

The companion runs on a fake clock here, so "minutes into the break" is a number the test
sets; nothing is published while the clock moves, as in a real break between prompts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from web_support import ARTIFACTS, WAIT_MS, into_the_break, serve

from companion.app import Companion
from companion.core.clock import FakeClock
from companion.core.effects import Command, CommandName
from companion.core.engine import LIMIT_NOTICE, ON_BREAK_NOTICE
from companion.core.phase import BREAK_LIMIT_MINUTES
from companion.core.script import Names
from companion.options import Options
from companion.webapp.site import build_web_app

pytestmark = pytest.mark.browser


@dataclass
class Served:
    companion: Companion
    clock: FakeClock
    host: str
    browser: Browser
    errors: list[str]
    contexts: list[BrowserContext] = field(default_factory=list)

    def open(self, width: int = 1280, height: int = 800) -> Page:
        context = self.browser.new_context(viewport={"width": width, "height": height})
        self.contexts.append(context)  # closed with the fixture: an open page keeps animating
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.goto(f"http://{self.host}/")
        expect(page.locator("#connection")).to_have_text("Connected", timeout=WAIT_MS)
        return page


Serve = Callable[..., Served]


@pytest.fixture
def serve_companion(browser: Browser, tmp_path: Path) -> Iterator[Serve]:
    """Start a companion on a fake clock (options as keywords) and serve it."""
    started: list[tuple[Served, object]] = []

    def start(**options: object) -> Served:
        clock = FakeClock(1000.0)
        settings = Options(
            voice=False,
            listen_engine="off",
            journal=False,
            data_dir=tmp_path,
            names=Names("Sam", "Alex"),
            **options,  # type: ignore[arg-type]
        )
        companion = Companion(settings, clock=clock)
        companion.start()
        server = serve(build_web_app(companion, set()), companion.hub)
        host = server.__enter__()
        served = Served(companion, clock, host, browser, [])
        started.append((served, server))
        return served

    yield start
    for served, server in started:
        for context in served.contexts:
            context.close()
        server.__exit__(None, None, None)  # type: ignore[attr-defined]
        served.companion.close()


@pytest.fixture
def served(serve_companion: Serve) -> Iterator[Served]:
    served = serve_companion()
    yield served
    assert served.errors == [], "the page raised JavaScript errors"


def mmss(seconds: float) -> str:
    whole = max(0, int(-(-seconds // 1)))
    return f"{whole // 60}:{whole % 60:02d}"


def bar_buttons(page: Page) -> list[str]:
    """The names of the controls the bar shows now, in order."""
    names: list[str] = page.locator("footer.controls button:visible").evaluate_all(
        "(buttons) => buttons.map((b) => b.querySelector('span').textContent.trim())"
    )
    return names


@pytest.mark.parametrize("minutes_in", [2.0, 13.5])
def test_a_page_loaded_mid_break_shows_the_time_left_and_the_return_time(
    served: Served, minutes_in: float
) -> None:
    ends_at = into_the_break(served.companion, served.clock)
    served.clock.advance(minutes_in * 60)
    left = ends_at - served.clock.now()
    page = served.open()
    expect(page.locator("#view-break")).to_be_visible(timeout=WAIT_MS)
    # The page counts on by real time from receipt; a slow machine may take a few seconds.
    shown = page.locator("#break-time").inner_text()
    assert shown in {mmss(left - lag) for lag in range(6)}, (shown, mmss(left))
    back = page.locator("#break-back").inner_text()
    expected = {
        "Back at "
        + page.evaluate(
            "(s) => new Date(Date.now() + s * 1000)"
            ".toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})",
            left + lag,
        )
        for lag in (-6, 0, 6)
    }
    assert back in expected
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"break-loaded-{int(minutes_in)}-min-in.png"))


def test_a_time_out_of_the_chosen_length_shows_when_to_come_back(served: Served) -> None:
    page = served.open()
    page.locator('.script-card[data-script="slow-breathing"]').click()
    page.get_by_role("button", name="Start the chosen exercise").click()
    expect(page.locator("body")).to_have_attribute("data-status", "running", timeout=WAIT_MS)
    page.locator("#timeout-minutes").select_option("45")
    page.get_by_role("button", name="Time-out").click()
    expect(page.locator("#script-title")).to_have_text("Time-out", timeout=WAIT_MS)
    into_the_break(served.companion, served.clock, minutes=None)
    expect(page.locator("#view-break")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#break-time")).to_have_text(re.compile(r"^4[45]:\d\d$"), timeout=WAIT_MS)
    expect(page.locator("#break-back")).to_have_text(re.compile(r"^Back at "))


def test_during_a_break_the_bar_shows_only_the_breaks_controls_and_next_does_not_end_it(
    served: Served,
) -> None:
    page = served.open()
    assert "Next" in bar_buttons(page)
    served.companion.submit(Command(CommandName.START, script="slow-breathing"))
    expect(page.locator("body")).to_have_attribute("data-status", "running", timeout=WAIT_MS)
    served.companion.submit(Command(CommandName.TIMEOUT))
    into_the_break(served.companion, served.clock, minutes=None)
    expect(page.locator("#view-break")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Come back early")).to_be_visible()
    assert bar_buttons(page) == ["Pause", "More time (+20 min)", "Come back early", "Stop"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "break-controls.png"))

    page.locator("#stage").focus()
    page.keyboard.press("n")
    expect(page.locator("#toast")).to_have_text(ON_BREAK_NOTICE)
    # A `next` that reaches the server anyway (another page, a script) is refused there too.
    page.evaluate(
        "() => new Promise((done) => { const ws = new WebSocket(`ws://${location.host}/ws`);"
        " ws.onopen = () => { ws.send(JSON.stringify({type: 'command', data: {name: 'next'}}));"
        " setTimeout(() => { ws.close(); done(); }, 300); }; })"
    )
    expect(page.locator("#toast")).to_have_text(ON_BREAK_NOTICE)
    expect(page.locator("#view-break")).to_be_visible()
    expect(page.locator("#script-title")).to_have_text("Time-out")


def test_coming_back_early_asks_first_and_keeping_the_break_is_the_default(
    served: Served,
) -> None:
    page = served.open()
    served.companion.submit(Command(CommandName.START, script="slow-breathing"))
    expect(page.locator("body")).to_have_attribute("data-status", "running", timeout=WAIT_MS)
    served.companion.submit(Command(CommandName.TIMEOUT))
    into_the_break(served.companion, served.clock, minutes=None)
    early = page.get_by_role("button", name="Come back early")
    early.click()
    question = page.get_by_role("group", name=re.compile(r"^Come back now"))
    expect(question).to_be_visible()
    expect(page.get_by_role("button", name="Keep the break")).to_be_focused()
    page.keyboard.press("Enter")  # the focused answer: keep the break
    expect(question).to_be_hidden()
    expect(page.locator("#view-break")).to_be_visible()
    early.click()
    page.get_by_role("button", name="Yes, come back now").click()
    # Coming back begins with the break script's re-entry (a line, breaths together), with
    # the usual controls again; then the interrupted script.
    expect(page.locator("#caption")).to_contain_text("Welcome back", timeout=WAIT_MS)
    expect(early).to_be_hidden()
    assert "Next" in bar_buttons(page)
    title = page.locator("#script-title")
    for _ in range(5):
        if title.text_content() == "Slow breathing":
            break
        page.get_by_role("button", name="Next").click()
        page.wait_for_timeout(200)
    expect(title).to_have_text("Slow breathing", timeout=WAIT_MS)


def test_more_time_stops_at_the_limit_of_a_day_and_the_page_says_so(served: Served) -> None:
    page = served.open()
    into_the_break(served.companion, served.clock, minutes=BREAK_LIMIT_MINUTES - 5)
    more = page.get_by_role("button", name=re.compile(r"^More time"))
    expect(more).to_be_enabled(timeout=WAIT_MS)
    more.click()
    expect(page.locator("#toast")).to_have_text(LIMIT_NOTICE, timeout=WAIT_MS)
    expect(page.locator("#break-limit")).to_be_visible()
    expect(more).to_be_disabled()
    expect(page.locator("#break-time")).to_have_text(re.compile(r"^143\d:\d\d$"))


def test_with_no_break_script_anywhere_the_page_says_why_time_out_is_off(
    serve_companion: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import companion.library.catalogue as catalogue

    scripts = tmp_path / "scripts"
    scripts.mkdir()
    monkeypatch.setattr(catalogue, "default_library_dir", lambda: scripts)
    page = serve_companion(scripts_dir=scripts).open()
    expect(page.locator("#status-detail")).to_contain_text(
        "Time-out is off: no break script could be loaded", timeout=WAIT_MS
    )
    expect(page.get_by_role("button", name="Time-out")).to_be_disabled()
    page.locator("#stage").focus()
    page.keyboard.press("t")
    expect(page.locator("#toast")).to_contain_text("Time-out is off")
