"""Two real browser contexts on this computer's LAN address, as two devices on the Wi-Fi:
the unpaired one is refused everywhere (the page, the API, the WebSocket); the paired one
works, and is refused again once the computer removes it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from web_support import ARTIFACTS, WAIT_MS
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from companion.app import Companion
from companion.core.script import Names
from companion.options import Options
from companion.webapp.guard import NOT_PAIRED
from companion.webapp.pairing import COOKIE, Pairing, lan_address
from companion.webapp.server import make_companion_server
from companion.webapp.site import build_web_app

pytestmark = pytest.mark.browser


@dataclass
class Lan:
    base: str
    pairing: Pairing


@pytest.fixture
def lan(tmp_path: Path) -> Iterator[Lan]:
    address = lan_address()
    if address is None:
        pytest.skip("this machine has no LAN address")
    options = Options(
        voice=False, listen_engine="off", data_dir=tmp_path, names=Names("Sam", "Alex")
    )
    companion = Companion(options)
    companion.start()
    pairing = Pairing(tmp_path)
    app = build_web_app(companion, set(), pairing)
    # On the LAN address only: the test's own traffic, never the wider network.
    server = make_companion_server(address, 0, app)
    host = f"{address}:{server.server_port}"
    app.config["COMPANION_ALLOWED_HOSTS"] = {host}
    app.config["COMPANION_LAN_URL"] = f"http://{host}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Lan(f"http://{host}", pairing)
    finally:
        companion.hub.close()
        server.shutdown()
        thread.join(10)
        server.server_close()
        companion.close()


def test_only_the_paired_device_on_the_lan_gets_in_and_only_until_it_is_removed(
    browser: Browser, lan: Lan
) -> None:
    laptop = browser.new_context(viewport={"width": 1280, "height": 800})
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        # Unpaired: refused everywhere.
        page = laptop.new_page()
        response = page.goto(f"{lan.base}/")
        assert response is not None and response.status == 401
        for path in ("/api/state", "/api/homework", "/app.js"):
            answer = laptop.request.get(f"{lan.base}{path}")
            assert (answer.status, answer.json()) == (401, {"error": NOT_PAIRED}), path
        with pytest.raises(InvalidStatus) as refused:
            connect(lan.base.replace("http", "ws") + "/ws", open_timeout=10)
        assert refused.value.response.status_code == 401

        # Paired with a one-time code: the page loads, connects and drives the session.
        mobile = phone.new_page()
        mobile.goto(f"{lan.base}/pair?code={lan.pairing.new_code()}")
        expect(mobile.locator("#connection")).to_have_text("Connected", timeout=WAIT_MS)
        [cookie] = [c for c in phone.cookies() if c["name"] == COOKIE]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        mobile.get_by_role("button", name="Time-out").click()
        expect(mobile.locator("#script-title")).to_have_text("Time-out", timeout=WAIT_MS)
        ARTIFACTS.mkdir(exist_ok=True)
        mobile.screenshot(path=str(ARTIFACTS / "paired-phone-time-out.png"))
        # The unpaired one is still refused, and the code cannot be used again.
        assert page.goto(f"{lan.base}/").status == 401  # type: ignore[union-attr]
        assert laptop.request.get(f"{lan.base}/api/state").status == 401

        # Removed on the computer: its open page loses the connection, and a reload is refused.
        [device] = lan.pairing.devices()
        assert lan.pairing.revoke(device.id)
        expect(mobile.locator("#connection")).not_to_have_text("Connected", timeout=WAIT_MS)
        assert mobile.reload().status == 401  # type: ignore[union-attr]
    finally:
        laptop.close()
        phone.close()


def test_the_computer_shows_a_code_and_qr_and_lists_and_removes_phones(
    browser: Browser, tmp_path: Path
) -> None:
    from web_support import serve

    options = Options(voice=False, listen_engine="off", data_dir=tmp_path)
    companion = Companion(options)
    companion.start()
    pairing = Pairing(tmp_path)
    pairing.redeem(pairing.new_code(), "Mozilla/5.0 (Linux; Android 14; Pixel 8)")
    app = build_web_app(companion, set(), pairing)
    app.config["COMPANION_LAN_URL"] = "http://192.0.2.2:8765"
    context = browser.new_context()
    try:
        with serve(app, companion.hub) as host:
            page = context.new_page()
            page.goto(f"http://{host}/")
            page.get_by_role("button", name="Add a phone").click()
            dialog = page.get_by_role("dialog", name="Add a phone")
            expect(dialog.get_by_role("img", name="A QR code for the pairing link")).to_be_visible(
                timeout=WAIT_MS
            )
            link = dialog.locator("#pair-link")
            expect(link).to_contain_text("http://192.0.2.2:8765/pair?code=")
            code = link.inner_text().rsplit("code ", 1)[1].rstrip(")")
            assert pairing.redeem(code, "a tablet") is not None  # the code shown works
            remove = dialog.get_by_role("button", name="Remove Linux; Android 14")
            expect(remove).to_be_visible()
            remove.click()
            expect(remove).to_be_hidden(timeout=WAIT_MS)
            assert [device.name for device in pairing.devices()] == ["a tablet"]
    finally:
        context.close()
        companion.close()
