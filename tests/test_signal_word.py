"""The couple's own signal word for a break: the companion says plainly if it can hear it.

Runs the real pocketsphinx model (its dictionary decides); the audio source is a quiet
stand-in, since only the status is under test.
"""

from __future__ import annotations

import pytest

from companion.speech_in import Listener, ListenSettings, SpeakingNow


class Quiet:
    """A microphone that hears near-silence for a moment, then ends."""

    rate = 16_000
    overflows = 0

    def __init__(self) -> None:
        self.blocks = 40

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def read(self, timeout: float) -> bytes | None:
        if self.blocks == 0:
            return None
        self.blocks -= 1
        return b"\x01\x00" * 800


@pytest.mark.parametrize(
    ("phrase", "says"),
    [
        ("pineapple", "“pineapple” can be recognised."),
        ("zorblax", "does not know “zorblax”, so “zorblax” cannot be recognised; choose another"),
    ],
)
def test_the_status_says_whether_the_couples_signal_word_can_be_heard(
    phrase: str, says: str
) -> None:
    seen: list[str] = []

    def record_status() -> SpeakingNow:
        seen.append(listener.status().reason)
        return SpeakingNow()

    listener = Listener(
        ListenSettings(engine="pocketsphinx", signal_phrase=phrase),
        lambda heard: None,
        record_status,
        source=Quiet,
    )
    listener.start()
    assert listener.join(timeout=30)
    assert any(says in reason for reason in seen), seen
