"""The server under hostile clients: half-sent requests, too many connections, pages that
never read or that flood, malformed requests. Each test is the attack it guards against,
on a real server on 127.0.0.1, bounded in count; none asserts how fast anything is."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from waiting import wait_for
from web_support import FakeController, serve
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

import companion.webapp.routes
from companion.webapp.guard import SECURITY_HEADERS
from companion.webapp.page_socket import MessageRate, Outbox, PageNotReading
from companion.webapp.routes import create_app
from companion.webapp.server import BUSY_MESSAGE, ServerLimits


@dataclass
class Served:
    controller: FakeController
    host: str

    @property
    def address(self) -> tuple[str, int]:
        name, port = self.host.split(":")
        return name, int(port)

    def get(self, path: str = "/api/state") -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(self.host, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


def served_with(limits: ServerLimits) -> Iterator[Served]:
    controller = FakeController()
    with serve(create_app(controller), controller.hub, limits) as host:
        yield Served(controller, host)


@pytest.fixture
def served() -> Iterator[Served]:
    """Limits made small, so a test reaches them with a handful of connections."""
    yield from served_with(ServerLimits(header_seconds=1.0, idle_seconds=1.0, max_connections=4))


@pytest.fixture
def plain() -> Iterator[Served]:
    """The limits `companion serve` uses."""
    yield from served_with(ServerLimits())


def half_sent(served: Served) -> socket.socket:
    """A connection that starts a request and never finishes its headers."""
    sock = socket.create_connection(served.address, timeout=10)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: " + served.host.encode())
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server ended the connection (end of file or reset), waiting up to 10 s."""
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


# -- HTTP ---------------------------------------------------------------------------------


def test_a_request_whose_headers_trickle_in_is_closed_at_the_header_deadline(
    served: Served,
) -> None:
    sock = socket.create_connection(served.address, timeout=10)
    sock.sendall(b"GET / HTTP/1.1\r\n")
    try:
        # One header byte at a time, each well within the read timeout: only the
        # deadline for the whole header can end this.
        for byte in b"X-Slow: " + b"a" * 200:
            sock.sendall(bytes([byte]))
            time.sleep(0.1)
    except OSError:
        pass  # closed while trickling: what is wanted
    assert closed_by_server(sock)
    sock.close()
    assert served.get()[0] == 200


def test_over_the_connection_cap_a_new_connection_gets_503_and_a_sentence_at_once(
    served: Served,
) -> None:
    held = [half_sent(served) for _ in range(4)]
    # Accepted in the background: the next connection is refused once all four are held.
    _, headers, body = wait_for(lambda: (answer := served.get())[0] == 503 and answer)
    assert json.loads(body) == {"error": BUSY_MESSAGE}
    for name, value in SECURITY_HEADERS:
        assert headers[name] == value
    for sock in held:
        sock.close()
    wait_for(lambda: served.get()[0] == 200)


def test_half_open_connections_are_all_closed_by_the_server_in_the_end(served: Served) -> None:
    held = [half_sent(served) for _ in range(4)]
    assert all(closed_by_server(sock) for sock in held)
    for sock in held:
        sock.close()
    # The server frees a connection's place just after closing it: soon, not at once.
    wait_for(lambda: served.get()[0] == 200)


