"""The one thread that drives the engine: inputs from an inbox, ticks from deadlines.

Everything else talks to the engine only through `Runner.submit` (commands, names, the
listener's holds and releases), which never blocks, so request and WebSocket handlers stay
responsive whatever the audio does. Effects leave only through `on_effects`, in the order
the engine made them: the voice has this one driver. The runner itself never waits on audio
either: a script's lines are rendered on a preparing thread before it starts, and Stop (or
another Start) during that acts at once, as does a hold; everything else, a release too,
waits in order for the new session.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from companion.core.clock import Clock
from companion.core.effects import Command, CommandName, Effect, HoldVoice, ReleaseVoice
from companion.core.engine import Engine, Tick
from companion.core.script import Names, Script
from companion.core.state import aged_snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Shutdown:
    """Ends the runner's loop."""


@dataclass(frozen=True)
class _Call:
    """Run a function on the runner thread (a new library between events; tests)."""

    function: Callable[[Engine], None]


@dataclass(frozen=True)
class _Progress:
    """From the preparing thread: `done` of `total` lines of start `ticket` are rendered."""

    ticket: int
    done: int
    total: int


@dataclass(frozen=True)
class _Prepared:
    """From the preparing thread: start `ticket` is ready to run."""

    ticket: int


class _Cancelled(Exception):
    """Ends a preparation nobody waits for any more (raised from its progress callback)."""


@dataclass
class _Pending:
    """A START whose lines are being rendered, and what arrived for the engine meanwhile."""

    ticket: int
    command: Command
    script: Script
    later: list[Command | Names | ReleaseVoice | _Call]
    done: int = 0
    total: int = 0


Input = Command | Names | HoldVoice | ReleaseVoice
"""What the rest of the companion hands the engine."""
Inbox = Input | _Call | _Shutdown | _Progress | _Prepared


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
        self._pending: _Pending | None = None
        self._tickets = 0
        self._live_ticket = 0
        """The preparation still wanted (read by the preparing thread to stop early)."""
        self._state_lock = threading.Lock()
        self._taken_at = clock.now()
        self._state: dict[str, Any] = engine.snapshot(self._taken_at)

    def start(self) -> None:
        self._thread.start()

    def submit(self, item: Input) -> None:
        """Queue a command, new names, a hold or a release for the engine; returns at once."""
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
        self._live_ticket = 0  # a preparation under way stops after its current line

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
            try:
                self._step(item)
            except Exception:  # a bug must not silence the whole companion
                log.exception("the session engine failed on %r", item)

    def _step(self, item: Input | _Call | Tick | _Progress | _Prepared) -> None:
        if isinstance(item, _Progress | _Prepared):
            self._preparation(item)
            return
        # A tick or a hold acts on what runs and plays now, whatever is being prepared.
        if self._pending is not None and not isinstance(item, Tick | HoldVoice):
            if not isinstance(item, Command) or item.name not in (
                CommandName.START,
                CommandName.STOP,
            ):
                self._pending.later.append(item)  # in order, once the new session runs
                return
            self._drop_pending()  # Stop, or another Start: the one being prepared is not wanted
            if item.name is CommandName.STOP:
                log.info("stopped while preparing")
        if isinstance(item, Command) and item.name is CommandName.START and self._begin(item):
            return
        self._apply(item)

    def _apply(self, item: Input | _Call | Tick) -> None:
        if isinstance(item, Names):
            self._engine.set_names(item)
        elif isinstance(item, _Call):
            item.function(self._engine)
        else:
            effects = self._engine.handle(item, self._clock.now())
            if effects:
                self._on_effects(effects)
            if isinstance(item, HoldVoice | ReleaseVoice):
                return  # only what plays changed: pages have the state already
        self._publish_now()

    def _begin(self, command: Command) -> bool:
        """Hand a START's rendering to the preparing thread; False if there is none to do."""
        script = self._engine.library.get(command.script)
        if script is None or self._prepare is None:
            return False
        self._tickets += 1
        ticket = self._live_ticket = self._tickets
        self._pending = _Pending(ticket, command, script, [])
        self._publish_now()
        # Its own daemon thread: a render cut off by closing the voice must not hold the exit.
        threading.Thread(
            target=self._prepare_off_thread,
            args=(ticket, script),
            name="companion-prepare",
            daemon=True,
        ).start()
        return True

    def _prepare_off_thread(self, ticket: int, script: Script) -> None:
        """On the preparing thread: render, report progress through the inbox, then say done."""

        def progress(done: int, total: int) -> None:
            if self._live_ticket != ticket:
                raise _Cancelled
            self._inbox.put(_Progress(ticket, done, total))

        assert self._prepare is not None
        try:
            self._prepare(script, progress)
        except _Cancelled:
            return
        except Exception:  # the session runs anyway: lines not rendered are rendered on use
            log.exception("preparing %s failed", script.id)
        self._inbox.put(_Prepared(ticket))

    def _preparation(self, item: _Progress | _Prepared) -> None:
        pending = self._pending
        if pending is None or item.ticket != pending.ticket:
            return  # a preparation that was stopped or replaced
        if isinstance(item, _Progress):
            pending.done, pending.total = item.done, item.total
            self._publish_now()
            return
        self._pending = None
        self._apply(pending.command)
        for later in pending.later:
            self._apply(later)

    def _drop_pending(self) -> None:
        self._pending = None
        self._live_ticket = 0
        self._publish_now()

    def _publish_now(self) -> None:
        """The engine's state now; while a start is prepared, "preparing" and how far."""
        now = self._clock.now()
        state = self._engine.snapshot(now)
        pending = self._pending
        if pending is not None:
            state.update(
                status="preparing",
                progress={"done": pending.done, "total": pending.total},
                script={"id": pending.script.id, "title": pending.script.title},
            )
        self._publish(state, now)

    def _publish(self, state: dict[str, Any], taken_at: float) -> None:
        """Keep and send a snapshot with the time it was taken, so readers can age it."""
        with self._state_lock:
            self._state = state
            self._taken_at = taken_at
        self._on_state(state, taken_at)
