"""Who may use the companion: its own Host and Origin, and paired devices only.

`request_refusal` is the one check every route (and /ws) goes through, so a web page
the couple happens to visit cannot drive the companion, nor an unpaired phone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from companion.webapp.pairing import COOKIE, Pairing, is_loopback

LOOPBACK_NAMES: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)


def _with_port(host: str, default_port: str) -> str:
    """`host` as `name:port`, adding the scheme's default port when none is given."""
    host = host.strip().lower()
    if host.startswith("["):
        return host if "]:" in host else f"{host}:{default_port}"
    return host if ":" in host else f"{host}:{default_port}"


def allowed_hosts_for(environ: Mapping[str, Any], configured: set[str]) -> set[str]:
    """The loopback names on the port this server listens on, plus configured host:port values."""
    port = str(environ.get("SERVER_PORT", "80"))
    return {f"{name}:{port}" for name in LOOPBACK_NAMES} | {
        _with_port(host, "80") for host in configured
    }


NOT_PAIRED = (
    "This device is not paired with the companion: on its computer, choose Add a phone and"
    " open the link it shows."
)
ONLY_HERE = (
    "Only the computer the companion runs on can use it; start it with --lan to pair a phone."
)


def device_token(environ: Mapping[str, Any]) -> str | None:
    """The pairing token a request carries in its cookie, if any."""
    from werkzeug.http import parse_cookie

    return parse_cookie(str(environ.get("HTTP_COOKIE", ""))).get(COOKIE)


def device_refusal(environ: Mapping[str, Any], pairing: Pairing | None) -> tuple[str, int] | None:
    """Why a request from another device must be refused (not paired), or None.

    This computer (loopback) needs no token; any other address needs one, whatever Host
    it claims, and none can pair unless the companion was started with --lan."""
    if is_loopback(str(environ.get("REMOTE_ADDR", ""))):
        return None
    if pairing is None:
        return ONLY_HERE, 403
    if pairing.device_for(device_token(environ)) is None:
        return NOT_PAIRED, 401
    return None


def request_refusal(
    environ: Mapping[str, Any], config: Mapping[str, Any]
) -> tuple[str, int] | None:
    """Host and Origin, then pairing: the one check every route (and /ws) goes through."""
    configured = cast(set[str], config.get("COMPANION_ALLOWED_HOSTS", set()))
    reason = refusal(environ, configured)
    if reason is not None:
        return reason, 403
    return device_refusal(environ, cast(Pairing | None, config.get("COMPANION_PAIRING")))


def refusal(environ: Mapping[str, Any], configured: set[str]) -> str | None:
    """Why this request must be refused (a foreign Host or Origin), or None when it may go on."""
    allowed = allowed_hosts_for(environ, configured)
    host = environ.get("HTTP_HOST", "")
    if not host or _with_port(host, "80") not in allowed:
        return "This companion only answers to its own address."
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None:
        scheme, _, rest = origin.strip().lower().partition("://")
        if scheme != "http" or "/" in rest or _with_port(rest, "80") not in allowed:
            return "Requests from other web pages are refused."
    return None
