"""axe-core finds nothing in any view of the real page: start, dialogs, every kind of step,
paused, the break and its end, and both endings; on a laptop, on a phone, light and dark.

axe-core comes from npm (tools/setup.sh installs it into .venv/node). The page's CSP
rightly refuses inline scripts, so axe is injected through the DevTools protocol
(Runtime.evaluate), which a page's CSP does not govern.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
from playwright.sync_api import Browser, Page, expect
from web_support import ARTIFACTS, WAIT_MS, into_the_break, on_runner, serve

from companion.app import Companion
from companion.core.clock import FakeClock
from companion.core.effects import Command, CommandName
from companion.core.script import Names
from companion.options import Options
from companion.webapp.pairing import Pairing
from companion.webapp.site import build_web_app

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent.parent / ".venv/node/node_modules/axe-core/axe.min.js"
RULES = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                    "best-practice"]},
    // Off by default (experimental), and exactly what voice control needs: a button's
    // accessible name must contain its visible text.
    rules: {"label-content-name-mismatch": {enabled: true}},
  });
  const where = (v) => v.nodes.map((n) => n.target.join(" ")).join(", ");
  return result.violations.map((v) => `${v.id}: ${where(v)}`);
}"""

VIEWPORTS: dict[str, tuple[tuple[int, int], Literal["light", "dark"]]] = {
    "laptop": ((1280, 800), "light"),
    "phone": ((390, 844), "light"),
    "phone-dark": ((390, 844), "dark"),
}


@dataclass
class Session:
    companion: Companion
    clock: FakeClock
    page: Page

    def violations(self) -> list[str]:
        """What axe-core finds on the page as it is now."""
        cdp = self.page.context.new_cdp_session(self.page)
        try:
            cdp.send("Runtime.evaluate", {"expression": AXE.read_text(), "returnByValue": False})
        finally:
            cdp.detach()
        found: list[str] = self.page.evaluate(RULES)
        return found

    def catch_up(self) -> None:
        """Let the runner act on the fake clock's time now."""
        on_runner(self.companion, lambda engine: None)

    def until(self, kind: str, limit: int = 12) -> None:
        """Press Next (on the server) until a step of `kind` runs."""
        for _ in range(limit):
            step = self.companion.state().get("step")
            if isinstance(step, dict) and step.get("kind") == kind:
                return
            self.companion.submit(Command(CommandName.NEXT))
            self.catch_up()
        raise AssertionError(f"never reached a {kind} step")


@pytest.fixture(params=sorted(VIEWPORTS))
def session(request: pytest.FixtureRequest, browser: Browser, tmp_path: Path) -> Iterator[Session]:
    if not AXE.exists():
        pytest.skip("axe-core is not installed (bash tools/setup.sh --test)")
    (width, height), scheme = VIEWPORTS[request.param]
    clock = FakeClock(1000.0)
    options = Options(
        voice=False,
        listen_engine="off",
        journal=True,  # the calm ratings, the homework button and its dialog
        data_dir=tmp_path,
        names=Names("Sam", "Alex"),
    )
    companion = Companion(options, clock=clock)
    companion.start()
    errors: list[str] = []
    try:
        pairing = Pairing(tmp_path)
        pairing.redeem(pairing.new_code(), "Mozilla/5.0 (Linux; Android 14; Pixel 8)")
        app = build_web_app(companion, set(), pairing)  # as with --lan: "Add a phone"
        app.config["COMPANION_LAN_URL"] = "http://192.0.2.2:8765"
        with serve(app, companion.hub) as host:
            context = browser.new_context(
                viewport={"width": width, "height": height},
                color_scheme=scheme,
            )
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"http://{host}/")
            expect(page.locator("#connection")).to_have_text("Connected", timeout=WAIT_MS)
            expect(page.get_by_role("button", name="Homework")).to_be_visible(timeout=WAIT_MS)
            yield Session(companion, clock, page)
            context.close()
    finally:
        companion.close()
    assert errors == [], "the page raised JavaScript errors"


def test_axe_finds_nothing_in_any_view(session: Session, request: pytest.FixtureRequest) -> None:
    page, body = session.page, session.page.locator("body")
    found: dict[str, list[str]] = {}

    def check(view: str) -> None:
        found[view] = session.violations()
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"\W+", "-", f"axe-{request.node.callspec.id}-{view}")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    check("start")
    for opener, dialog in (
        ("Keyboard shortcuts", "Keyboard shortcuts"),
        ("Safety", "Safety first"),
        ("Homework", "Homework"),
        ("Add a phone", "Add a phone"),
    ):
        page.get_by_role("button", name=opener).click()
        expect(page.get_by_role("dialog", name=dialog)).to_be_visible(timeout=WAIT_MS)
        if dialog == "Add a phone":
            expect(page.get_by_role("img", name="A QR code for the pairing link")).to_be_visible(
                timeout=WAIT_MS
            )
        check(f"dialog {dialog}")
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog", name=dialog)).to_be_hidden()

    page.locator('.script-card[data-script="speaker-listener"]').click()
    page.get_by_role("button", name="Start the chosen exercise").click()
    expect(body).to_have_attribute("data-status", "running", timeout=WAIT_MS)
    expect(page.locator("#calm-before")).to_be_visible(timeout=WAIT_MS)
    check("a spoken line, with the rating before")
    page.get_by_role("button", name="Pause").click()
    expect(body).to_have_attribute("data-status", "paused", timeout=WAIT_MS)
    check("paused")
    page.get_by_role("button", name="Resume").click()
    expect(body).to_have_attribute("data-status", "running", timeout=WAIT_MS)

    session.until("ready")
    expect(page.locator("#view-ready")).to_be_visible(timeout=WAIT_MS)
    check("ready")
    session.until("turn")
    session.clock.advance(20)  # past the speaker's prompt, onto the floor
    session.catch_up()
    expect(page.locator("#view-floor")).to_be_visible(timeout=WAIT_MS)
    check("the floor")

    page.get_by_role("button", name="Time-out").click()
    expect(page.locator("#script-title")).to_have_text("Time-out", timeout=WAIT_MS)
    into_the_break(session.companion, session.clock, minutes=None)
    expect(page.locator("#view-break")).to_be_visible(timeout=WAIT_MS)
    check("the break")
    page.get_by_role("button", name="Come back early").click()
    check("the break, asking to come back early")
    page.get_by_role("button", name="Keep the break").click()
    session.clock.advance(3 * 3600)
    session.catch_up()
    session.catch_up()
    expect(page.locator("#return-choice")).to_be_visible(timeout=WAIT_MS)
    check("the end of the break")
    page.get_by_role("button", name="End the session").click()
    expect(body).to_have_attribute("data-status", "ended", timeout=WAIT_MS)
    expect(page.locator("#calm")).to_be_visible(timeout=WAIT_MS)
    check("stopped")

    session.companion.submit(Command(CommandName.START, script="box-breathing"))
    expect(body).to_have_attribute("data-status", "running", timeout=WAIT_MS)
    session.until("breathe")
    expect(page.locator("#view-breath")).to_be_visible(timeout=WAIT_MS)
    check("breathing")
    session.clock.advance(3 * 3600)
    session.catch_up()
    expect(page.locator("#script-title")).to_have_text("Well done", timeout=WAIT_MS)
    check("completed")

    assert {view: problems for view, problems in found.items() if problems} == {}
