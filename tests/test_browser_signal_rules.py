"""The break word's rules are written twice: in the page (js/signal-word.js), which answers
as the word is typed and sends nothing it would refuse, and in the server
(companion/commands_vocab.py), which decides. In the real page, in headless Chromium, the
page's check gives the server's own sentence for every phrase here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser
from web_support import companion_page

from companion.webapp.inbound import MessageError, parse_signal
from companion.webapp.routes import create_app

pytestmark = pytest.mark.browser

PHRASES = [
    "",
    "pineapple",
    "time out",
    "don't stop",
    "l\u2019heure",
    "café",
    "nai\u0308ve",  # a combining mark
    "パイナップル",
    "ananas ananas ananas ananas",
    "a b c d e",
    "x" * 40,
    "x" * 41,
    "time-out",
    "stop!",
    "pine4pple",
    "'''",
    "\u0308",
]


def server_says(phrase: str) -> str:
    """The sentence the server sends back for a `signal` message with `phrase` ("" if none)."""
    try:
        parse_signal({"phrase": phrase})
    except MessageError as error:
        return str(error)
    return ""


def test_the_page_refuses_a_break_word_with_the_servers_own_sentence(
    browser: Browser, tmp_path: Path
) -> None:
    with companion_page(browser, tmp_path, journal=False, app_for=create_app) as (page, _, _):
        page_says = page.evaluate(
            """async (phrases) => {
                const { signalProblem } = await import("/js/signal-word.js");
                return phrases.map(signalProblem);
            }""",
            PHRASES,
        )
    assert page_says == [server_says(phrase) for phrase in PHRASES]
    assert sum(bool(said) for said in page_says) == 7  # the table tries every rule
