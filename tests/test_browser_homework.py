"""Homework on the real page: import a plan, practise it, see progress, export the report.

A real companion (captions only, journal on in a temporary folder) served with
`build_web_app`, driven by Debian's Chromium through Playwright; nothing is downloaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    FilePayload,
    Page,
    expect,
)
from web_support import ARTIFACTS, WAIT_MS, companion_page

from companion.app import Companion
from companion.library.loader import default_library_dir
from companion.webapp.site import build_web_app

pytestmark = pytest.mark.browser


def plan_text(times_per_week: int = 3) -> str:
    """A plan running this week whose one embedded script takes about five seconds."""
    today = date.today()
    return f"""\
format = 1
id = "until-next-session"
version = 1
title = "Until next session"
from = {today - timedelta(days=7)}
until = {today + timedelta(days=30)}
note = "Two quiet minutes in the evening are plenty. Stop whenever you like."

[[practice]]
id = "short-pause"
times_per_week = {times_per_week}

[practice.script]
format = 1
title = "A short pause"
summary = "One line and a moment of quiet."

[[practice.script.step]]
kind = "say"
text = "Let your shoulders drop."

[[practice.script.step]]
kind = "silence"
seconds = 2
"""


def upload(page: Page, name: str, text: str) -> None:
    """Choose a plan file through the page's own file input."""
    payload: FilePayload = {"name": name, "mimeType": "text/plain", "buffer": text.encode()}
    page.locator("#plan-file").set_input_files(files=[payload])


@dataclass
class Served:
    page: Page
    context: BrowserContext
    host: str


@pytest.fixture
def served(browser: Browser, tmp_path: Path) -> Iterator[Served]:
    """The real page and homework routes over a real companion whose journal is in tmp_path."""

    def app_for(companion: Companion) -> Flask:
        return build_web_app(companion, set())

    with companion_page(browser, tmp_path, journal=True, app_for=app_for) as (page, context, host):
        expect(page.get_by_role("button", name="Homework")).to_be_visible(timeout=WAIT_MS)
        yield Served(page, context, host)


def test_a_plan_imported_on_the_page_is_practised_and_shows_in_progress_and_report(
    served: Served,
) -> None:
    page = served.page
    page.keyboard.press("h")
    panel = page.get_by_role("dialog", name="Homework")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("No homework for this week yet")
    expect(panel).to_contain_text("Kept only on this computer. No audio or words are ever stored.")

    upload(page, "until-next-session.toml", plan_text())
    expect(page.locator("#import-result")).to_have_text(
        "Imported \u2018Until next session\u2019.", timeout=WAIT_MS
    )
    row = panel.locator('.practice[data-script="short-pause"]')
    expect(row).to_contain_text("A short pause", timeout=WAIT_MS)
    expect(row.locator(".practice-count")).to_have_text("0 of 3 this week")
    expect(panel).to_contain_text("Two quiet minutes in the evening")
    # The plan's own script reached the library through the `scripts` message.
    expect(page.locator('.script-card[data-script="short-pause"]')).to_be_visible(timeout=WAIT_MS)

    start = panel.get_by_role("button", name="Start A short pause")
    expect(start).to_be_enabled(timeout=WAIT_MS)
    start.click()
    expect(panel).to_be_hidden()
    body = page.locator("body")
    expect(page.locator("#script-title")).to_have_text("A short pause", timeout=WAIT_MS)
    # The "before" rating is offered as the session starts; pause so it cannot end first.
    before = page.locator("#calm-before")
    expect(before).to_be_visible(timeout=WAIT_MS)
    page.keyboard.press("Space")
    expect(body).to_have_attribute("data-status", "paused", timeout=WAIT_MS)
    before.get_by_role("radio", name="Sam: 3 of 10").click()
    expect(page.locator("#calm-before-done")).to_have_text(re.compile("^Saved"), timeout=WAIT_MS)
    page.locator("#pause").click()  # focus is on a rating button, where Space presses it
    expect(body).to_have_attribute("data-status", "ended", timeout=WAIT_MS)
    expect(before).to_be_hidden()
    expect(page.locator("#ended-title")).to_have_text(re.compile("complete"))

    calm = page.locator("#calm")
    expect(calm).to_be_visible(timeout=WAIT_MS)
    calm.get_by_role("radio", name="Sam: 7 of 10").click()
    expect(page.locator("#calm-done")).to_have_text(re.compile("^Saved"), timeout=WAIT_MS)
    calm.get_by_role("radio", name="Alex: 8 of 10").click()
    expect(calm.get_by_role("radio", name="Alex: 8 of 10")).to_have_attribute(
        "aria-checked", "true", timeout=WAIT_MS
    )

    summary = page.locator('#summary-list li[data-script="short-pause"]')
    expect(summary).to_contain_text("1 of 3 this week", timeout=WAIT_MS)
    page.keyboard.press("h")
    expect(row.locator(".practice-count")).to_have_text("1 of 3 this week", timeout=WAIT_MS)

    with served.context.expect_page(timeout=WAIT_MS) as opened:
        panel.get_by_role("button", name="Export for your therapist").click()
    report = opened.value
    report.wait_for_load_state()
    expect(report.locator("h1")).to_have_text("Practice journal", timeout=WAIT_MS)
    expect(report.locator("body")).to_contain_text("A short pause")
    expect(report.locator("body")).to_contain_text("Until next session")
    expect(report.locator("body")).to_contain_text("3 before, 7 after")  # Sam, spelled out
    ARTIFACTS.mkdir(exist_ok=True)
    # README shows docs/screenshot-report.png, a copy of this one taken by hand.
    report.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()


