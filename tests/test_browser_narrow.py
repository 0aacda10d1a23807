"""On a narrow window (a phone, or half a laptop screen) the controls, which stay at the
window's foot, never cover what the couple needs, and nothing runs off the side."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from web_support import WAIT_MS, companion_page

from companion.app import Companion
from companion.webapp.site import build_web_app

pytestmark = pytest.mark.browser

# Whether the middle of the element is the element itself, not something drawn over it.
IN_SIGHT = """(el) => {
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return el.contains(hit);
}"""


@pytest.fixture(params=[(390, 740), (700, 900)], ids=["phone", "half-screen"])
def page(request: pytest.FixtureRequest, browser: Browser, tmp_path: Path) -> Iterator[Page]:
    def app_for(companion: Companion) -> Flask:
        return build_web_app(companion, set())  # with the journal: "how calm?" is asked

    with companion_page(
        browser, tmp_path, journal=True, app_for=app_for, viewport=request.param
    ) as (page, _, _):
        yield page


def fits_sideways(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= innerWidth"))


def test_start_and_the_names_come_into_sight_clear_of_the_controls(page: Page) -> None:
    assert fits_sideways(page)
    for target in ("#start", "#name-a", "#name-b"):
        page.locator(target).focus()  # as Tab would: the page scrolls it into sight
        assert page.locator(target).evaluate(IN_SIGHT), f"{target} is under the controls"
    # Scrolled to the end, the controls sit below the last panel, covering none of it.
    page.evaluate("scrollTo(0, document.documentElement.scrollHeight)")
    controls_top = page.locator(".controls").evaluate("el => el.getBoundingClientRect().top")
    stage_bottom = page.locator("#stage").evaluate("el => el.getBoundingClientRect().bottom")
    assert stage_bottom <= controls_top


def test_before_a_session_every_calm_rating_can_be_reached(page: Page) -> None:
    page.get_by_role("button", name="Start the chosen exercise").click()
    expect(page.locator("#calm-before")).to_be_visible(timeout=WAIT_MS)
    assert fits_sideways(page)
    # Every name and number lies wholly inside the window.
    cut = page.locator("#calm-before").evaluate(
        """el => [...el.querySelectorAll("*")].filter((e) => {
          const r = e.getBoundingClientRect();
          return r.width && (r.left < 0 || r.right > innerWidth);
        }).map((e) => e.textContent.trim())"""
    )
    assert cut == [], f"cut off at the window's edge: {cut}"
    ratings = page.locator("#calm-before button.calm-value")
    assert ratings.count() == 22  # 0 to 10, for each partner
    for i in range(ratings.count()):
        ratings.nth(i).focus()
        assert ratings.nth(i).evaluate(IN_SIGHT), f"rating {i} is covered"
