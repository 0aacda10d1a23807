"""Fan-out of server messages to every connected page, one bounded queue per client.

Any thread may `publish`; each WebSocket handler drains only its own
`Subscription`, so a slow tab never blocks the runner or the other tabs.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from companion.core.clock import Clock, MonotonicClock
from companion.core.state import aged_snapshot
from companion.webapp.messages import ServerMessage, Speakers, frame

logger = logging.getLogger(__name__)

SNAPSHOT_TYPES: tuple[str, ...] = ("status", "state")
"""Message types of which only the latest matters: kept for new clients, coalesced in queues."""

KEPT_TYPES: tuple[str, ...] = (*SNAPSHOT_TYPES, "speakers")
"""Message types a new client is sent the latest of as it connects."""

DEFAULT_QUEUE_SIZE = 100


@dataclass(frozen=True)
class Message:
    """One server -> page message, serialised once for every client."""

    type: str
    data: dict[str, object]
    text: str
    """The JSON text frame: `{"type": ..., "data": ...}`."""
    taken_at: float | None = None
    """For a `state`: when its countdowns were true, on the hub's clock; None: timeless."""

    @classmethod
    def make(cls, type: str, data: dict[str, object], taken_at: float | None = None) -> Message:
        """Build a message and its wire form."""
        return cls(type=type, data=data, text=frame(type, data), taken_at=taken_at)

    def text_at(self, now: float) -> str:
        """The frame to send at `now`: a state's countdowns as they are at that moment."""
        if self.taken_at is None or now <= self.taken_at:
            return self.text
        return frame(self.type, aged_snapshot(self.data, now - self.taken_at))


class Subscription:
    """One client's bounded inbox: state and status coalesce, other messages drop oldest first."""

    def __init__(
        self, maxsize: int = DEFAULT_QUEUE_SIZE, wake: Callable[[], None] | None = None
    ) -> None:
        if maxsize < len(SNAPSHOT_TYPES) + 1:
            raise ValueError("a subscription needs room for a snapshot and one message")
        self._maxsize = maxsize
        self._wake = wake
        """Called (never blocking) whenever a message arrives or the subscription closes."""
        self._queue: deque[Message] = deque()
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._closed = False
        self.dropped = 0
        """How many messages were dropped because this client fell behind."""

    def put(self, message: Message) -> None:
        """Queue a message without ever blocking the caller."""
        with self._lock:
            if self._closed:
                return
            if message.type in SNAPSHOT_TYPES:
                # Only the newest state/status matters: replace any that is still unsent.
                stale = [queued for queued in self._queue if queued.type == message.type]
                for queued in stale:
                    self._queue.remove(queued)
            elif len(self._queue) >= self._maxsize:
                self._drop_oldest_other()
            self._queue.append(message)
            self._ready.notify()
        if self._wake is not None:
            self._wake()

    def _drop_oldest_other(self) -> None:
        for queued in self._queue:
            if queued.type not in SNAPSHOT_TYPES:
                self._queue.remove(queued)
                self.dropped += 1
                return

    def drain(self) -> list[Message]:
        """Everything queued, oldest first, without waiting."""
        with self._lock:
            messages = list(self._queue)
            self._queue.clear()
            return messages

    def get(self, timeout: float | None = None) -> Message | None:
        """The oldest queued message, waiting up to `timeout`; None on timeout or once closed."""
        with self._ready:
            if not self._queue and not self._closed:
                self._ready.wait(timeout)
            return self._queue.popleft() if self._queue else None

    def close(self) -> None:
        """Stop accepting messages and wake any waiter."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        if self._wake is not None:
            self._wake()

    @property
    def closed(self) -> bool:
        """True once the hub shut down or the client unsubscribed."""
        with self._lock:
            return self._closed

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)


class Hub:
    """Thread-safe fan-out: each subscriber gets every message in its own queue.

    Its clock is the session's: a `state` published with `taken_at` is aged to the
    moment each page is sent it (`Message.text_at(hub.now())`)."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE, clock: Clock | None = None) -> None:
        self._queue_size = queue_size
        self._clock = clock or MonotonicClock()
        self._lock = threading.Lock()
        self._subscriptions: set[Subscription] = set()
        self._latest: dict[str, Message] = {}
        self._speaking: set[Subscription] = set()

    def now(self) -> float:
        """The time on the hub's clock: what a message's `taken_at` is measured against."""
        return self._clock.now()

    def send(self, message: ServerMessage, *, taken_at: float | None = None) -> None:
        """Send a typed message (`companion.webapp.messages`) to every subscriber; never blocks."""
        self.publish(message.TYPE, message.data(), taken_at=taken_at)

    def publish(self, type: str, data: dict[str, object], *, taken_at: float | None = None) -> None:
        """Send a message to every subscriber; never blocks on a slow client.

        `taken_at` (hub clock) marks a `state` whose countdowns age until it is sent."""
        message = Message.make(type, data, taken_at)
        # Under the lock so every client sees publishes in one order; `put` never blocks.
        with self._lock:
            if type in KEPT_TYPES:
                self._latest[type] = message
            for subscription in self._subscriptions:
                subscription.put(message)

    def subscribe(self, wake: Callable[[], None] | None = None) -> Subscription:
        """A new client inbox, starting with the latest status and state (the snapshot).

        `wake` is called whenever a message arrives, so a handler waiting on something
        else as well (its socket) sends at once instead of polling."""
        subscription = Subscription(self._queue_size, wake)
        with self._lock:
            # Under the lock so no publish slips between the snapshot and the registration.
            for type in KEPT_TYPES:
                if type in self._latest:
                    subscription.put(self._latest[type])
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a client; safe to call twice."""
        with self._lock:
            self._subscriptions.discard(subscription)
            was_speaking = subscription in self._speaking
            self._speaking.discard(subscription)
        subscription.close()
        if was_speaking:
            self._publish_speakers()

    def set_speaking(self, subscription: Subscription, on: bool) -> None:
        """Note whether this page plays the guidance itself; every page learns how many do."""
        with self._lock:
            changed = (subscription in self._speaking) != on
            if on:
                self._speaking.add(subscription)
            else:
                self._speaking.discard(subscription)
        if changed:
            self._publish_speakers()

    def _publish_speakers(self) -> None:
        with self._lock:
            count = len(self._speaking)
        self.send(Speakers(count))

    def latest(self, type: str) -> dict[str, object] | None:
        """The data of the newest `state` or `status` message, if any, as of now."""
        with self._lock:
            message = self._latest.get(type)
        if message is None:
            return None
        if message.taken_at is None:
            return message.data
        return aged_snapshot(message.data, self.now() - message.taken_at)

    def close(self) -> None:
        """Close every subscription so WebSocket handlers finish (server shutdown)."""
        with self._lock:
            subscriptions = list(self._subscriptions)
            self._subscriptions.clear()
        for subscription in subscriptions:
            subscription.close()

    @property
    def subscriber_count(self) -> int:
        """How many clients are subscribed now."""
        with self._lock:
            return len(self._subscriptions)
