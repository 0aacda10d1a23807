"""Roles chosen on the real page, in a real headless Chromium, against the real companion:
the apology script asks who was hurt, by button and by voice, and names them from then on.

The voice command goes in where the recogniser hands over what it heard
(`Companion._on_heard`): there is no microphone here. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from web_support import ARTIFACTS, WAIT_MS, companion_page

from companion.app import Companion
from companion.core.effects import CommandName
from companion.listening.heard import Heard
from companion.webapp.routes import create_app

pytestmark = pytest.mark.browser


@pytest.fixture
def apology(browser: Browser, tmp_path: Path) -> Iterator[tuple[Page, Companion]]:
    """The page at the apology script's role question: who was hurt?"""
    running: list[Companion] = []

    def app_for(companion: Companion) -> Flask:
        running.append(companion)
        return create_app(companion)

    with companion_page(browser, tmp_path, journal=False, app_for=app_for) as (page, _, _):
        page.locator('.script-card[data-script="apology"]').click()
        safety = page.locator("#script-safety")
        expect(safety).to_contain_text("violence")  # shown before anyone starts, never spoken
        page.get_by_role("button", name="Start the chosen exercise").click()
        # The two opening lines run their course (Next at the question would choose Alex).
        expect(page.locator("#view-role")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#role-prompt")).to_have_text("Who was hurt?")
        expect(safety).to_be_visible()
        expect(page.locator("#script-help")).to_contain_text("couples therapist")
        yield page, running[0]


def test_who_was_hurt_is_chosen_on_the_page_and_named_from_then_on(
    apology: tuple[Page, Companion],
) -> None:
    page, _ = apology
    # Nothing listens here (no microphone): the page does not ask anyone to say a word.
    expect(page.locator("#role-hint")).to_be_hidden()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "apology-who-was-hurt.png"))
    page.get_by_role("button", name="Alex", exact=True).click()
    caption = page.locator("#caption")
    expect(caption).to_have_text(
        "Alex, you speak first. Tell Sam what happened for you, and how it still feels.",
        timeout=WAIT_MS,
    )
    # Alex is heard first and fully: the gate waits for Alex alone, with no clock running.
    expect(page.locator("#view-ready")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#ready-prompt")).to_have_text(
        "Alex speaks. Sam listens, without defending."
    )
    expect(page.get_by_role("button", name="Alex is ready")).to_be_visible()
    expect(page.get_by_role("button", name="Sam is ready")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "apology-hurt-heard-first.png"))
    page.get_by_role("button", name="Alex is ready").click()
    expect(caption).to_have_text(
        "Thank you, Alex. Sam, now your apology. One part at a time. Say ready after each part.",
        timeout=WAIT_MS,
    )


def test_who_was_hurt_is_chosen_by_voice(apology: tuple[Page, Companion]) -> None:
    page, companion = apology
    # Stands in for the recogniser thread: "next" chooses the second name, Alex.
    companion._on_heard(Heard("next", CommandName.NEXT, 1.0, 0.9))
    expect(page.locator("#caption")).to_have_text(
        "Alex, you speak first. Tell Sam what happened for you, and how it still feels.",
        timeout=WAIT_MS,
    )
    expect(page.locator("#heard")).to_have_text("heard: next \u2013 Alex chosen")
    assert companion.state()["roles"] == {"hurt": "Alex", "other": "Sam"}


def test_by_voice_ready_chooses_the_first_name(apology: tuple[Page, Companion]) -> None:
    page, companion = apology
    companion._on_heard(Heard("ready", CommandName.READY, 1.0, 0.9))
    expect(page.locator("#caption")).to_have_text(
        "Sam, you speak first. Tell Alex what happened for you, and how it still feels.",
        timeout=WAIT_MS,
    )
    assert companion.state()["roles"] == {"hurt": "Sam", "other": "Alex"}


def test_key_2_chooses_the_second_name(apology: tuple[Page, Companion]) -> None:
    page, _ = apology
    page.locator("#stage").focus()
    page.keyboard.press("2")
    expect(page.locator("#caption")).to_have_text(
        "Alex, you speak first. Tell Sam what happened for you, and how it still feels.",
        timeout=WAIT_MS,
    )
