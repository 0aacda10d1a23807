"""pocketsphinx in a child process: the same words, this process's Python lock left free,
and a child that dies is replaced rather than ending listening."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
from spoken import RATE, speak

from companion.listening.child_process import ChildProcessEngine, RecogniserLost
from companion.listening.commands_vocab import load_vocabulary
from companion.listening.pocketsphinx_engine import PocketsphinxEngine
from companion.listening.recognisers import Recogniser, load_engine

pytestmark = [
    pytest.mark.audio,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng"),
]


@pytest.fixture
def engine() -> Iterator[ChildProcessEngine]:
    engine, _ = load_engine("pocketsphinx", None, child_process=True)
    assert isinstance(engine, ChildProcessEngine)
    yield engine
    engine.close()


def with_quiet(clip: np.ndarray) -> bytes:
    """`clip` with a little faint noise either side, as int16 bytes: an utterance as the
    listener's endpointer hands it over."""
    rng = np.random.default_rng(1)
    quiet = rng.normal(0, 30, RATE // 10).astype(np.float32)
    audio = np.concatenate([quiet, clip, quiet])
    return bytes(np.clip(audio, -32768, 32767).astype("<i2").tobytes())


def decode(recogniser: Recogniser, audio: bytes) -> tuple[list[str], list[str]]:
    """The closed and open transcripts of `audio` fed in 50 ms blocks, as the listener does."""
    block = 2 * RATE // 20
    for start in range(0, len(audio), block):
        recogniser.accept(audio[start : start + block])
        recogniser.partial()
    closed = [w.text for w in recogniser.finish()]
    opinion = recogniser.second_opinion() or []
    return closed, [w.text for w in opinion]


def test_the_child_hears_what_the_engine_hears_in_this_process(
    engine: ChildProcessEngine,
) -> None:
    vocab = load_vocabulary("en", None)
    audio = with_quiet(speak("let's pause", "en-gb", 140, 45))
    here = decode(PocketsphinxEngine().recogniser(vocab, RATE), audio)
    there = decode(engine.recogniser(vocab, RATE), audio)
    assert there == here
    assert "pause" in there[0]


def test_word_checks_are_answered_by_the_child(engine: ChildProcessEngine) -> None:
    assert engine.knows("pause") and not engine.knows("qzxvw")
    assert engine.phones("pause") == PocketsphinxEngine().phones("pause")


def test_decoding_in_the_child_leaves_this_process_free_to_run_the_voice(
    engine: ChildProcessEngine,
) -> None:
    # In this process, pocketsphinx holds Python's lock for the whole call: a thread that
    # plays the voice could not run at all while three seconds of speech are decoded.
    recogniser = engine.recogniser(load_vocabulary("en", None), RATE)
    speech = with_quiet(speak("we could take a break and talk about it after dinner " * 2))
    ticks = 0
    decoding = threading.Event()

    def voice_callback_stand_in() -> None:
        nonlocal ticks
        while decoding.is_set():
            time.sleep(0.001)
            ticks += 1

    decoding.set()
    ticker = threading.Thread(target=voice_callback_stand_in)
    ticker.start()
    recogniser.accept(speech)  # all of it in one call
    recogniser.finish()
    decoding.clear()
    ticker.join()
    assert ticks >= 10


def test_a_child_that_dies_is_reported_and_the_next_recogniser_starts_a_new_one(
    engine: ChildProcessEngine,
) -> None:
    vocab = load_vocabulary("en", None)
    recogniser = engine.recogniser(vocab, RATE)
    engine._process.kill()  # type: ignore[union-attr]
    with pytest.raises(RecogniserLost, match="recogniser process"):
        recogniser.accept(b"\0\0" * 800)
        recogniser.finish()
    again = engine.recogniser(vocab, RATE)
    closed, _ = decode(again, with_quiet(speak("let's pause", "en-gb", 140, 45)))
    assert "pause" in closed
