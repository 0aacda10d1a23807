"""A couple's evening, run whole: the laptop speaks and listens, a phone is paired and plays
the guidance too, a TV talks in the room, and the partners use their voices and both pages.

Run: .venv/bin/python bench/bench_couple.py   (part of `bash tools/bench.sh`; about 3 min)
The real `companion serve --lan` runs on the full-duplex rig (tests/pulse_rig.py: a
PulseAudio server with no sound card, a kitchen carrying the companion's voice back into
its microphone). Two real Chromium contexts are the two devices: the laptop on 127.0.0.1,
the phone on the LAN address, paired with the code the terminal printed. A TV reads the
news 12 dB below the partners the whole time (`--tv-below`, `--no-tv`). Each step prints
"ok" or "FAILED" and how long it took; screenshots and the companion's log go to
test-artifacts/couple-*. Exit status 1 if any failed.

Voices and sentences here are in neither tests/ nor the other benches.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from duplex_support import ServedCompanion  # noqa: E402
from pulse_rig import KITCHEN, PulseRig, rig_missing  # noqa: E402
from spoken import speak  # noqa: E402
from web_support import CHROMIUM, LAUNCH_ARGS  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
PARTNER_A = ("en-us-nyc", 155, 40)
PARTNER_B = ("en-gb-scotland", 150, 70)
TV_VOICE = ("en-gb-x-rp", 175, 55)
TV_TEXT = (
    "Good evening. Heavy rain is expected across the north tonight, with strong winds on the"
    " coast. In the city, the new bridge opened to traffic this morning after three years of"
    " work. Shares rose slightly in early trading. And in sport, the home side won again."
)
TV_BELOW_DB = 12.0
LEVEL = "Number(document.querySelector('#play-here').dataset.level || 0)"
# The page plays the guidance with no click: nobody is there to give one.
AUTOPLAY_ARGS = [*LAUNCH_ARGS, "--autoplay-policy=no-user-gesture-required"]


def rms(samples: np.ndarray) -> float:
    loud = samples[np.abs(samples) > 300]
    return float(np.sqrt(np.mean(np.square(loud)))) if len(loud) else 1.0


class Evening:
    """The steps' bookkeeping: each is timed, and a failure is noted, not raised."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def step(self, name: str, check: Callable[[], object], timeout: float = 15.0) -> bool:
        began = time.monotonic()
        deadline = began + timeout
        error = ""
        while time.monotonic() < deadline:
            try:
                if check():
                    print(f"  ok      {name} ({time.monotonic() - began:.1f} s)", flush=True)
                    return True
            except Exception as problem:  # a page mid-reload, a state mid-change
                error = f": {problem}"[:200]
            time.sleep(0.1)
        print(f"  FAILED  {name} (after {timeout:.0f} s{error})", flush=True)
        self.failed.append(name)
        return False


def tv(rig: PulseRig, gain: float, stop: threading.Event) -> None:
    news = speak(TV_TEXT, *TV_VOICE)
    while not stop.is_set():
        rig.say(news, gain)


def pairing_link(served: ServedCompanion) -> str:
    found = re.search(r"open (http://\S+/pair\?code=\S+)", served.log_path.read_text())
    return found[1] if found else ""


