"""The page during a session, as a couple sees it: no card covers the pause state, an
ended screen says one thing, and on a 390 px phone the exercise fills the screen with
only the controls that matter now."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from web_support import ARTIFACTS, WAIT_MS, companion_page

from companion.app import Companion
from companion.webapp.site import build_web_app

pytestmark = pytest.mark.browser

IN_SIGHT = """(el) => {
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return r.bottom <= innerHeight && el.contains(hit);
}"""
PHONE = (390, 844)


def journaled(companion: Companion) -> Flask:
    return build_web_app(companion, set())  # with the journal: the calm ratings are asked


@pytest.fixture(params=[(1280, 800), PHONE], ids=["laptop", "phone"])
def page(request: pytest.FixtureRequest, browser: Browser, tmp_path: Path) -> Iterator[Page]:
    with companion_page(
        browser, tmp_path, journal=True, app_for=journaled, viewport=request.param
    ) as (page, _, _):
        yield page


@pytest.fixture
def phone(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    with companion_page(browser, tmp_path, journal=True, app_for=journaled, viewport=PHONE) as (
        page,
        _,
        _,
    ):
        yield page


def start(page: Page, script: str) -> None:
    page.locator(f'.script-card[data-script="{script}"]').click()
    page.get_by_role("button", name="Start the chosen exercise").click()
    expect(page.locator("body")).to_have_attribute("data-status", "running", timeout=WAIT_MS)


def test_no_card_covers_the_paused_state(page: Page) -> None:
    start(page, "slow-breathing")
    expect(page.locator("#calm-before")).to_be_visible(timeout=WAIT_MS)  # the "before" rating
    page.get_by_role("button", name="Pause").click()
    badge = page.locator("#paused-badge")
    expect(badge).to_be_visible(timeout=WAIT_MS)
    page.evaluate("scrollTo(0, 0)")
    assert badge.evaluate(IN_SIGHT), "something covers the Paused badge"
    assert page.locator("#script-title").evaluate(IN_SIGHT)
    assert page.get_by_role("button", name="Resume").evaluate(IN_SIGHT)


def test_an_ended_screen_says_one_thing(page: Page) -> None:
    start(page, "speaker-listener")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("body")).to_have_attribute("data-status", "ended", timeout=WAIT_MS)
    expect(page.locator("#script-title")).to_have_text("Stopped")
    said = page.locator("#view-ended").inner_text() + page.locator("#script-title").inner_text()
    assert "Finished" not in said and "complete" not in said and "Well done" not in said


def test_on_a_phone_the_exercise_fills_the_screen_with_only_the_controls_that_matter(
    phone: Page,
) -> None:
    start(phone, "speaker-listener")
    phone.get_by_role("button", name="Skip").click()
    height = phone.evaluate("innerHeight")
    top = phone.locator(".topbar").evaluate("el => el.getBoundingClientRect().height")
    assert top < 0.1 * height, f"the top bar takes {top / height:.0%} of the screen"
    expect(phone.locator("#status-detail")).to_be_hidden()  # its reasons wait for the end
    stage = phone.locator("#stage").evaluate("el => el.getBoundingClientRect()")
    controls = phone.locator(".controls").evaluate("el => el.getBoundingClientRect()")
    assert controls["bottom"] >= height - 1, "the controls float above the foot of the screen"
    assert controls["top"] - stage["bottom"] < 24, "an empty band between the card and the bar"
    assert controls["height"] < 0.2 * height, f"the bar takes {controls['height'] / height:.0%}"
    # Not breathing: the pace buttons mean nothing now and are not shown.
    expect(phone.get_by_role("button", name=re.compile("^Slower"))).to_be_hidden()
    expect(phone.get_by_role("button", name=re.compile("^Next"))).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "phone-session.png"))
