"""Figures for "Play on this device": how long after the computer a page starts a line.

Run: .venv/bin/python bench/bench_page_audio.py
A real companion (the voice renders with espeak-ng; no sound card needed) on 127.0.0.1,
Debian's Chromium as the page, "Play on this device" on, a session stepped through by
Next. The computer starts a line when the runner hands it the effect; the page starts it
once the `sound` message arrives (WebSocket delivery: see bench_server.py's fan-out) and
its buffer is ready; the page measures that second part itself (data-lag).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from companion.app import Companion
from companion.core.effects import Command, CommandName
from companion.options import Options
from companion.webapp.server import make_companion_server
from companion.webapp.site import build_web_app

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from web_support import CHROMIUM, LAUNCH_ARGS  # noqa: E402


def main(lines: int = 20) -> None:
    with tempfile.TemporaryDirectory() as folder:
        options = Options(
            listen_engine="off", journal=False, data_dir=Path(folder), cache_dir=Path(folder)
        )
        companion = Companion(options)
        companion.start()
        server = make_companion_server("127.0.0.1", 0, build_web_app(companion, set()))
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        lags: list[float] = []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{server.server_port}/")
                page.get_by_role("button", name="Play on this device").click()
                companion.submit(Command(CommandName.START, script="naming-sensations"))
                time.sleep(3)  # rendered and preloaded
                seen = ""
                for _ in range(lines):
                    companion.submit(Command(CommandName.NEXT))
                    deadline = time.monotonic() + 5
                    while time.monotonic() < deadline:
                        lag = page.locator("#play-here").get_attribute("data-lag") or ""
                        caption = page.locator("#caption").inner_text()
                        if lag and caption != seen:
                            seen = caption
                            lags.append(float(lag))
                            break
                        time.sleep(0.05)
                    time.sleep(0.3)
                browser.close()
        finally:
            companion.hub.close()
            server.shutdown()
            server.server_close()
            companion.close()
    if not lags:
        print("no line was played by the page", file=sys.stderr)
        return
    ordered = sorted(lags)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(
        f"page: `sound` message -> line starting ({len(lags)} lines, preloaded):"
        f" p50 {statistics.median(lags):.1f} ms, p95 {p95:.1f} ms, max {max(lags):.1f} ms"
    )


if __name__ == "__main__":
    main()
