"""One page's WebSocket: hello, state, then the page's messages in and the hub's out.

Only the page's own handler thread writes to it, and never waits on the page.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from companion.core.script import Names
from companion.webapp import messages
from companion.webapp.controller import Controller
from companion.webapp.hub import Hub, Subscription
from companion.webapp.inbound import MessageError, Signal, Speaker, parse_message

logger = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
RECEIVE_TIMEOUT = 0.05
"""How often the /ws loop retries writing to a page that has not taken everything yet."""
IDLE_WAIT = 1.0
"""How long the /ws loop sleeps when nothing waits; any message or page input wakes it."""
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


def script_ids(controller: Controller) -> set[str]:
    """The ids of the scripts in the library, which a `start` command may name."""
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
                refusal = _handle_client_message(raw, controller, subscription)
                if refusal is not None:
                    outbox.put(messages.wire(refusal))
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
) -> messages.Error | None:
    """Act on one client frame; return the refusal to send back, or None."""
    try:
        parsed = parse_message(raw, script_ids(controller))
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
        return messages.Error(str(error), error.about)
    except Exception:
        # Never let one bad moment end the page's connection; the log has the detail.
        logger.exception("could not act on a page message")
        return messages.Error("The companion could not act on that just now; please try again.")
    return None
