"""The break word's rules live in one place, the server (companion/listening/commands_vocab.py).
The page sends what was typed and shows a refusal under the field in the server's own
sentence. In the real page, in headless Chromium, over the real WebSocket, every rule
below is refused with that sentence, and a word the rules allow is not refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from web_support import WAIT_MS, companion_page

from companion.webapp.inbound import MessageError, parse_signal
from companion.webapp.routes import create_app

pytestmark = pytest.mark.browser

REFUSED = [
    "ananas ananas ananas ananas ananas",  # five words
    "x" * 41,
    "time-out",
    "stop!",
    "pine4pple",
    "'''",
    "\u0308",  # a combining mark alone: no letter
]
ALLOWED = ["pineapple", "don't stop", "l\u2019heure", "nai\u0308ve", "パイナップル"]


def server_says(phrase: str) -> str:
    """The sentence the server sends back for a `signal` message with `phrase` ("" if none)."""
    try:
        parse_signal({"phrase": phrase})
    except MessageError as error:
        return str(error)
    return ""


def set_break_word(page: Page, phrase: str) -> None:
    """Put `phrase` in the field as if typed (past the field's own length limit) and submit."""
    page.locator("#signal-word").evaluate(
        """(field, phrase) => {
            field.value = phrase;
            field.dispatchEvent(new Event("input", { bubbles: true }));
        }""",
        phrase,
    )
    page.get_by_role("button", name="Set").click()


def test_a_refused_break_word_is_shown_in_the_servers_own_sentence(
    browser: Browser, tmp_path: Path
) -> None:
    assert all(server_says(phrase) for phrase in REFUSED)
    assert not any(server_says(phrase) for phrase in ALLOWED)
    with companion_page(browser, tmp_path, journal=False, app_for=create_app) as (page, _, _):
        note = page.locator("#signal-note")
        for phrase in REFUSED:
            set_break_word(page, phrase)
            expect(note).to_have_text(server_says(phrase), timeout=WAIT_MS)
            expect(note).to_have_class("signal-note problem")
            expect(page.locator("#signal-word")).to_have_value(phrase)
        for phrase in ALLOWED:
            set_break_word(page, phrase)
            # Listening is off here: the server takes the word and says it cannot check it.
            expect(note).to_have_text(
                "Listening is off, so the word cannot be checked now.", timeout=WAIT_MS
            )
