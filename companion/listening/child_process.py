"""Recognition in a child process, so that decoding never holds this process's Python lock.

pocketsphinx holds Python's lock (the GIL) for as long as each call decodes: a thread that
wakes every millisecond waited 2.6 s while 3 s of audio were decoded in one call, and a
50 ms block took up to 68 ms. The voice's sound callback is Python too and needs that lock
every 23 ms, so the voice ran dry (5 to 12 underruns an hour on the full-duplex rig).
Here the listener's thread hands each block to a child process over a pipe and waits for
the answer; waiting on a pipe releases the lock, so the voice's callback runs whenever it
must while the child decodes (the same thread then waited 4.7 ms at most).

The child is started once (a fresh Python, not forked: forking a process with sound threads
is unsafe) and builds one recogniser at a time; the listener's thread is its only caller.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from companion.core.errors import CompanionError
from companion.listening.commands_vocab import Vocabulary
from companion.listening.recognisers import Recogniser, SpeechEngine, TimedWord, Word

log = logging.getLogger(__name__)

ANSWER_TIMEOUT_SECONDS = 10.0
"""Longest wait for the child's answer before it counts as lost (a decode takes ms)."""

START_TIMEOUT_SECONDS = 30.0
"""Longest wait for the child to load its model (about a second here)."""


ENGINE_CALLS = frozenset({"knows", "phones"})
"""Calls the child answers from its engine; all others go to its current recogniser."""


class RecogniserLost(CompanionError):
    """The child process stopped answering; listening starts again with a new one."""


def _serve(requests: Connection, answers: Connection) -> None:
    """The child's loop: build the engine, then recognisers; answer each call in turn."""
    try:
        make_engine: Callable[[], SpeechEngine] = requests.recv()
        engine = make_engine()
    except EOFError:
        return
    except Exception as error:
        answers.send(("error", str(error)))
        return
    answers.send(("ok", None))
    recogniser: Any = None
    while True:
        try:
            call, args = requests.recv()
        except (EOFError, OSError):  # the parent has gone
            return
        try:
            if call == "new":
                recogniser = engine.recogniser(*args)
                answer = None
            elif call in ENGINE_CALLS:
                answer = getattr(engine, call)(*args)
            else:
                answer = getattr(recogniser, call)(*args)
            answers.send(("ok", answer))
        except Exception as error:
            answers.send(("error", f"{type(error).__name__}: {error}"))


def _child_main() -> None:
    # Ctrl-C in the terminal reaches the whole process group; the parent decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the answers
    _serve(Connection(0, writable=False), answers)


class ChildProcessEngine:
    """A `SpeechEngine` that lives in one child process: `make_engine` (picklable) builds
    it there, and word checks and recognisers are all answered from there, so this
    process loads no model at all."""

    def __init__(self, name: str, make_engine: Callable[[], SpeechEngine]) -> None:
        self.name = name
        self._make_engine = make_engine
        self._to_child: Connection | None = None
        self._from_child: Connection | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._start()  # now, not at the first recogniser: the model loads before the mic opens

    def knows(self, word: str) -> bool:
        known: bool = self.call("knows", word)
        return known

    def phones(self, word: str) -> int:
        count: int = self.call("phones", word)
        return count

    def recogniser(self, vocab: Vocabulary, rate: int) -> Recogniser:
        """A new recogniser in the child; the one it had before is dropped."""
        if self._process is None or self._process.poll() is not None:
            self._start()
        self.call("new", vocab, rate)
        return ChildRecogniser(self, rate)

    def _start(self) -> None:
        self.close()
        # A plain child Python, not multiprocessing's spawn: that runs the parent's main
        # module again in the child, which any script without a __main__ guard breaks.
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
        process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
        assert process.stdin is not None and process.stdout is not None
        self._to_child = Connection(os.dup(process.stdin.fileno()), readable=False)
        self._from_child = Connection(os.dup(process.stdout.fileno()), writable=False)
        process.stdin.close()
        process.stdout.close()
        self._process = process
        try:
            self._to_child.send(self._make_engine)
            self._answer(START_TIMEOUT_SECONDS)
        except (OSError, ValueError) as error:
            self.close()
            raise RecogniserLost(f"The recogniser process did not start ({error}).") from None
        except RecogniserLost:
            self.close()
            raise
        log.info("recogniser running in child process %s", process.pid)

    def call(self, name: str, *args: Any) -> Any:
        """Run `name(*args)` on the child's recogniser and return its answer."""
        if self._to_child is None:
            raise RecogniserLost("The recogniser process is not running.")
        try:
            self._to_child.send((name, args))
            return self._answer(ANSWER_TIMEOUT_SECONDS)
        except (OSError, ValueError) as error:
            self.close()
            raise RecogniserLost(f"The recogniser process has stopped ({error}).") from None
        except RecogniserLost:
            self.close()  # the next recogniser starts a new child
            raise

    def _answer(self, timeout: float) -> Any:
        connection = self._from_child
        assert connection is not None
        try:
            if not connection.poll(timeout):
                raise RecogniserLost(f"The recogniser process gave no answer in {timeout:.0f} s.")
            status, value = connection.recv()
        except (EOFError, OSError) as error:
            raise RecogniserLost(f"The recogniser process has stopped ({error}).") from None
        if status != "ok":
            raise RecogniserLost(f"The recogniser process failed: {value}")
        return value

    def close(self) -> None:
        """Stop the child: it ends when its input closes (and when this process goes)."""
        for connection in (self._to_child, self._from_child):
            if connection is not None:
                connection.close()
        self._to_child = self._from_child = None
        if self._process is not None:
            try:
                self._process.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=2.0)
            self._process = None


class ChildRecogniser:
    """The `Recogniser` interface, answered by the child's recogniser."""

    def __init__(self, engine: ChildProcessEngine, rate: int) -> None:
        self.engine = engine.name
        self.rate = rate
        self._engine = engine

    def accept(self, chunk: bytes) -> list[Word] | None:
        words: list[Word] | None = self._engine.call("accept", chunk)
        return words

    def partial(self) -> tuple[str, ...]:
        words: tuple[str, ...] = self._engine.call("partial")
        return words

    def finish(self) -> list[Word]:
        words: list[Word] = self._engine.call("finish")
        return words

    def second_opinion(self) -> list[TimedWord] | None:
        opinion: list[TimedWord] | None = self._engine.call("second_opinion")
        return opinion


if __name__ == "__main__":
    _child_main()