def test_a_broken_plan_shows_its_file_and_line_on_the_page_and_imports_nothing(
    served: Served,
) -> None:
    page = served.page
    text = plan_text(times_per_week=20)
    line = text.splitlines().index("times_per_week = 20") + 1
    panel = page.get_by_role("dialog", name="Homework")

    # Dropped on the page this time: the drop target shows while a file is dragged over.
    files = page.evaluate_handle(
        """([name, text]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], name, {type: "text/plain"}));
            return transfer;
        }""",
        ["broken.toml", text],
    )
    page.dispatch_event("main", "dragenter", {"dataTransfer": files})
    expect(page.locator("#drop-zone")).to_be_visible()
    page.dispatch_event("main", "drop", {"dataTransfer": files})
    expect(page.locator("#drop-zone")).to_be_hidden()
    # The couple did not write the file: one sentence for them, the details folded away.
    result = page.locator("#import-result")
    expect(result.locator("p").first).to_have_text(
        "This plan file has a mistake; ask your therapist for a corrected one.", timeout=WAIT_MS
    )
    expect(panel).to_be_visible()  # a drop opens the panel to show what happened
    problems = page.locator("#import-result .problems li")
    expect(problems).to_be_hidden()
    result.get_by_text("Details for your therapist").click()
    expect(problems).to_have_text(
        [f"broken.toml:{line}: times_per_week must be from 1 to 14, got 20"]
    )
    expect(result).not_to_contain_text("companion ")  # no command-line hints for the couple
    expect(panel).to_contain_text("No homework for this week yet")
    expect(page.locator("#homework-summary")).to_be_hidden()
    stored = page.request.get(f"http://{served.host}/api/homework").json()
    assert stored["plans"] == [] and stored["progress"] == []
    assert page.locator('.script-card[data-script="short-pause"]').count() == 0


def test_a_script_offered_as_a_plan_is_recognised_as_an_exercise(served: Served) -> None:
    page = served.page
    page.keyboard.press("h")
    page.get_by_role("dialog", name="Homework").wait_for()
    script = (default_library_dir() / "slow-breathing.toml").read_text(encoding="utf-8")
    upload(page, "slow-breathing.toml", script)
    result = page.locator("#import-result")
    expect(result.locator("p").first).to_have_text(
        "This file is an exercise, not a homework plan; ask your therapist for the plan file.",
        timeout=WAIT_MS,
    )
    expect(result.locator(".problems li")).to_have_count(1)  # one line, not one per key
