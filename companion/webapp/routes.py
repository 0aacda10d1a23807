"""The page, its JSON API and the /ws route: a thin adapter between browsers and the controller.

Messages are checked in `inbound`, requests in `guard`, each page's socket run in
`page_socket`; this module puts them together as one Flask app.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    request,
    send_file,
    send_from_directory,
)
from flask_sock import Sock
from werkzeug.exceptions import HTTPException

from companion.library.nesting import MAX_NESTING, json_too_deep
from companion.package_files import package_folder
from companion.webapp.controller import Controller
from companion.webapp.guard import SECURITY_HEADERS, device_token, request_refusal
from companion.webapp.inbound import MAX_MESSAGE_BYTES, MessageError, parse_command
from companion.webapp.page_socket import script_ids, serve_socket
from companion.webapp.pairing import Pairing, is_loopback

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 65536
"""Larger frames close the connection: nobody legitimate sends them."""
PING_SECONDS = 20
"""Pings find tabs that vanished without closing (a laptop lid shut)."""
MAX_SOCKETS = 16
"""Pages connected at once: a couple's laptop and phones, with room for stale tabs."""
DEFAULT_WEB_DIR = package_folder("web")


def _json_error(message: str, status: int) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def create_blueprint(controller: Controller, web_dir: Path, sock: Sock | None = None) -> Blueprint:
    """The page, static files, JSON API and (when `sock` is given) the /ws route."""
    bp = Blueprint("companion", __name__)

    @bp.before_request
    def check_origin() -> Response | None:
        refused = request_refusal(request.environ, current_app.config)
        if refused is not None:
            logger.warning(
                "refused %s %s from %s (Host %r, Origin %r): %s",
                request.method,
                request.path,
                request.remote_addr,
                request.host,
                request.headers.get("Origin"),
                refused[0],
            )
            return _json_error(*refused)
        if request.path == "/ws" and controller.hub.subscriber_count >= MAX_SOCKETS:
            message = f"{MAX_SOCKETS} pages are connected already; close one and reload."
            return _json_error(message, 503)
        return None

    @bp.get("/audio/<key>.wav")
    def audio(key: str) -> Response:
        path = controller.audio_file(key)
        if path is None:
            return _json_error("That line has not been rendered.", 404)
        # The key is a hash of everything that makes the sound: the file never changes.
        return send_file(path, mimetype="audio/wav", max_age=365 * 24 * 3600)

    @bp.get("/")
    def index() -> Response:
        response = send_from_directory(web_dir, "index.html", max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @bp.get("/<path:filename>")
    def static_file(filename: str) -> Response:
        # send_from_directory refuses paths outside web_dir (404).
        response = send_from_directory(web_dir, filename, max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @bp.get("/api/scripts")
    def api_scripts() -> Response:
        return jsonify(controller.scripts())

    @bp.get("/api/state")
    def api_state() -> Response:
        return jsonify(controller.state())

    @bp.get("/api/status")
    def api_status() -> Response:
        return jsonify(controller.status())

    @bp.post("/api/command")
    def api_command() -> tuple[Response, int]:
        if request.content_length is not None and request.content_length > MAX_MESSAGE_BYTES:
            return _json_error(f"Commands must be at most {MAX_MESSAGE_BYTES} bytes.", 400), 400
        text = request.get_data(cache=False).decode("utf-8", "replace")
        if json_too_deep(text):
            message = f"Commands must not nest more than {MAX_NESTING} levels deep."
            return _json_error(message, 400), 400
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        try:
            command = parse_command(data, script_ids(controller))
        except MessageError as error:
            return _json_error(str(error), 400), 400
        controller.submit(command)
        return jsonify({"ok": True}), 202

    if sock is not None:

        def ws_route(ws: Any) -> None:
            keeper = cast(Pairing | None, current_app.config.get("COMPANION_PAIRING"))
            token = device_token(request.environ)
            if keeper is None or is_loopback(request.remote_addr or ""):
                serve_socket(ws, controller)
            else:
                # A phone unpaired while its page is open loses the page at once.
                serve_socket(ws, controller, lambda: keeper.device_for(token) is not None)

        # flask-sock is untyped; registering by call keeps ws_route's own types.
        sock.route("/ws", bp=bp)(ws_route)

    return bp


# --- the app factory --------------------------------------------------------------------


def create_app(
    controller: Controller,
    *,
    web_dir: Path | None = None,
    allowed_hosts: set[str] | None = None,
    pairing: Pairing | None = None,
    lan_url: str = "",
    test_config: Mapping[str, object] | None = None,
) -> Flask:
    """A Flask app serving the page and API for `controller`; nothing starts until served.

    `allowed_hosts` adds `host:port` values (beyond loopback on the served port) that
    the Host and Origin checks accept, e.g. when serving under another name.
    """
    from companion.webapp.pairing_api import create_pairing_blueprint

    app = Flask(__name__, static_folder=None)
    app.config.update(
        COMPANION_ALLOWED_HOSTS=set(allowed_hosts or ()),
        COMPANION_PAIRING=pairing,
        COMPANION_LAN_URL=lan_url.rstrip("/"),
        SOCK_SERVER_OPTIONS={"ping_interval": PING_SECONDS, "max_message_size": MAX_FRAME_BYTES},
        MAX_CONTENT_LENGTH=MAX_FRAME_BYTES,
    )
    if test_config is not None:
        app.config.update(test_config)
    sock = Sock(app)
    app.register_blueprint(create_blueprint(controller, web_dir or DEFAULT_WEB_DIR, sock))
    app.register_blueprint(create_pairing_blueprint())

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        # On the app, not a blueprint: every route's answers and every error carry them.
        for name, value in SECURITY_HEADERS:
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        # A sentence, never an HTML page or a traceback.
        code = error.code or 500
        messages = {
            404: "There is nothing at this address.",
            405: "This address does not accept that method.",
            413: "That request is too large.",
        }
        message = messages.get(code, error.description or "That request could not be handled.")
        return _json_error(message, code)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        logger.exception("unexpected error serving %s", request.path, exc_info=error)
        return _json_error("Something went wrong in the companion; please reload the page.", 500)

    return app
