"""The real page in a real headless Chromium against the real companion (captions only).

Chromium is Debian's (`/usr/bin/chromium`), driven by Playwright's bundled driver;
nothing is downloaded. Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from web_support import ARTIFACTS, WAIT_MS, companion_page

from companion.webapp.routes import create_app

pytestmark = pytest.mark.browser

BREATHING = re.compile(r"^Breathe (in|out)$")


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    """The real page served by the real companion, captions only, on a free port."""
    with companion_page(browser, tmp_path, journal=False, app_for=create_app) as (page, _, _):
        yield page


def start(page: Page, script_id: str) -> None:
    page.locator(f'.script-card[data-script="{script_id}"]').click()
    expect(page.locator(f'.script-card[data-script="{script_id}"]')).to_have_attribute(
        "aria-checked", "true"
    )
    page.get_by_role("button", name="Start the chosen exercise").click()
    expect(page.locator("body")).to_have_attribute("data-status", "running", timeout=WAIT_MS)


def next_until(page: Page, step_kind: str, limit: int = 8) -> None:
    """Press Next through spoken lines until a step of `step_kind` begins (keeps tests short)."""
    body = page.locator("body")
    for _ in range(limit):
        if body.get_attribute("data-step-kind") == step_kind:
            return
        label = page.locator("#step-label").inner_text()
        page.get_by_role("button", name="Next").click()
        expect(page.locator("#step-label")).not_to_have_text(label, timeout=WAIT_MS)
    expect(body).to_have_attribute("data-step-kind", step_kind)


def skip_to_breathing(page: Page) -> None:
    """Press Next through the spoken introduction until the pacer shows a breath."""
    next_until(page, "breathe")
    expect(page.locator("#view-breath")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#breath-word")).to_have_text(BREATHING, timeout=WAIT_MS)


def test_a_breathing_session_started_from_the_page_pauses_frozen_and_resumes(
    page: Page,
) -> None:
    start(page, "slow-breathing")
    skip_to_breathing(page)
    expect(page.locator("#breath-pace")).to_have_text("6.0 breaths/min")

    page.get_by_role("button", name="Pause").click()
    body = page.locator("body")
    expect(body).to_have_attribute("data-status", "paused", timeout=WAIT_MS)
    expect(page.locator("#paused-badge")).to_be_visible()
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    frozen = (
        page.locator("#breath-seconds").inner_text(),
        page.locator("#orb").get_attribute("style"),
    )
    # Not a speed check: while paused nothing may move, however long we look.
    page.wait_for_timeout(1500)
    assert (
        page.locator("#breath-seconds").inner_text(),
        page.locator("#orb").get_attribute("style"),
    ) == frozen
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "breathing-paused.png"))

    page.get_by_role("button", name="Resume").click()
    expect(body).to_have_attribute("data-status", "running", timeout=WAIT_MS)
    expect(page.locator("#orb")).not_to_have_attribute("style", frozen[1] or "", timeout=WAIT_MS)
    page.screenshot(path=str(ARTIFACTS / "breathing-running.png"))


def test_space_pauses_and_resumes_the_session(page: Page) -> None:
    start(page, "slow-breathing")
    page.locator("#stage").focus()  # not a button: Space is the shortcut, not a click
    page.keyboard.press("Space")
    expect(page.locator("body")).to_have_attribute("data-status", "paused", timeout=WAIT_MS)
    page.keyboard.press("Space")
    expect(page.locator("body")).not_to_have_attribute("data-status", "paused", timeout=WAIT_MS)


def test_shortcuts_wait_while_a_name_is_typed(page: Page) -> None:
    page.locator("#name-a").fill("")
    page.locator("#name-a").type("Sasha ")
    expect(page.locator("#name-a")).to_have_value("Sasha ")
    expect(page.locator("body")).to_have_attribute("data-status", "idle")


def test_the_ready_gate_and_the_floor_show_who_speaks_and_who_listens(page: Page) -> None:
    start(page, "speaker-listener")
    # Who speaks first is chosen, not assumed; the opening lines run their course (Next at
    # the question would choose the second name).
    expect(page.locator("#view-role")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Sam", exact=True).click()
    # From here the lines run their course too: a Next that reaches the server just after
    # a line ended by itself would skip the gate or the turn this test is about.
    ready = page.get_by_role("button", name="Alex is ready")
    expect(ready).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Sam is ready")).to_be_hidden()
    ready.click()
    expect(ready).to_be_hidden(timeout=WAIT_MS)

    floor = page.locator("#view-floor")
    expect(floor).to_be_visible(timeout=3 * WAIT_MS)  # six spoken lines, at their own pace
    expect(page.locator("#floor-speaker")).to_have_text("Sam")
    expect(page.locator("#floor-listener")).to_have_text("Alex")
    expect(page.locator("#floor-time")).to_have_text(re.compile(r"^(1:00|0:[0-5]\d)$"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "floor.png"))


def test_a_stopped_session_goes_on_from_the_step_it_stopped_in(page: Page) -> None:
    # A "pause" misheard as "stop" (or a slip of the hand) costs nobody their place.
    start(page, "speaker-listener")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    step = page.locator("#step-label")
    expect(step).to_have_text(re.compile(r"^Step 3 of "), timeout=WAIT_MS)
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("body")).to_have_attribute("data-status", "ended", timeout=WAIT_MS)
    go_on = page.get_by_role(
        "button", name=re.compile(r"^Go on from step 3 of \d+ \(Speaker and listener\)$")
    )
    expect(go_on).to_have_text(re.compile(r"^Go on from step 3 of \d+$"))
    go_on.click()
    # Step 3 asks who speaks first: the session waits there for an answer.
    expect(page.locator("body")).to_have_attribute("data-status", "waiting", timeout=WAIT_MS)
    expect(page.locator("#script-title")).to_have_text("Speaker and listener")
    expect(step).to_have_text(re.compile(r"^Step 3 of "))
    page.get_by_role("button", name="Stop").click()
    expect(go_on).to_be_visible(timeout=WAIT_MS)


def test_the_safety_note_is_one_click_away(page: Page) -> None:
    page.get_by_role("button", name="Safety").click()
    dialog = page.get_by_role("dialog", name="Safety first")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("not therapy")
    expect(dialog).to_contain_text("emergency")
    dialog.get_by_role("button", name="Close the safety note").click()
    expect(dialog).to_be_hidden()
