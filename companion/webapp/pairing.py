"""Phones that pair: short one-time codes, revocable device tokens, and who may ask what.

The computer the companion runs on (loopback) needs nothing. Any other device needs a
token, which it gets once by opening the pairing link with a code shown on the computer;
the token lives in an HttpOnly, SameSite=Strict cookie. Codes are single-use and expire
in minutes; tokens are stored only as SHA-256 digests, in the data folder (0600), so a
copy of the folder lets nobody in, and each can be revoked from the computer.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from companion.private_files import open_private, private_folder

log = logging.getLogger(__name__)

COOKIE = "companion_device"
CODE_SECONDS = 5 * 60
"""A pairing code works for five minutes, once."""
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""No 0/O or 1/I: read off a screen and typed on a phone without doubt."""
CODE_LENGTH = 6
MAX_CODES = 8
"""Codes waiting at once; an older one gives way to a newer."""
MAX_DEVICES = 20
DEVICES_FILE = "devices.json"
COOKIE_SECONDS = 400 * 24 * 3600
"""As long as browsers keep a cookie: a paired phone stays paired until revoked."""


def is_loopback(address: str) -> bool:
    """True for this computer's own addresses (127.0.0.0/8, ::1), which need no pairing."""
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Device:
    """A paired device as the computer lists it."""

    id: str
    """Short and public: what revoking names."""
    name: str
    """What the device said it is (its browser's own words, shortened)."""
    paired_at: str
    """ISO 8601, UTC."""


class Pairing:
    """Pairing codes and device tokens; any thread may call it."""

    def __init__(self, folder: Path | None, clock: Callable[[], float] = time.time) -> None:
        """`folder` keeps paired devices across restarts (None: in memory only)."""
        self._folder = folder
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, float] = {}
        self._devices: dict[str, Device] = {}
        """Token digest -> device."""
        self._load()

    # -- codes ------------------------------------------------------------------------------

    def new_code(self) -> str:
        """A fresh code, good once for CODE_SECONDS."""
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        with self._lock:
            self._forget_expired()
            while len(self._codes) >= MAX_CODES:
                del self._codes[min(self._codes, key=self._codes.__getitem__)]
            self._codes[code] = self._clock() + CODE_SECONDS
        return code

    def redeem(self, code: str, name: str) -> tuple[str, Device] | None:
        """A new token and its device for a valid code, which is then used up; else None."""
        code = code.strip().upper()
        with self._lock:
            self._forget_expired()
            if self._codes.pop(code, None) is None:
                return None
            if len(self._devices) >= MAX_DEVICES:
                oldest = min(self._devices, key=lambda key: self._devices[key].paired_at)
                del self._devices[oldest]
            token = secrets.token_urlsafe(32)
            device = Device(
                id=secrets.token_hex(4),
                name=_short_name(name),
                paired_at=datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds"),
            )
            self._devices[_digest(token)] = device
            self._save()
        log.info("paired %s (%s)", device.name, device.id)
        return token, device

    def _forget_expired(self) -> None:
        now = self._clock()
        for code in [code for code, until in self._codes.items() if until <= now]:
            del self._codes[code]

    # -- devices ----------------------------------------------------------------------------

    def device_for(self, token: str | None) -> Device | None:
        """The device a token belongs to, or None (no token, unknown, or revoked)."""
        if not token:
            return None
        with self._lock:
            return self._devices.get(_digest(token))

    def devices(self) -> list[Device]:
        """Every paired device, oldest first."""
        with self._lock:
            return sorted(self._devices.values(), key=lambda device: device.paired_at)

    def revoke(self, device_id: str) -> bool:
        """Unpair a device: its token works no more. False when there is no such device."""
        with self._lock:
            found = [key for key, device in self._devices.items() if device.id == device_id]
            for key in found:
                del self._devices[key]
            if found:
                self._save()
        return bool(found)

    # -- the file ---------------------------------------------------------------------------

    def _load(self) -> None:
        if self._folder is None:
            return
        path = self._folder / DEVICES_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data["devices"] if isinstance(data, dict) else []
            for entry in entries:
                device = Device(str(entry["id"]), str(entry["name"]), str(entry["paired_at"]))
                self._devices[str(entry["digest"])] = device
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("ignoring the paired devices in %s: %s", path, error)
            self._devices.clear()

    def _save(self) -> None:
        """Under the lock: every paired device, written whole (digests, never tokens)."""
        if self._folder is None:
            return
        entries = [{"digest": key, **asdict(device)} for key, device in self._devices.items()]
        try:
            private_folder(self._folder)
            path = self._folder / DEVICES_FILE
            temp = path.with_name(f".{DEVICES_FILE}.{os.getpid()}.tmp")
            temp.unlink(missing_ok=True)
            with os.fdopen(open_private(temp, "a"), "w", encoding="utf-8") as file:
                json.dump({"version": 1, "devices": entries}, file, indent=2)
            os.replace(temp, path)
        except OSError as error:
            log.warning("could not remember the paired devices: %s", error)


def _short_name(user_agent: str) -> str:
    """A device's name from its User-Agent: the platform in brackets, else the start."""
    text = "".join(ch for ch in user_agent if ch.isprintable())
    if "(" in text and ")" in text:
        inside = text[text.index("(") + 1 : text.index(")")]
        parts = [part.strip() for part in inside.split(";") if part.strip()]
        if parts:
            return "; ".join(parts[:2])[:60]
    return text[:60] or "A device"


def lan_address() -> str | None:
    """This computer's address on the local network, or None when it has none.

    Connecting a UDP socket sends nothing; it only asks which address would be used."""
    import socket

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
        address: str = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if is_loopback(address) else address
