"""The one thread that drives the engine: commands from an inbox, ticks from deadlines.

Everything else talks to the engine only through `Runner.submit`, which never
blocks, so request and WebSocket handlers stay responsive whatever the audio does.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from companion.clock import Clock
from companion.effects import Command, CommandName, Effect
from companion.engine import Engine, Tick, aged_snapshot
from companion.script import Names, Script

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Shutdown:
    """Ends the runner's loop."""


@dataclass(frozen=True)
class _Call:
    """Run a function on the runner thread (used for names and tests)."""

    function: Callable[[Engine], None]


Inbox = Command | Names | _Call | _Shutdown


class Runner:
    """Owns the engine and its thread; fans effects and state out to the adapters."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        on_effects: Callable[[list[Effect]], None],
        on_state: Callable[[dict[str, Any], float], None],
        prepare: Callable[[Script, Callable[[int, int], None]], None] | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._on_effects = on_effects
        self._on_state = on_state
        self._prepare = prepare
        self._inbox: queue.Queue[Inbox] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="companion-runner", daemon=True)
        self._state_lock = threading.Lock()
        self._taken_at = clock.now()
        self._state: dict[str, Any] = engine.snapshot(self._taken_at)

    def start(self) -> None:
        self._thread.start()

    def submit(self, item: Command | Names) -> None:
        """Queue a command (or new names) for the engine; returns at once."""
        self._inbox.put(item)

    def call(self, function: Callable[[Engine], None]) -> None:
        self._inbox.put(_Call(function))

    def state(self) -> dict[str, Any]:
        """The latest state, its countdowns as of now (thread-safe copy)."""
        with self._state_lock:
            state, taken_at = self._state, self._taken_at
        return aged_snapshot(state, self._clock.now() - taken_at)

    def close(self, timeout: float = 2.0) -> None:
        self._inbox.put(_Shutdown())
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            deadline = self._engine.next_deadline()
            wait = None if deadline is None else max(0.0, deadline - self._clock.now())
            try:
                item: Inbox | Tick = self._inbox.get(timeout=wait)
            except queue.Empty:
                item = Tick()
            if isinstance(item, _Shutdown):
                return
            event: Command | Names | _Call | Tick = item
            try:
                self._step(event)
            except Exception:  # a bug must not silence the whole companion
                log.exception("the session engine failed on %r", event)

    def _step(self, item: Command | Names | _Call | Tick) -> None:
        if isinstance(item, Names):
            self._engine.set_names(item)
        elif isinstance(item, _Call):
            item.function(self._engine)
        else:
            if isinstance(item, Command) and item.name is CommandName.START:
                self._prepare_script(item.script)
            effects = self._engine.handle(item, self._clock.now())
            if effects:
                self._on_effects(effects)
        now = self._clock.now()
        self._publish(self._engine.snapshot(now), now)

    def _prepare_script(self, script_id: str) -> None:
        script = self._engine.library.get(script_id)
        if script is None or self._prepare is None:
            return

        def progress(done: int, total: int) -> None:
            now = self._clock.now()
            state = self._engine.snapshot(now)
            state.update(
                status="preparing",
                progress={"done": done, "total": total},
                script={"id": script.id, "title": script.title},
            )
            self._publish(state, now)

        self._prepare(script, progress)

    def _publish(self, state: dict[str, Any], taken_at: float) -> None:
        """Keep and send a snapshot with the time it was taken, so readers can age it."""
        with self._state_lock:
            self._state = state
            self._taken_at = taken_at
        self._on_state(state, taken_at)
