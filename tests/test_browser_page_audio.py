"""Every page can speak: a page that chooses "Play on this device" plays each rendered line
as the computer does (Web Audio, measured by an AnalyserNode), falls silent at once on
pause, and every page says plainly which devices are speaking.

The voice renders for real (pyttsx3 and espeak-ng); this machine has no sound card, so
the computer itself is silent and the page is the only one speaking, as with a laptop
whose speakers are off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from waiting import wait_for
from web_support import ARTIFACTS, WAIT_MS, serve

from companion.app import Companion
from companion.core.script import Names
from companion.options import Options
from companion.webapp.site import build_web_app

pytestmark = [pytest.mark.browser, pytest.mark.realtime]

LEVEL = "Number(document.querySelector('#play-here').dataset.level || 0)"


@pytest.fixture
def host(tmp_path: Path) -> Iterator[tuple[Companion, str]]:
    options = Options(
        voice=True,
        listen_engine="off",
        journal=False,
        data_dir=tmp_path,
        cache_dir=tmp_path / "voice",
        names=Names("Sam", "Alex"),
    )
    companion = Companion(options)
    companion.start()
    try:
        page_audio = companion.status()["page_audio"]
        if not (isinstance(page_audio, dict) and page_audio["on"]):
            pytest.skip("the voice engine cannot render here (espeak-ng missing?)")
        with serve(build_web_app(companion, set()), companion.hub) as served:
            yield companion, served
    finally:
        companion.close()


def open_page(browser: Browser, host: str, width: int = 390) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 844}).new_page()
    page.goto(f"http://{host}/")
    expect(page.locator("#connection")).to_have_text("Connected", timeout=WAIT_MS)
    return page


def test_a_page_that_plays_here_sounds_each_line_and_falls_silent_on_pause(
    browser: Browser, host: tuple[Companion, str]
) -> None:
    companion, served = host
    phone = open_page(browser, served)
    other = open_page(browser, served, width=1280)
    try:
        speakers = phone.locator("#speakers")
        expect(speakers).to_have_text("Nothing speaks: captions only")
        play = phone.get_by_role("button", name="Play on this device")
        play.click()
        expect(play).to_have_attribute("aria-pressed", "true")
        expect(speakers).to_have_text("Speaking: this device")
        expect(other.locator("#speakers")).to_have_text("Speaking: 1 other page", timeout=WAIT_MS)

        phone.locator('.script-card[data-script="slow-breathing"]').click()
        phone.get_by_role("button", name="Start the chosen exercise").click()
        expect(phone.locator("body")).to_have_attribute("data-status", "running", timeout=WAIT_MS)
        # Mid-session the phone's top bar is narrow: what speaks is said in a few words,
        # whole, while screen readers still hear the full sentence.
        brief = phone.locator("#speakers-short")
        expect(brief).to_be_visible()
        expect(brief).to_have_text("Sound: here")
        assert brief.evaluate("el => el.scrollWidth <= el.clientWidth"), "cut short"
        expect(speakers).to_have_text("Speaking: this device")
        expect(speakers).to_have_attribute("role", "status")
        other_play = other.get_by_role("button", name="Play on this device")
        other_play.click()
        expect(brief).to_have_text("Sound: here + 1 page", timeout=WAIT_MS)
        assert brief.evaluate("el => el.scrollWidth <= el.clientWidth"), "cut short"
        expect(speakers).to_have_text("Speaking: this device and 1 other page")
        other_play.click()
        expect(brief).to_have_text("Sound: here", timeout=WAIT_MS)
        # The AnalyserNode hears the line: audio is advancing on the phone.
        # (Polled from here: the page's CSP rightly refuses the eval wait_for_function needs.)
        wait_for(lambda: phone.evaluate(LEVEL) > 0.01)
        ARTIFACTS.mkdir(exist_ok=True)
        phone.screenshot(path=str(ARTIFACTS / "phone-playing-here.png"))

        phone.get_by_role("button", name="Pause").click()
        expect(phone.locator("body")).to_have_attribute("data-status", "paused", timeout=WAIT_MS)
        wait_for(lambda: phone.evaluate(LEVEL) < 0.001)
        # Not a speed check: while paused it stays silent, however long we listen.
        phone.wait_for_timeout(1000)
        assert phone.evaluate(LEVEL) < 0.001

        play.click()  # and off again: every page learns it
        expect(other.locator("#speakers")).to_have_text(
            "Nothing speaks: captions only", timeout=WAIT_MS
        )
    finally:
        phone.context.close()
        other.context.close()
    wait_for(lambda: companion.hub.subscriber_count == 0)


def test_a_rendered_line_is_served_by_its_key_and_nothing_else_is(
    host: tuple[Companion, str],
) -> None:
    import http.client

    companion, served = host
    assert companion.speech is not None
    companion.speech.prepare(["Breathe in slowly."])
    key = companion.speech.audio_key("Breathe in slowly.")
    assert key is not None
    connection = http.client.HTTPConnection(served, timeout=10)
    try:
        for path, status in (
            (f"/audio/{key}.wav", 200),
            ("/audio/../../etc/passwd.wav", 404),
            (f"/audio/{'0' * 32}.wav", 404),
        ):
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            assert response.status == status, path
            if status == 200:
                assert body[:4] == b"RIFF" and response.getheader("Content-Type") == "audio/wav"
    finally:
        connection.close()
