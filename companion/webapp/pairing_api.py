"""Routes for pairing a phone: the phone's `/pair`, and the computer's codes and list.

The access rule itself (who needs a token) is `companion.webapp.guard.request_refusal`, which every
route goes through; these routes only hand tokens out and take them back.
"""

from __future__ import annotations

from typing import cast

from flask import Blueprint, Response, current_app, jsonify, request

from companion.webapp.pairing import CODE_SECONDS, COOKIE, COOKIE_SECONDS, Pairing, is_loopback

PAIRING_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="0; url=/">
<title>Paired</title></head>
<body><main><p>This phone is paired. <a href="/">Open the companion</a>.</p></main></body></html>
"""
"""A page, not a redirect: a SameSite=Strict cookie set in a redirect that a QR code's
cross-site navigation began would not be sent on its next hop; a refresh from here is
same-site."""


def _error(message: str, status: int) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def qr_data_uri(text: str) -> str:
    """`text` as a QR code, an SVG data URI the page shows as an image (CSP allows data:)."""
    import segno

    uri: str = segno.make(text, error="m").svg_data_uri(scale=6, border=2)
    return uri


def create_pairing_blueprint() -> Blueprint:
    """`/pair` for a phone with a code; `/api/pairing...` for the computer only."""
    bp = Blueprint("pairing", __name__)

    @bp.before_request
    def check_origin() -> Response | None:
        from companion.webapp.guard import request_refusal

        refused = request_refusal(request.environ, current_app.config)
        # An unpaired phone may come to /pair: that is how it pairs.
        if refused is None or (request.path == "/pair" and refused[1] == 401):
            return None
        return _error(*refused)

    def pairing() -> Pairing | None:
        return cast(Pairing | None, current_app.config.get("COMPANION_PAIRING"))

    def here_only() -> Response | None:
        """Pairing is managed from the computer itself, never from a phone."""
        if is_loopback(request.remote_addr or ""):
            return None
        return _error("Phones are added and removed on the companion's computer.", 403)

    @bp.get("/pair")
    def pair() -> Response:
        keeper = pairing()
        if is_loopback(request.remote_addr or "") or keeper is None:
            response = Response(status=303)
            response.headers["Location"] = "/"
            return response
        redeemed = keeper.redeem(request.args.get("code", "")[:20], request.user_agent.string)
        if redeemed is None:
            return _error(
                "That pairing code is wrong, used or expired; show a new one on the computer.",
                403,
            )
        token, _ = redeemed
        response = Response(PAIRING_PAGE, content_type="text/html; charset=utf-8")
        response.set_cookie(
            COOKIE, token, max_age=COOKIE_SECONDS, httponly=True, samesite="Strict", path="/"
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/api/pairing")
    def pairing_state() -> Response:
        refused = here_only()
        if refused is not None:
            return refused
        keeper = pairing()
        devices = keeper.devices() if keeper is not None else []
        return jsonify(
            {
                "lan": keeper is not None,
                "url": current_app.config.get("COMPANION_LAN_URL", ""),
                "devices": [
                    {"id": d.id, "name": d.name, "paired_at": d.paired_at} for d in devices
                ],
            }
        )

    @bp.post("/api/pairing/code")
    def pairing_code() -> Response:
        refused = here_only()
        if refused is not None:
            return refused
        keeper = pairing()
        base = str(current_app.config.get("COMPANION_LAN_URL", ""))
        if keeper is None or not base:
            return _error("Start the companion with --lan to add a phone.", 409)
        code = keeper.new_code()
        url = f"{base}/pair?code={code}"
        return jsonify({"code": code, "url": url, "qr": qr_data_uri(url), "seconds": CODE_SECONDS})

    @bp.delete("/api/pairing/devices/<device_id>")
    def unpair(device_id: str) -> Response:
        refused = here_only()
        if refused is not None:
            return refused
        keeper = pairing()
        if keeper is None or not keeper.revoke(device_id[:40]):
            return _error("There is no such paired device.", 404)
        return jsonify({"ok": True})

    return bp