def text(page: Page, selector: str) -> str:
    return page.locator(selector).inner_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tv-below", type=float, default=TV_BELOW_DB, help="the TV's level under the partners"
    )
    parser.add_argument("--no-tv", action="store_true", help="an evening without the TV")
    args = parser.parse_args()
    missing = rig_missing()
    if missing:
        print(f"bench_couple: {missing}", file=sys.stderr)
        return 1
    evening = Evening()
    ARTIFACTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        root = Path(folder)
        rig = PulseRig(root, KITCHEN).start()
        served = ServedCompanion(rig, root, root / "cache", "--lan", "--names", "Maya,Jon")
        stop_tv = threading.Event()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=AUTOPLAY_ARGS)
        try:
            served.wait_ready(timeout=300)
            said = {w: speak(w, *PARTNER_A) for w in ("time out", "pause", "resume")}
            gain = rms(said["pause"]) / rms(speak(TV_TEXT[:80], *TV_VOICE))
            if not args.no_tv:
                threading.Thread(
                    target=tv, args=(rig, gain * 10 ** (-args.tv_below / 20), stop_tv), daemon=True
                ).start()

            laptop = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            laptop.goto(served.base + "/")
            evening.step("laptop page connects", lambda: text(laptop, "#connection") == "Connected")
            link = pairing_link(served)
            print(f"  (pairing link from the terminal: {link or 'none'})")
            phone_context = browser.new_context(
                viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
            )
            phone = phone_context.new_page()
            phone.goto(link)
            evening.step(
                "phone pairs with the printed code and connects",
                lambda: text(phone, "#connection") == "Connected",
            )
            phone.get_by_role("button", name="Play on this device").click()
            evening.step(
                "the laptop says the phone speaks too",
                lambda: "other page" in text(laptop, "#speakers"),
            )

            laptop.locator('.script-card[data-script="speaker-listener"]').click()
            laptop.get_by_role("button", name="Start the chosen exercise").click()
            evening.step(
                "speaker-listener asks who speaks first, on both pages",
                lambda: (
                    phone.locator("#view-role").is_visible()
                    and laptop.locator("#view-role").is_visible()
                ),
                timeout=60,
            )
            phone.get_by_role("button", name="Jon", exact=True).click()
            evening.step(
                "Jon, chosen on the phone, is named on the laptop",
                lambda: "Jon" in text(laptop, "#caption"),
            )
            evening.step("the laptop's voice is playing", lambda: rig.speaker.playing(), 20)

            rig.say(said["time out"])

            def on_break() -> bool:
                return (
                    text(laptop, "#script-title") == "Time-out"
                    and text(phone, "#script-title") == "Time-out"
                )

            if not evening.step(
                '"time out" said over the voice starts the break on both', on_break, timeout=10
            ):
                phone.get_by_role("button", name="Time-out").click()  # and the evening goes on
                evening.step("Time-out pressed on the phone starts it on both", on_break)
            evening.step(
                "the phone plays the time-out's lines",
                lambda: phone.evaluate(LEVEL) > 0.01,
                timeout=30,
            )
            evening.step(
                "the break's countdown shows on the phone",
                lambda: phone.locator("#view-break").is_visible(),
                timeout=60,
            )
            phone.screenshot(path=str(ARTIFACTS / "couple-phone-time-out.png"))
            before = (served.state()["break"] or {}).get("remaining", 0.0)
            phone.get_by_role("button", name=re.compile(r"^More time")).click()
            evening.step(
                "more time asked on the phone: the break is 20 minutes longer",
                lambda: served.state()["break"]["remaining"] > before + 19 * 60,
            )
            evening.step(
                "the new return time is said",
                lambda: "come back together in" in text(laptop, "#caption"),
            )
            laptop.screenshot(path=str(ARTIFACTS / "couple-laptop-time-out.png"))
            phone.get_by_role("button", name="Come back early").click()
            phone.get_by_role("button", name="Yes, come back now").click()
            evening.step(
                "coming back early (confirmed on the phone) begins with the re-entry",
                lambda: "Welcome back" in text(laptop, "#caption"),
            )
            evening.step("the voice speaks again", lambda: rig.speaker.playing(), 20)
            time.sleep(1.0)
            rig.say(said["pause"])

            def paused() -> bool:
                return (
                    laptop.locator("body").get_attribute("data-status") == "paused"
                    and phone.locator("body").get_attribute("data-status") == "paused"
                )

            if not evening.step('"pause" said over the voice pauses both pages', paused, 5):
                laptop.keyboard.press("Space")
                evening.step("Space on the laptop pauses both pages", paused)
            evening.step("the laptop falls silent", lambda: not rig.speaker.playing(0.3), 3)
            evening.step("the phone falls silent", lambda: phone.evaluate(LEVEL) < 0.001, 3)
            time.sleep(2.0)
            rig.say(speak("resume", *PARTNER_B))

            def going() -> bool:
                return served.state()["status"] in ("running", "waiting")

            if not evening.step('"resume" from the other partner resumes', going, 5):
                phone.get_by_role("button", name="Resume").click()
                evening.step("Resume on the phone resumes", going)
            laptop.get_by_role("button", name="Stop").click()
            evening.step("Stop on the laptop ends it", lambda: served.state()["status"] == "ended")
            status = served.status()
            evening.step(
                "voice and listening are still on",
                lambda: status["voice"]["on"] and status["listening"]["on"],
                timeout=1,
            )
            print(
                f"  voice underruns {status['voice'].get('underruns')}, mic overflows"
                f" {status['listening'].get('overflows')}, commands acted on"
                f" {status['listening'].get('heard')}, holds {status['listening'].get('held')}"
            )
        finally:
            stop_tv.set()
            browser.close()
            served.close()
            rig.stop()
            shutil.copy(served.log_path, ARTIFACTS / "couple-companion.log")
    tv_note = "no TV" if args.no_tv else f"a TV {args.tv_below:g} dB below"
    outcome = "all steps ok" if not evening.failed else f"FAILED {evening.failed}"
    print(f"couple's evening ({tv_note}): {outcome}")
    return 1 if evening.failed else 0


if __name__ == "__main__":
    sys.exit(main())
