"""The break word field on the real page, in a real headless Chromium, against the real
companion: with the real pocketsphinx model (no microphone here, so it hears nothing),
and with listening off. Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from web_support import ARTIFACTS, WAIT_MS, companion_page

from companion.webapp.routes import create_app

pytestmark = pytest.mark.browser


def test_a_break_word_typed_on_the_page_says_whether_it_can_be_recognised(
    browser: Browser, tmp_path: Path
) -> None:
    with companion_page(
        browser, tmp_path, journal=False, app_for=create_app, listen_engine="pocketsphinx"
    ) as (page, _, _):
        field = page.get_by_label("Our break word")
        note = page.locator("#signal-note")
        expect(note).to_have_attribute("aria-live", "polite")
        expect(note).to_have_text("A word you both agree on, in a calm moment, to call a time-out.")

        # Typed key by key: T (time-out), N, S and Space are shortcuts, but not in here.
        field.click()
        page.keyboard.type("tangerine nest")
        page.keyboard.press("Enter")
        expect(note).to_have_text("“tangerine nest” can be recognised.", timeout=WAIT_MS)
        expect(page.locator("body")).to_have_attribute("data-status", "idle")

        field.fill("xyzzyq")
        page.get_by_role("button", name="Set").click()
        expect(note).to_have_text(
            "The pocketsphinx speech model does not know “xyzzyq”, so “xyzzyq” cannot be "
            "recognised; choose another word.",
            timeout=WAIT_MS,
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "break-word.png"))

        # Refused by the server, in its words, under the field; the field keeps the text.
        field.fill("time-out")
        field.press("Enter")
        expect(note).to_have_text(
            "A break word may use only letters, spaces and apostrophes, not “-”.",
            timeout=WAIT_MS,
        )
        expect(note).to_have_class("signal-note problem")
        expect(field).to_have_value("time-out")


def test_with_listening_off_the_page_says_the_word_cannot_be_checked_now(
    browser: Browser, tmp_path: Path
) -> None:
    with companion_page(browser, tmp_path, journal=False, app_for=create_app) as (page, _, _):
        field = page.get_by_label("Our break word")
        field.fill("  pineapple ")
        field.press("Enter")
        expect(page.locator("#signal-note")).to_have_text(
            "Listening is off, so the word cannot be checked now.", timeout=WAIT_MS
        )
        expect(field).to_have_value("pineapple")
        # Clearing it means no word of their own; the hint comes back.
        field.fill("")
        field.press("Enter")
        expect(page.locator("#signal-note")).to_have_text(
            "A word you both agree on, in a calm moment, to call a time-out.", timeout=WAIT_MS
        )
