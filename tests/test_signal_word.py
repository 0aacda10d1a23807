"""The couple's own signal word for a break: it may change while the companion listens,
and the companion says plainly whether the speech model can hear it.

Runs the real pocketsphinx model (its dictionary decides). Most sources here are quiet
stand-ins, since only the status is under test; one is espeak-ng speech in a WAV file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from spoken import GAP, WARM_UP, needs_espeak, recording

from companion.audio.capture import WavSource
from companion.cli import main
from companion.core.effects import CommandName
from companion.listening.commands_vocab import (
    SIGNAL_LOADING_NOTE,
    SIGNAL_OFF_NOTE,
    SignalPhraseError,
    clean_signal_phrase,
)
from companion.listening.heard import Heard, ListenSettings, ListenStatus, SpeakingNow
from companion.listening.speech_in import Listener

CAN = "“pineapple” can be recognised."
CANNOT = "does not know “xyzzyq”, so “xyzzyq” cannot be recognised; choose another word."


class Quiet:
    """A microphone that hears near-silence for `blocks` blocks of 50 ms, then ends.

    `at_block` is called as block `n` is read, on the listener's own thread: a change made
    there lands between two blocks, as one from the page does.
    """

    rate = 16_000
    overflows = 0
    captured_at: float | None = None

    def __init__(
        self, blocks: int = 40, at_block: dict[int, Callable[[], None]] | None = None
    ) -> None:
        self.blocks = blocks
        self.read_so_far = 0
        self.at_block = at_block or {}

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def read(self, timeout: float) -> bytes | None:
        if self.read_so_far == self.blocks:
            return None
        self.read_so_far += 1
        if self.read_so_far in self.at_block:
            self.at_block[self.read_so_far]()
        return b"\x01\x00" * 800


@pytest.mark.parametrize(
    ("phrase", "says"),
    [
        ("pineapple", CAN),
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


@pytest.mark.parametrize(("phrase", "says"), [("pineapple", CAN), ("xyzzyq", CANNOT)])
def test_a_signal_word_changed_while_listening_is_checked_by_the_listener(
    phrase: str, says: str
) -> None:
    statuses: list[ListenStatus] = []
    listener = Listener(
        ListenSettings(engine="pocketsphinx"),
        lambda heard: None,
        SpeakingNow,
        source=lambda: Quiet(40, {10: lambda: listener.set_signal(phrase)}),
        on_status=statuses.append,
    )
    listener.start()
    assert listener.join(timeout=30)
    listening = [s for s in statuses if s.on]
    assert listening[0].signal == "" and listening[0].signal_note == ""
    assert listening[-1].signal == phrase and listening[-1].signal_note.endswith(says)
    # While the microphone is on, its one sentence names the engine and the check.
    assert listening[-1].reason.startswith("Listening with pocketsphinx")
    assert listening[-1].reason.endswith(says)


def test_clearing_the_signal_word_leaves_only_the_built_in_phrases() -> None:
    statuses: list[ListenStatus] = []
    listener = Listener(
        ListenSettings(engine="pocketsphinx", signal_phrase="pineapple"),
        lambda heard: None,
        SpeakingNow,
        source=lambda: Quiet(40, {10: lambda: listener.set_signal("")}),
        on_status=statuses.append,
    )
    listener.start()
    assert listener.join(timeout=30)
    last = [s for s in statuses if s.on][-1]
    assert (last.signal, last.signal_note) == ("", "")
    assert "pineapple" not in last.reason


def test_a_signal_word_given_at_start_waits_for_the_model_and_says_so() -> None:
    statuses: list[ListenStatus] = []
    listener = Listener(
        ListenSettings(engine="pocketsphinx", signal_phrase="pineapple"),
        lambda heard: None,
        SpeakingNow,
        source=Quiet,
        on_status=statuses.append,
    )
    listener.start()
    assert listener.join(timeout=30)
    notes = [s.signal_note for s in statuses]
    assert notes[0] == SIGNAL_LOADING_NOTE
    assert CAN in notes
    # The file was heard to its end: nothing listens any more, and the status says so.
    assert notes[-1] == SIGNAL_OFF_NOTE


def test_with_listening_off_a_signal_word_cannot_be_checked_and_the_status_says_so() -> None:
    statuses: list[ListenStatus] = []
    listener = Listener(
        ListenSettings(engine="off"), lambda heard: None, SpeakingNow, on_status=statuses.append
    )
    listener.start()
    listener.set_signal("pineapple")
    assert (listener.status().signal, listener.status().signal_note) == (
        "pineapple",
        "Listening is off, so the word cannot be checked now.",
    )
    assert statuses[-1] == listener.status()
    listener.close()


@needs_espeak
def test_a_signal_word_set_while_listening_calls_a_time_out_when_said(tmp_path: Path) -> None:
    # Said once before it is the signal word (nothing happens), once after (a time-out).
    # A fresh recogniser adapts to the voice on a sentence first, as at start.
    path, ends = recording(
        tmp_path / "pineapple.wav", [WARM_UP, "pineapple", WARM_UP, "pineapple"], "en-gb-x-rp"
    )
    heard: list[Heard] = []

    class Midway:
        """The recording; the couple set their word on the page between its two halves."""

        def __init__(self) -> None:
            self.wav = WavSource(path)
            self.rate = self.wav.rate
            self.overflows = 0
            self.captured_at: float | None = None
            self.seconds = 0.0

        def open(self) -> None:
            self.wav.open()

        def close(self) -> None:
            self.wav.close()

        def read(self, timeout: float) -> bytes | None:
            chunk = self.wav.read(timeout)
            before, self.seconds = self.seconds, self.seconds + len(chunk or b"") / 2 / self.rate
            # Just after the first "pineapple" has been heard (and ignored).
            if before < ends[1] + 0.8 <= self.seconds:
                listener.set_signal("pineapple")
            return chunk

    listener = Listener(
        ListenSettings(engine="pocketsphinx"), heard.append, SpeakingNow, source=Midway
    )
    listener.start()
    assert listener.join(timeout=60)
    assert [(h.command, h.text) for h in heard] == [(CommandName.TIMEOUT, "pineapple")]
    assert ends[3] - 0.1 <= heard[0].at <= ends[3] + GAP


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  pineapple ", "pineapple"),
        ("red   light", "red light"),
        ("enough, love", None),
        ("we\u2019re done", "we\u2019re done"),
        ("", ""),
        ("don't go", "don't go"),
        ("잠깐만", "잠깐만"),
    ],
)
def test_a_signal_word_is_trimmed_and_keeps_letters_spaces_and_apostrophes(
    typed: str, kept: str | None
) -> None:
    if kept is None:
        with pytest.raises(SignalPhraseError, match="not “,”"):
            clean_signal_phrase(typed)
    else:
        assert clean_signal_phrase(typed) == kept


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("x" * 41, "A break word must be at most 40 characters."),
        ("one two three four five", "A break word must be at most 4 words."),
        ("pine4pple", "A break word may use only letters, spaces and apostrophes, not “4”."),
        ("time-out!", "A break word may use only letters, spaces and apostrophes, not “-”."),
        ("bell\x07", "A break word may use only letters, spaces and apostrophes, not U+0007."),
        ("''", "A break word needs at least one letter."),
    ],
)
def test_a_signal_word_that_could_never_be_heard_is_refused_saying_why(
    typed: str, why: str
) -> None:
    with pytest.raises(SignalPhraseError) as refused:
        clean_signal_phrase(typed)
    assert str(refused.value) == why


def test_serve_refuses_a_signal_word_that_could_never_be_heard_in_one_sentence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--no-browser", "--signal", "pine4pple"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "companion: --signal: A break word may use only letters, spaces and apostrophes, not “4”.\n"
    )