def test_a_malformed_request_line_gets_one_json_sentence_with_the_security_headers(
    served: Served,
) -> None:
    with socket.create_connection(served.address, timeout=10) as sock:
        sock.sendall(b"GET / HTTP/one-point-one\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body)["error"].startswith("Bad Request")
    assert b"Content-Security-Policy: default-src 'self'" in head
    assert b"<html" not in answer.lower()


# -- WebSocket -----------------------------------------------------------------------------


def raw_page(served: Served, receive_buffer: int = 4096) -> socket.socket:
    """A WebSocket page at the byte level, with a small receive buffer: it can stop reading."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(10)
    sock.connect(served.address)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: {served.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def client_frame(text: str) -> bytes:
    """One masked text frame, as a browser sends it."""
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, 0x80 | length)
    else:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
    return header + mask + masked


def test_a_page_that_never_reads_is_closed_and_the_others_still_get_every_message(
    plain: Served,
) -> None:
    hub = plain.controller.hub
    stuck = raw_page(plain)
    with connect(f"ws://{plain.host}/ws", open_timeout=10) as reading:
        wait_for(lambda: hub.subscriber_count == 2)
        line = "x" * 30_000
        for number in range(400):  # 12 MB in all: more than any socket buffers hold
            hub.publish("heard", {"text": line, "n": number})
            # A reading page keeps up; the stuck one is dropped along the way.
            while (message := json.loads(reading.recv(timeout=10)))["type"] != "heard":
                pass
            assert message["data"]["n"] == number
        wait_for(lambda: hub.subscriber_count == 1)
    stuck.close()


def test_a_page_that_floods_messages_without_reading_is_closed(plain: Served) -> None:
    hub = plain.controller.hub
    page = raw_page(plain)
    wait_for(lambda: hub.subscriber_count == 1)
    frame = client_frame('{"type": "nonsense", "data": {}}')
    try:
        for _ in range(20_000):
            page.sendall(frame)
    except OSError:
        pass  # closed mid-flood: what is wanted
    wait_for(lambda: hub.subscriber_count == 0)
    page.close()
    assert plain.get()[0] == 200


def test_more_pages_than_the_cap_are_refused_with_503_and_a_sentence(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(companion.webapp.routes, "MAX_SOCKETS", 2)
    with (
        connect(f"ws://{served.host}/ws", open_timeout=10),
        connect(f"ws://{served.host}/ws", open_timeout=10),
    ):
        wait_for(lambda: served.controller.hub.subscriber_count == 2)
        with pytest.raises(InvalidStatus) as refused:
            connect(f"ws://{served.host}/ws", open_timeout=10)
        assert refused.value.response.status_code == 503
        assert json.loads(refused.value.response.body or b"") == {
            "error": "2 pages are connected already; close one and reload."
        }


# -- the outbox on its own -------------------------------------------------------------------


class StuckSocket:
    """A socket whose peer reads nothing: every send would block."""

    def send(self, data: bytes, flags: int = 0) -> int:
        raise BlockingIOError


class FakeWebSocket:
    connected = True

    def __init__(self) -> None:
        from wsproto import ConnectionType, WSConnection
        from wsproto.events import AcceptConnection, Request

        client = WSConnection(ConnectionType.CLIENT)
        self.ws = WSConnection(ConnectionType.SERVER)
        self.ws.receive_data(client.send(Request(host="127.0.0.1", target="/ws")))
        next(self.ws.events())
        self.ws.send(AcceptConnection())
        self.sock = StuckSocket()


def test_the_outbox_drops_a_page_that_takes_nothing_for_too_long() -> None:
    now = [0.0]
    outbox = Outbox(FakeWebSocket(), stall_seconds=10, clock=lambda: now[0])
    outbox.put("hello")
    outbox.flush()
    now[0] = 9.0
    outbox.flush()  # still within the grace
    now[0] = 10.5
    with pytest.raises(PageNotReading, match="nothing read for 10 s"):
        outbox.flush()


def test_the_outbox_drops_a_page_when_too_much_waits() -> None:
    outbox = Outbox(FakeWebSocket(), max_bytes=10_000)
    outbox.put("x" * 5_000)
    with pytest.raises(PageNotReading, match="bytes waiting unread"):
        outbox.put("x" * 5_000)


def test_a_page_sending_valid_commands_faster_than_any_person_is_closed(plain: Served) -> None:
    # Valid commands get no reply, so only their rate can tell a script in a loop.
    page = raw_page(plain)
    wait_for(lambda: plain.controller.hub.subscriber_count == 1)
    frame = client_frame('{"type": "command", "data": {"name": "pause"}}')
    try:
        for _ in range(5_000):
            page.sendall(frame)
    except OSError:
        pass
    wait_for(lambda: plain.controller.hub.subscriber_count == 0)
    page.close()
    assert len(plain.controller.commands) < 5_000


def test_the_message_rate_allows_a_burst_then_a_steady_pace() -> None:
    now = [0.0]
    rate = MessageRate(per_second=20, burst=60, clock=lambda: now[0])
    assert all(rate.take() for _ in range(60))
    assert not rate.take()
    now[0] = 0.5
    assert [rate.take() for _ in range(11)] == [True] * 10 + [False]


def test_a_client_that_keeps_sending_past_its_request_is_cut_off(plain: Served) -> None:
    # Werkzeug discards an unread body after answering, by reading up to 10 GB of it.
    sock = socket.create_connection(plain.address, timeout=10)
    sock.sendall(
        b"POST /api/command HTTP/1.1\r\nHost: " + plain.host.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
    )
    chunk = b"x" * 65536
    sent = 0
    with pytest.raises(OSError):
        while sent < 64 * 1024 * 1024:  # bounded: far past the 4 MiB the server reads
            sock.sendall(chunk)
            sent += len(chunk)
    sock.close()
    assert sent < 64 * 1024 * 1024
    assert plain.get()[0] == 200
