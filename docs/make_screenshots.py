"""Take the README screenshots of the real page: `.venv/bin/python docs/make_screenshots.py`.

Serves the real companion (captions only) on a free port, drives Debian's Chromium
through Playwright to a speaker-listener turn, and saves docs/screenshot-turn.png
at 1280x800. Also saves a reduced-motion breathing view to test-artifacts/.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright
from werkzeug.serving import make_server

from companion.app import Companion
from companion.core.script import Names
from companion.options import Options
from companion.webapp.site import build_web_app

ROOT = Path(__file__).resolve().parent.parent
# The same Chromium, flags and patience as the browser tests.
sys.path.insert(0, str(ROOT / "tests"))
from web_support import CHROMIUM, LAUNCH_ARGS, WAIT_MS  # noqa: E402


def next_until(page: Page, step_kind: str) -> None:
    """Press Next through spoken lines until a step of `step_kind` begins."""
    body = page.locator("body")
    for _ in range(16):
        if body.get_attribute("data-step-kind") == step_kind:
            return
        label = page.locator("#step-label").inner_text()
        if page.locator("#view-ready").is_visible():
            # Answer the ready gate as a partner would, rather than skipping it.
            page.locator("#view-ready button:visible").first.click()
        elif page.locator("#view-role").is_visible():
            page.locator("#view-role button").first.click()  # the first partner speaks first
        else:
            page.get_by_role("button", name="Next").click()
        expect(page.locator("#step-label")).not_to_have_text(label, timeout=WAIT_MS)
    expect(body).to_have_attribute("data-step-kind", step_kind)


def start(page: Page, script_id: str) -> None:
    page.locator(f'.script-card[data-script="{script_id}"]').click()
    page.get_by_role("button", name="Start the chosen exercise").click()
    expect(page.locator("body")).to_have_attribute("data-status", "running", timeout=WAIT_MS)


def main() -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="companion-shots-"))
    options = Options(
        voice=False,
        listen_engine="off",
        data_dir=data_dir,
        names=Names("Sam", "Alex"),
    )
    companion = Companion(options)
    companion.start()
    server = make_server("127.0.0.1", 0, build_web_app(companion, set()), threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/"
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            expect(page.locator("#connection")).to_have_text("Connected", timeout=WAIT_MS)
            start(page, "speaker-listener")
            page.locator("#calm-before-skip").click()  # the optional "before" rating
            next_until(page, "turn")
            expect(page.locator("#view-floor")).to_be_visible(timeout=WAIT_MS)
            page.mouse.move(0, 0)  # no hover highlight in the picture
            page.wait_for_timeout(2500)  # a few seconds into the turn, as a couple would see it
            target = ROOT / "docs" / "screenshot-turn.png"
            page.screenshot(path=str(target))
            print(f"saved {target.relative_to(ROOT)} ({target.stat().st_size // 1024} KiB)")
            page.get_by_role("button", name="Stop").click()

            page.emulate_media(reduced_motion="reduce")
            start(page, "slow-breathing")
            next_until(page, "breathe")
            page.wait_for_timeout(2000)
            page.screenshot(path=str(artifacts / "breathing-reduced-motion.png"))
            page.set_viewport_size({"width": 400, "height": 800})
            page.screenshot(path=str(artifacts / "breathing-narrow.png"), full_page=True)
            page.get_by_role("button", name="Stop").click()
            browser.close()
    finally:
        companion.hub.close()
        server.shutdown()
        companion.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
