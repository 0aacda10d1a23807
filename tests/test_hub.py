"""The hub: every client gets every message in its own bounded queue; nobody waits on a slow tab."""

from __future__ import annotations

import json
import threading

from companion.core.clock import FakeClock
from companion.webapp.hub import Hub, Message, Subscription


def test_two_subscribers_each_receive_every_publish() -> None:
    hub = Hub()
    first, second = hub.subscribe(), hub.subscribe()
    hub.publish("heard", {"text": "pause"})
    hub.publish("heard", {"text": "resume"})
    for subscription in (first, second):
        assert [m.data["text"] for m in subscription.drain()] == ["pause", "resume"]


def test_messages_are_serialised_as_type_and_data() -> None:
    hub = Hub()
    subscription = hub.subscribe()
    hub.publish("error", {"message": "No."})
    (message,) = subscription.drain()
    assert json.loads(message.text) == {"type": "error", "data": {"message": "No."}}


def test_a_full_slow_client_does_not_block_publish_and_keeps_the_newest() -> None:
    hub = Hub(queue_size=10)
    slow = hub.subscribe()  # never drained
    fast = hub.subscribe()
    published = threading.Event()

    def publish_many() -> None:
        for n in range(1000):
            hub.publish("heard", {"n": n})
        published.set()

    thread = threading.Thread(target=publish_many)
    thread.start()
    assert published.wait(timeout=30), "publish blocked on a client that never reads"
    thread.join()
    assert len(slow) == 10
    assert slow.dropped == 990
    assert [m.data["n"] for m in slow.drain()] == list(range(990, 1000))
    assert len(fast.drain()) == 10  # fast was not drained either, but got its own copy


def test_state_coalesces_so_a_slow_client_gets_only_the_latest_state() -> None:
    hub = Hub(queue_size=10)
    slow = hub.subscribe()
    for n in range(50):
        hub.publish("state", {"n": n})
        hub.publish("heard", {"n": n})
    messages = slow.drain()
    states = [m for m in messages if m.type == "state"]
    assert [m.data["n"] for m in states] == [49]
    assert len(messages) == 10  # the bound holds: the latest state plus the nine newest others
    assert [m.data["n"] for m in messages if m.type == "heard"] == list(range(41, 50))


def test_overflow_drops_other_messages_before_state() -> None:
    subscription = Subscription(maxsize=3)
    subscription.put(Message.make("state", {"status": "running"}))
    for n in range(5):
        subscription.put(Message.make("heard", {"n": n}))
    assert [(m.type, m.data) for m in subscription.drain()] == [
        ("state", {"status": "running"}),
        ("heard", {"n": 3}),
        ("heard", {"n": 4}),
    ]


def test_a_new_subscriber_gets_the_latest_status_and_state_as_a_snapshot() -> None:
    hub = Hub()
    hub.publish("status", {"voice": {"on": False}})
    hub.publish("state", {"status": "idle"})
    hub.publish("state", {"status": "running"})
    hub.publish("heard", {"text": "pause"})  # not part of the snapshot
    late = hub.subscribe()
    assert [(m.type, m.data) for m in late.drain()] == [
        ("status", {"voice": {"on": False}}),
        ("state", {"status": "running"}),
    ]
    assert hub.latest("state") == {"status": "running"}


def test_unsubscribed_clients_receive_nothing_more() -> None:
    hub = Hub()
    subscription = hub.subscribe()
    hub.unsubscribe(subscription)
    hub.publish("heard", {"text": "pause"})
    assert subscription.drain() == []
    assert subscription.closed
    assert hub.subscriber_count == 0


def test_closing_the_hub_wakes_a_waiting_client() -> None:
    hub = Hub()
    subscription = hub.subscribe()
    got: list[object] = []
    thread = threading.Thread(target=lambda: got.append(subscription.get(timeout=30)))
    thread.start()
    hub.close()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert got == [None]


def test_get_returns_a_message_published_from_another_thread() -> None:
    hub = Hub()
    subscription = hub.subscribe()
    threading.Thread(target=hub.publish, args=("heard", {"text": "next"})).start()
    message = subscription.get(timeout=30)
    assert message is not None and message.data == {"text": "next"}


def test_a_state_is_sent_with_its_countdowns_as_of_the_moment_it_is_sent() -> None:
    clock = FakeClock(100.0)
    hub = Hub(clock=clock)
    state: dict[str, object] = {
        "status": "running",
        "break": {"seconds": 1200.0, "remaining": 1000.0},
    }
    hub.publish("state", state, taken_at=clock.now())
    clock.advance(250.0)  # nothing published for minutes: the snapshot is old
    (message,) = hub.subscribe().drain()
    assert json.loads(message.text_at(hub.now()))["data"]["break"]["remaining"] == 750.0
    assert hub.latest("state") == {
        "status": "running",
        "break": {"seconds": 1200.0, "remaining": 750.0},
    }


def test_messages_with_no_time_of_their_own_are_sent_as_published() -> None:
    hub = Hub(clock=FakeClock())
    subscription = hub.subscribe()
    hub.publish("heard", {"text": "pause"})
    (message,) = subscription.drain()
    assert message.text_at(1e6) == message.text
