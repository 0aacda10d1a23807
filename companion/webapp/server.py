"""The HTTP and WebSocket server: Werkzeug's threaded server, made to hold under abuse.

Werkzeug's server is what flask-sock's WebSockets run on (simple-websocket takes the raw
socket from `werkzeug.socket`); a maintained server such as waitress hands no socket over,
so WebSockets would not work there. What the plain server lacked is added here:

- a deadline for the request line and headers, and a timeout on every read, so half-sent
  requests cannot hold a thread for ever;
- a cap on connections served at once (one thread each): over it, a new connection gets
  `503` and a sentence at once, without a thread;
- out of file descriptors, the accept loop waits a moment instead of spinning or dying;
- Werkzeug's own error pages (a malformed request line) are one JSON sentence with the
  security headers, like every other answer.

The WebSocket side (bounded send queue, message caps) is in `companion.webapp.page_socket`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from companion.webapp.guard import SECURITY_HEADERS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerLimits:
    """How much any client may hold of the server; the defaults suit a couple's devices."""

    header_seconds: float = 10.0
    """The request line and every header must have arrived by then."""
    idle_seconds: float = 10.0
    """The longest wait for more bytes of a request (its body included)."""
    max_connections: int = 64
    """Connections served at once, WebSockets included; each holds a thread."""
    max_request_bytes: int = 4 * 1024 * 1024
    """All a connection may bring through the HTTP reader (the largest body is a 256 KiB plan)."""


class _CappedReader:
    """A request's reader with an end, so no client can keep a handler reading for ever.

    Werkzeug reads on after every response to discard an unread body (up to 10 GB): a
    client that keeps sending (a WebSocket page that floods, then is closed) would hold
    its thread. Past the cap this reader says end of file."""

    def __init__(self, raw: Any, cap: int) -> None:
        self._raw = raw
        self._left = cap

    def _allowed(self, size: int | None) -> int:
        return self._left if size is None or size < 0 else min(size, self._left)

    def read(self, size: int | None = -1) -> bytes:
        if self._left <= 0:
            return b""
        data: bytes = self._raw.read(self._allowed(size))
        self._left -= len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        if self._left <= 0:
            return b""
        line: bytes = self._raw.readline(self._allowed(size))
        self._left -= len(line)
        return line

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: self._left]
        count: int = self._raw.readinto(view)
        self._left -= count
        return count

    def close(self) -> None:
        self._raw.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


BUSY_MESSAGE = "The companion is serving as many connections as it can; try again in a moment."


def make_companion_server(
    host: str, port: int, app: Any, limits: ServerLimits | None = None
) -> CompanionServer:
    """A threaded WSGI server for `app` on `host:port`, bound and listening; raises OSError
    (Werkzeug's own server prints and exits instead, so a busy port could not be skipped)."""
    try:
        return CompanionServer(host, port, app, limits or ServerLimits())
    except _CannotListen as error:
        raise OSError(error.errno, error.strerror) from None


class _CannotListen(Exception):
    """Carries a bind or listen OSError past Werkzeug's `sys.exit` on OSError."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror)
        self.errno = error.errno
        self.strerror = error.strerror


class _HeaderWatch:
    """One thread for the whole server: shuts down connections whose headers are late."""

    def __init__(self, period: float = 0.25) -> None:
        self._period = period
        self._lock = threading.Lock()
        self._deadlines: dict[socket.socket, float] = {}
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def watch(self, connection: socket.socket, seconds: float) -> None:
        with self._lock:
            self._deadlines[connection] = time.monotonic() + seconds
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="companion-header-watch", daemon=True
                )
                self._thread.start()

    def forget(self, connection: socket.socket) -> None:
        with self._lock:
            self._deadlines.pop(connection, None)

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self._period):
            now = time.monotonic()
            with self._lock:
                late = [conn for conn, deadline in self._deadlines.items() if deadline <= now]
                for connection in late:
                    del self._deadlines[connection]
            for connection in late:
                # Wakes the handler's blocked read with end-of-file: its thread finishes.
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class CompanionRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler with a header deadline, read timeouts and JSON error pages."""

    server: CompanionServer

    def setup(self) -> None:
        super().setup()
        self.rfile = _CappedReader(self.rfile, self.server.limits.max_request_bytes)  # type: ignore[assignment]
        self.connection.settimeout(self.server.limits.idle_seconds)
        self.server.header_watch.watch(self.connection, self.server.limits.header_seconds)

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        self.server.header_watch.forget(self.connection)
        return parsed

    def finish(self) -> None:
        self.server.header_watch.forget(self.connection)
        super().finish()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Each request at DEBUG (`companion -v`), not Werkzeug's INFO line on the terminal."""
        log.debug('%s "%s" %s', self.address_string(), self.requestline, code)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """One JSON sentence with the security headers, never Werkzeug's HTML page."""
        short, long = self.responses.get(code, ("Error", "The request could not be handled."))
        self.log_error("code %d, message %s", code, message or short)
        body = json.dumps({"error": f"{short}: {long}"}).encode()
        # Before its version is read a request counts as HTTP/0.9, which gets no status
        # line or headers; no client speaks that any more.
        self.request_version = "HTTP/1.1"
        self.send_response(code, short)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)


class CompanionServer(ThreadedWSGIServer):
    """Werkzeug's threaded server with a cap on connections and a header deadline."""

    daemon_threads = True

    def __init__(self, host: str, port: int, app: Any, limits: ServerLimits) -> None:
        self.limits = limits
        self.header_watch = _HeaderWatch()
        self._count_lock = threading.Lock()
        self._serving = 0
        self.refused = 0
        """Connections turned away because the cap was reached (for logs and tests)."""
        self._out_of_files_logged = 0.0
        super().__init__(host, port, app, handler=CompanionRequestHandler)

    def server_bind(self) -> None:
        try:
            super().server_bind()
        except OSError as error:
            raise _CannotListen(error) from None

    def server_activate(self) -> None:
        try:
            super().server_activate()
        except OSError as error:
            raise _CannotListen(error) from None

    @property
    def serving(self) -> int:
        """Connections being served now."""
        with self._count_lock:
            return self._serving

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            return super().get_request()
        except OSError as error:
            if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                # Out of descriptors: let connections finish rather than spin on accept.
                now = time.monotonic()
                if now - self._out_of_files_logged > 10:
                    self._out_of_files_logged = now
                    log.warning("cannot accept connections just now: %s", error.strerror)
                time.sleep(0.05)
            raise

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._count_lock:
            full = self._serving >= self.limits.max_connections
            if not full:
                self._serving += 1
        if full:
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except RuntimeError:  # no thread could be started: refuse like any other overflow
            with self._count_lock:
                self._serving -= 1
            self._refuse(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._count_lock:
                self._serving -= 1

    def _refuse(self, request: socket.socket) -> None:
        """503 and a sentence, written without waiting on the client, then close."""
        self.refused += 1
        body = json.dumps({"error": BUSY_MESSAGE}).encode()
        head = [
            "HTTP/1.1 503 Service Unavailable",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Retry-After: 2",
            "Connection: close",
            *(f"{name}: {value}" for name, value in SECURITY_HEADERS),
        ]
        response = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        # Read what already came, so closing does not reset the answer away.
        with contextlib.suppress(OSError):
            request.recv(65536, socket.MSG_DONTWAIT)
        with contextlib.suppress(OSError):
            request.send(response, socket.MSG_DONTWAIT)
        self.shutdown_request(request)

    def server_close(self) -> None:
        self.header_watch.stop()
        super().server_close()
