"""Phones that pair, through the web layer: every route and /ws refuses other devices
unless they are paired, pairing takes a one-time code and sets an HttpOnly, SameSite=Strict
cookie, revoking ends it, and only the companion's own computer manages any of it.

Requests come "from the network" by their REMOTE_ADDR, as the server sees them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from web_support import FakeController

from companion.practice.journal import Journal
from companion.webapp.guard import NOT_PAIRED, ONLY_HERE
from companion.webapp.homework_api import create_homework_blueprint
from companion.webapp.pairing import COOKIE, Pairing
from companion.webapp.routes import create_app

LAN = "192.0.2.2:8765"
PHONE = {"base_url": f"http://{LAN}", "environ_base": {"REMOTE_ADDR": "192.0.2.50"}}
LAPTOP = {"base_url": "http://127.0.0.1:8765"}
ROUTES = [
    ("get", "/"),
    ("get", "/app.js"),
    ("get", "/api/state"),
    ("get", "/api/scripts"),
    ("post", "/api/command"),
    ("get", "/api/homework"),
    ("post", "/api/homework"),
    ("get", "/api/journal/export?format=csv"),
    ("post", "/api/journal/calm"),
    ("get", "/ws"),
]


def client_for(tmp_path: Path, pairing: Pairing | None) -> FlaskClient:
    app = create_app(
        FakeController(), allowed_hosts={LAN}, pairing=pairing, lan_url=f"http://{LAN}"
    )
    app.register_blueprint(create_homework_blueprint(lambda: Journal(tmp_path)))
    return app.test_client()


@pytest.fixture
def pairing() -> Pairing:
    return Pairing(None)


@pytest.fixture
def client(tmp_path: Path, pairing: Pairing) -> Iterator[FlaskClient]:
    yield client_for(tmp_path, pairing)


def pair(client: FlaskClient, pairing: Pairing) -> str:
    """Pair "the phone" with a fresh code; return the token its cookie now holds."""
    response = client.get(f"/pair?code={pairing.new_code()}", **PHONE)
    assert response.status_code == 200
    cookie = client.get_cookie(COOKIE, domain="192.0.2.2")
    assert cookie is not None
    return cookie.value


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_an_unpaired_device_is_refused_everywhere(
    client: FlaskClient, method: str, path: str
) -> None:
    response = getattr(client, method)(path, **PHONE)
    response.close()
    assert response.status_code == 401
    assert response.get_json() == {"error": NOT_PAIRED}


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_without_lan_another_device_is_refused_even_when_it_forges_the_host(
    tmp_path: Path, method: str, path: str
) -> None:
    # The attack from the network: claim to be 127.0.0.1 in the Host header.
    forged = {"base_url": "http://127.0.0.1:8765", "environ_base": {"REMOTE_ADDR": "192.0.2.50"}}
    response = getattr(client_for(tmp_path, None), method)(path, **forged)
    response.close()
    assert (response.status_code, response.get_json()) == (403, {"error": ONLY_HERE})


def test_a_paired_phone_gets_an_httponly_strict_cookie_and_everything_works(
    client: FlaskClient, pairing: Pairing
) -> None:
    response = client.get(f"/pair?code={pairing.new_code()}", **PHONE)
    set_cookie = response.headers["Set-Cookie"]
    assert set_cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    assert '<meta http-equiv="refresh" content="0; url=/">' in response.get_data(as_text=True)
    for method, path in ROUTES[:4]:
        answer = getattr(client, method)(path, **PHONE)
        answer.close()
        assert answer.status_code == 200, path
    assert client.post("/api/command", json={"name": "pause"}, **PHONE).status_code == 202


def test_a_code_works_once_and_a_wrong_one_not_at_all(
    client: FlaskClient, pairing: Pairing
) -> None:
    code = pairing.new_code()
    assert client.get(f"/pair?code={code}", **PHONE).status_code == 200
    other = client_for(Path("."), pairing)
    assert other.get(f"/pair?code={code}", **PHONE).status_code == 403
    assert other.get("/pair?code=WRONG1", **PHONE).status_code == 403
    assert other.get("/api/state", **PHONE).status_code == 401


def test_a_revoked_phone_is_refused_again(client: FlaskClient, pairing: Pairing) -> None:
    pair(client, pairing)
    assert client.get("/api/state", **PHONE).status_code == 200
    laptop = client_for(Path("."), pairing)
    [device] = laptop.get("/api/pairing", **LAPTOP).get_json()["devices"]
    assert laptop.delete(f"/api/pairing/devices/{device['id']}", **LAPTOP).status_code == 200
    assert client.get("/api/state", **PHONE).get_json() == {"error": NOT_PAIRED}
    assert laptop.get("/api/pairing", **LAPTOP).get_json()["devices"] == []


def test_only_the_companions_computer_makes_codes_lists_and_removes_phones(
    client: FlaskClient, pairing: Pairing
) -> None:
    pair(client, pairing)  # even a paired phone may not
    assert client.post("/api/pairing/code", **PHONE).status_code == 403
    assert client.get("/api/pairing", **PHONE).status_code == 403
    assert client.delete("/api/pairing/devices/any", **PHONE).status_code == 403
    laptop = client.post("/api/pairing/code", **LAPTOP).get_json()
    assert laptop["url"] == f"http://{LAN}/pair?code={laptop['code']}"
    assert laptop["qr"].startswith("data:image/svg+xml")


def test_the_companions_own_computer_needs_no_pairing(client: FlaskClient) -> None:
    assert client.get("/api/state", **LAPTOP).status_code == 200
    assert client.get("/pair?code=ANY", **LAPTOP).status_code == 303
