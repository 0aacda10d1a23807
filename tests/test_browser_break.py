"""The break in the real page: a page opened mid-break counts down from the right moment.

The companion runs on a fake clock here, so "minutes into the break" is a number the test
sets; nothing is published while the clock moves, as in a real break between prompts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from web_support import ARTIFACTS, WAIT_MS, into_the_break, serve

from companion.app import Companion, Options, build_web_app
from companion.clock import FakeClock
from companion.script import Names

pytestmark = pytest.mark.browser


@dataclass
class Served:
    companion: Companion
    clock: FakeClock
    host: str
    browser: Browser

    def open(self, width: int = 1280, height: int = 800) -> Page:
        context = self.browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(f"http://{self.host}/")
        expect(page.locator("#connection")).to_have_text("Connected", timeout=WAIT_MS)
        return page


@pytest.fixture
def served(browser: Browser, tmp_path: Path) -> Iterator[Served]:
    clock = FakeClock(1000.0)
    options = Options(
        voice=False,
        listen_engine="off",
        journal=False,
        data_dir=tmp_path,
        names=Names("Sam", "Alex"),
    )
    companion = Companion(options, clock=clock)
    companion.start()
    try:
        with serve(build_web_app(companion, set()), companion.hub) as host:
            yield Served(companion, clock, host, browser)
    finally:
        companion.close()


def mmss(seconds: float) -> str:
    whole = max(0, int(-(-seconds // 1)))
    return f"{whole // 60}:{whole % 60:02d}"


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
