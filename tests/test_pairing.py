"""Pairing codes and device tokens: single-use, short-lived, revocable, stored as digests."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from companion.webapp.pairing import (
    CODE_ALPHABET,
    CODE_LENGTH,
    CODE_SECONDS,
    DEVICES_FILE,
    Pairing,
    is_loopback,
)

PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126 Mobile"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_code_is_short_unambiguous_and_works_once() -> None:
    pairing = Pairing(None)
    code = pairing.new_code()
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    redeemed = pairing.redeem(code.lower(), PHONE)  # typed on a phone, in any case
    assert redeemed is not None
    token, device = redeemed
    assert device.name == "Linux; Android 14"
    assert pairing.device_for(token) == device
    assert pairing.redeem(code, PHONE) is None  # used up


def test_a_code_expires_in_minutes() -> None:
    clock = Clock()
    pairing = Pairing(None, clock)
    code = pairing.new_code()
    clock.now += CODE_SECONDS + 1
    assert pairing.redeem(code, PHONE) is None


def test_a_wrong_code_or_token_gets_nothing() -> None:
    pairing = Pairing(None)
    pairing.new_code()
    assert pairing.redeem("AAAAAA", PHONE) is None
    assert pairing.device_for("made-up") is None
    assert pairing.device_for(None) is None


def test_a_revoked_device_is_refused_and_the_others_stay() -> None:
    pairing = Pairing(None)
    first = pairing.redeem(pairing.new_code(), PHONE)
    second = pairing.redeem(pairing.new_code(), "a tablet")
    assert first is not None and second is not None
    assert pairing.revoke(first[1].id)
    assert pairing.device_for(first[0]) is None
    assert pairing.device_for(second[0]) == second[1]
    assert pairing.devices() == [second[1]]
    assert not pairing.revoke(first[1].id)


def test_paired_devices_outlive_a_restart_and_only_digests_are_stored(tmp_path: Path) -> None:
    pairing = Pairing(tmp_path)
    redeemed = pairing.redeem(pairing.new_code(), PHONE)
    assert redeemed is not None
    token, device = redeemed
    text = (tmp_path / DEVICES_FILE).read_text()
    assert token not in text
    assert json.loads(text)["devices"][0]["id"] == device.id
    if os.name == "posix":
        assert stat.S_IMODE((tmp_path / DEVICES_FILE).stat().st_mode) == 0o600
    assert Pairing(tmp_path).device_for(token) == device


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("192.168.1.20", False),
        ("10.0.0.5", False),
        ("fe80::1%eth0", False),
        ("", False),
        ("nonsense", False),
    ],
)
def test_only_this_computers_own_addresses_need_no_pairing(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback
