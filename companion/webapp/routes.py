"""The page, its JSON API and the /ws route: a thin adapter between browsers and the controller.

Every client message is validated here; the controller only ever sees a well-formed
`Command`, `Names` or signal phrase. Requests from a foreign Host or Origin are refused, so a web
page the couple happens to visit cannot drive the companion.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, cast

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

from companion.core.effects import Command, CommandName
from companion.core.engine import BREAK_LIMIT_MINUTES
from companion.core.script import Names
from companion.library.nesting import MAX_NESTING, is_number, json_too_deep
from companion.listening.commands_vocab import SignalPhraseError, clean_signal_phrase
from companion.package_files import package_folder
from companion.webapp import messages
from companion.webapp.hub import Hub, Subscription
from companion.webapp.pairing import COOKIE, Pairing, is_loopback

logger = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 4096
"""Larger client messages get an `error` reply (docs/protocol.md)."""
MAX_FRAME_BYTES = 65536
"""Larger frames close the connection: nobody legitimate sends them."""
MAX_NAME_CHARS = 40
MAX_BREAK_MINUTES = BREAK_LIMIT_MINUTES
"""A break lasts less than a day, "more time" included (the engine's own limit)."""
MAX_STEP = 999
"""Scripts are a few dozen steps at most; a larger number is not a step."""
RECEIVE_TIMEOUT = 0.05
"""How often the /ws loop retries writing to a page that has not taken everything yet."""
IDLE_WAIT = 1.0
"""How long the /ws loop sleeps when nothing waits; any message or page input wakes it."""
PING_SECONDS = 20
"""Pings find tabs that vanished without closing (a laptop lid shut)."""
MAX_SOCKETS = 16
"""Pages connected at once: a couple's laptop and phones, with room for stale tabs."""
SEND_QUEUE_BYTES = 1024 * 1024
"""A page that lets this much wait unread is not reading: it is closed."""
SEND_STALL_SECONDS = 10.0
"""Nor is one that takes none of what waits for this long."""
MAX_WAITING_MESSAGES = 64
"""A page sending faster than the companion can answer is closed (nobody types that fast)."""
MESSAGES_PER_SECOND = 20.0
MESSAGE_BURST = 60
"""A page may send a burst of this many messages, then this many a second: far more than
hands or a voice give, far less than a script in a loop that would fill the runner's inbox."""
_DONT_WAIT = getattr(socket, "MSG_DONTWAIT", 0)
"""Linux and macOS; on Windows sends block, as before."""
LOOPBACK_NAMES: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_WEB_DIR = package_folder("web")

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


class Controller(Protocol):
    """What the page drives: the companion's session, behind a queue."""

    hub: Hub

    def submit(self, command: Command) -> None:
        """Queue a command for the runner thread; never blocks."""
        ...

    def set_names(self, names: Names) -> None:
        """Queue new partner names; never blocks."""
        ...

    def set_signal(self, phrase: str) -> None:
        """Listen for the couple's own break word ("" for none); never blocks.

        Whether it can be recognised reaches every page in the status."""
        ...

    def scripts(self) -> list[dict[str, object]]:
        """The library as ScriptInfo dicts (docs/protocol.md)."""
        ...

    def status(self) -> dict[str, object]:
        """Voice and listening availability as a Status dict."""
        ...

    def state(self) -> dict[str, object]:
        """The latest State dict."""
        ...

    def audio_file(self, key: str) -> Path | None:
        """A rendered line's WAV by its key (`sound` messages name it), or None."""
        ...


class MessageError(ValueError):
    """A client message was refused; `str()` is the one sentence sent back."""


class PageNotReading(Exception):
    """A page let too much wait unsent, or sent too fast: its connection is closed."""


class MessageRate:
    """A token bucket: `take()` is False once a page sends faster than any person could."""

    def __init__(
        self,
        per_second: float = MESSAGES_PER_SECOND,
        burst: int = MESSAGE_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_second = per_second
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._per_second)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class Outbox:
    """One page's frames on their way out, written without ever blocking its handler.

    simple-websocket's own `send` blocks until the page reads; a page that never reads
    would hold its thread for ever. Here frames wait in a bounded buffer, and each flush
    writes what the socket takes now; `PageNotReading` when the buffer overflows or
    nothing moves for `stall_seconds`.
    """

    def __init__(
        self,
        ws: Any,
        *,
        max_bytes: int = SEND_QUEUE_BYTES,
        stall_seconds: float = SEND_STALL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ws = ws
        self._max_bytes = max_bytes
        self._stall_seconds = stall_seconds
        self._clock = clock
        self._pending = bytearray()
        self._moved_at = clock()

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, text: str) -> None:
        """Frame `text` and queue it; raises PageNotReading when too much is waiting."""
        from simple_websocket import ConnectionClosed
        from wsproto.events import TextMessage

        if not self._ws.connected:
            raise ConnectionClosed(self._ws.close_reason, self._ws.close_message)
        if not self._pending:
            self._moved_at = self._clock()
        self._pending += self._ws.ws.send(TextMessage(data=text))
        if len(self._pending) > self._max_bytes:
            raise PageNotReading(f"{len(self._pending)} bytes waiting unread")

    def flush(self) -> None:
        """Write what the socket takes now; raises PageNotReading once stalled too long."""
        while self._pending:
            try:
                sent = self._ws.sock.send(self._pending, _DONT_WAIT)
            except (BlockingIOError, InterruptedError):
                break
            del self._pending[:sent]
            self._moved_at = self._clock()
        if self._pending and self._clock() - self._moved_at > self._stall_seconds:
            raise PageNotReading(f"nothing read for {self._stall_seconds:g} s")


@dataclass(frozen=True)
class Speaker:
    """A `speaker` message: this page plays the guidance itself, or stops doing so."""

    on: bool


@dataclass(frozen=True)
class Signal:
    """A `signal` message: the couple's own word or phrase for a break."""

    phrase: str
    """Trimmed, single-spaced letters; "" for no signal word of their own."""


# --- validation -------------------------------------------------------------------------


def parse_command(data: object, script_ids: set[str] | None = None) -> Command:
    """Turn a `command` message's data into a Command, or raise MessageError saying why not."""
    if not isinstance(data, dict):
        raise MessageError("A command needs a JSON object as its data.")
    allowed = {"name", "script", "partner", "minutes", "source", "step", "early"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise MessageError(f"A command has no field called {unknown[0]!r}.")
    name = data.get("name")
    if not isinstance(name, str):
        raise MessageError("A command needs a name, such as 'pause'.")
    try:
        command_name = CommandName(name)
    except ValueError:
        raise MessageError(f"There is no command called {name[:40]!r}.") from None
    script = data.get("script", "")
    if not isinstance(script, str) or len(script) > 100:
        raise MessageError("The script must be given by its id, as text.")
    if command_name is CommandName.START:
        if not script:
            raise MessageError("Choose a script to start.")
        if script_ids is not None and script not in script_ids:
            raise MessageError(f"There is no script called {script!r}.")
    partner = data.get("partner", "")
    if partner not in ("a", "b", ""):
        raise MessageError("The partner must be 'a' or 'b'.")
    minutes = data.get("minutes", 0)
    if not is_number(minutes) or not 0 <= float(minutes) <= MAX_BREAK_MINUTES:
        raise MessageError("The break length must be a number of minutes, less than a day.")
    source = data.get("source", "page")
    if source not in ("page", "key"):
        raise MessageError("The source must be 'page' or 'key'.")
    step = data.get("step", 0)
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= MAX_STEP:
        raise MessageError("The step must be a whole number, counting from 0.")
    early = data.get("early", False)
    if not isinstance(early, bool):
        raise MessageError("'early' must be true or false.")
    return Command(
        name=command_name,
        source=cast(Literal["page", "key"], source),
        script=script,
        partner=cast(Literal["a", "b", ""], partner),
        minutes=float(minutes),
        step=step,
        early=early,
    )


def parse_names(data: object) -> Names:
    """Turn a `names` message's data into Names, or raise MessageError saying what is wrong."""
    if not isinstance(data, dict) or set(data) != {"a", "b"}:
        raise MessageError("Names need exactly two fields, 'a' and 'b'.")
    cleaned: list[str] = []
    for key in ("a", "b"):
        value = data[key]
        if not isinstance(value, str):
            raise MessageError("Each name must be text.")
        value = value.strip()
        if not 1 <= len(value) <= MAX_NAME_CHARS or not value.isprintable():
            raise MessageError(f"Each name must be 1 to {MAX_NAME_CHARS} printable characters.")
        cleaned.append(value)
    return Names(a=cleaned[0], b=cleaned[1])


def parse_signal(data: object) -> Signal:
    """Turn a `signal` message's data into a Signal, or raise MessageError saying what is wrong."""
    if not isinstance(data, dict) or set(data) != {"phrase"}:
        raise MessageError("A break word needs exactly one field, 'phrase'.")
    phrase = data["phrase"]
    if not isinstance(phrase, str):
        raise MessageError("A break word must be text.")
    try:
        return Signal(clean_signal_phrase(phrase))
    except SignalPhraseError as error:
        raise MessageError(str(error)) from None


def parse_message(
    raw: object, script_ids: set[str] | None = None
) -> Command | Names | Signal | Speaker:
    """Validate one WebSocket frame from the page; raise MessageError with one sentence if wrong."""
    if not isinstance(raw, str):
        raise MessageError("Messages must be JSON text, not binary.")
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise MessageError(f"Messages must be at most {MAX_MESSAGE_BYTES} bytes.")
    if json_too_deep(raw):
        raise MessageError(f"Messages must not nest more than {MAX_NESTING} levels deep.")
    try:
        message = json.loads(raw)
    except ValueError:
        raise MessageError("That message was not valid JSON.") from None
    if not isinstance(message, dict) or set(message) != {"type", "data"}:
        raise MessageError("A message must be a JSON object with 'type' and 'data'.")
    kind = message["type"]
    if kind == "command":
        return parse_command(message["data"], script_ids)
    if kind == "names":
        return parse_names(message["data"])
    if kind == "signal":
        return parse_signal(message["data"])
    if kind == "speaker":
        data = message["data"]
        if not isinstance(data, dict) or set(data) != {"on"} or not isinstance(data["on"], bool):
            raise MessageError("A speaker message needs one field, 'on': true or false.")
        return Speaker(data["on"])
    shown = kind[:40] if isinstance(kind, str) else kind
    raise MessageError(
        f"Unknown message type {shown!r}; expected 'command', 'names', 'signal' or 'speaker'."
    )


# --- Host / Origin checks ---------------------------------------------------------------


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


# --- the blueprint ----------------------------------------------------------------------


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
            command = parse_command(data, _script_ids(controller))
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


def _script_ids(controller: Controller) -> set[str]:
    return {str(info.get("id")) for info in controller.scripts()}


def serve_socket(
    ws: Any, controller: Controller, still_paired: Callable[[], bool] | None = None
) -> None:
    """Run one page's WebSocket: hello, state, then client messages in and hub messages out.

    Only this thread writes to `ws`, and never waits on the page: what the page does not
    read waits in a bounded `Outbox`, and a page that stops reading (or floods) is closed.
    Returns when the client goes away or the hub closes.
    """
    from simple_websocket import ConnectionClosed

    # The server's read timeout would make simple-websocket's own writes (pongs) partial.
    ws.sock.settimeout(None)
    outbox = Outbox(ws)
    rate = MessageRate()
    # simple-websocket sets this event when the page sends something; a published
    # message sets it too, so either wakes this loop at once.
    subscription = controller.hub.subscribe(wake=ws.event.set)
    try:
        outbox.put(
            messages.wire(
                messages.Hello(PROTOCOL_VERSION, controller.scripts(), controller.status())
            )
        )
        if controller.hub.latest("state") is None:
            # Nothing published yet: the snapshot has no state, so ask the controller.
            outbox.put(messages.wire(messages.Snapshot("state", controller.state())))
        _send_queued(outbox, subscription, controller.hub)
        while not subscription.closed:
            ws.event.wait(RECEIVE_TIMEOUT if len(outbox) else IDLE_WAIT)
            if still_paired is not None and not still_paired():
                logger.warning("closed the page of a device that was unpaired")
                _drop(ws)
                return
            ws.event.clear()  # before reading both inputs: a later arrival sets it again
            if len(ws.input_buffer) > MAX_WAITING_MESSAGES:
                raise PageNotReading(f"{len(ws.input_buffer)} messages sent unanswered")
            for _ in range(MAX_WAITING_MESSAGES):  # then the checks above, again
                raw = ws.receive(timeout=0)
                if raw is None:
                    break
                if not rate.take():
                    raise PageNotReading("more messages a second than any person sends")
                reply = _handle_client_message(raw, controller, subscription)
                if reply is not None:
                    outbox.put(messages.wire(messages.Error(reply)))
            if ws.input_buffer:
                ws.event.set()  # more came than one round takes: go on at once
            _send_queued(outbox, subscription, controller.hub)
    except ConnectionClosed:
        pass
    except PageNotReading as why:
        logger.warning("closed a page's connection: %s", why)
        _drop(ws)
    finally:
        controller.hub.unsubscribe(subscription)


def _send_queued(outbox: Outbox, subscription: Subscription, hub: Hub) -> None:
    for message in subscription.drain():
        # Aged here, not when queued: every `remaining` is as of the moment it is sent.
        outbox.put(message.text_at(hub.now()))
    outbox.flush()


def _drop(ws: Any) -> None:
    """End a connection at once, without a closing handshake the page would never read."""
    ws.connected = False
    with contextlib.suppress(OSError):
        ws.sock.shutdown(socket.SHUT_RDWR)


def _handle_client_message(
    raw: object, controller: Controller, subscription: Subscription | None = None
) -> str | None:
    """Act on one client frame; return the error sentence to send back, or None."""
    try:
        parsed = parse_message(raw, _script_ids(controller))
        if isinstance(parsed, Speaker):
            if subscription is not None:
                controller.hub.set_speaking(subscription, parsed.on)
        elif isinstance(parsed, Names):
            controller.set_names(parsed)
        elif isinstance(parsed, Signal):
            controller.set_signal(parsed.phrase)
        else:
            controller.submit(parsed)
    except MessageError as error:
        return str(error)
    except Exception:
        # Never let one bad moment end the page's connection; the log has the detail.
        logger.exception("could not act on a page message")
        return "The companion could not act on that just now; please try again."
    return None


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
