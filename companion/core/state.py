"""A session's state, and what the page sees of it: the part of the engine that only reads.

`SessionState` holds every field the engine changes and answers questions about them
(what is running, what remains, the snapshot every page shows); `StepPhases` and
`Engine` build on it. All arithmetic on the `now` passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from companion.core.phase import (
    BREAK_LIMIT_MINUTES,
    Phase,
    TimelineEntry,
    estimate_speech_seconds,
)
from companion.core.script import (
    Break,
    Breathe,
    Names,
    Partner,
    Ready,
    Role,
    Say,
    Script,
    Silence,
    Step,
    Turn,
    other,
)


@dataclass
class Frame:
    """A script being run; a time-out pushes a second frame on top of the first."""

    script: Script
    index: int = 0
    phases: Iterator[Phase] = field(default_factory=lambda: iter(()))
    break_minutes: float = 0.0
    """The break length agreed when the time-out was called (0: the script's own)."""
    extra_minutes: float = 0.0
    """More time asked for before the break itself began."""
    granted_minutes: float | None = None
    """The break's whole length so far, more time included; None until it begins."""


class SessionState:
    """The fields of one engine and the queries on them; `Engine` adds what changes them."""

    def __init__(
        self,
        library: Mapping[str, Script],
        *,
        break_script_id: str = "time-out",
        names: Names | None = None,
        speech_seconds: Callable[[str], float] = estimate_speech_seconds,
        record_timeline: bool = False,
    ) -> None:
        self.library = library
        self.break_script_id = break_script_id
        self.names = names or Names()
        self.speech_seconds = speech_seconds
        self.pace = 1.0
        self.timeline: list[TimelineEntry] | None = [] if record_timeline else None
        self._frames: list[Frame] = []
        self._phase: Phase | None = None
        self._phase_started = 0.0
        self._paused_at: float | None = None
        self._marks_fired = 0
        self._ready: set[str] = set()
        self._caption = ""
        self._ended: str | None = None
        self._stopped_at: tuple[Script, int] | None = None
        """The script and step a stop interrupted: a misheard "stop" can be undone."""
        self._started_at = 0.0
        self._roles: dict[str, Partner] = {}
        """Who holds each role a script asked about ({hurt}, {first}...)."""
        self._held = False
        """A `HoldSound` went out and its `ReleaseSound` not yet: the listener is deciding."""

    # -- queries -----------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._frames)

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    @property
    def script(self) -> Script | None:
        return self._frames[0].script if self._frames else None

    def elapsed(self, now: float) -> float:
        """Active seconds spent in the current phase (paused time excluded)."""
        if self._phase is None:
            return 0.0
        until = self._paused_at if self._paused_at is not None else now
        return max(0.0, until - self._phase_started)

    def remaining(self, now: float) -> float | None:
        if self._phase is None or self._phase.seconds is None:
            return None
        return max(0.0, self._phase.seconds - self.elapsed(now))

    @property
    def on_break(self) -> bool:
        """True in a break step, and in a time-out from its first line until the break is
        answered; steps a break script has after its break (breaths to come back with) run
        as usual."""
        return bool(self._frames) and self._break_at(self._top) is not None

    def _break_at(self, frame: Frame) -> tuple[int, Break] | None:
        """The break step the frame is in or, in a time-out's opening lines, heading for."""
        steps = frame.script.steps
        current = steps[frame.index] if 0 <= frame.index < len(steps) else None
        if isinstance(current, Break):
            return frame.index, current
        if frame.script.id == self.break_script_id:
            for index in range(frame.index + 1, len(steps)):
                step = steps[index]
                if isinstance(step, Break):
                    return index, step
        return None

    def next_deadline(self) -> float | None:
        """When `Tick` is next due, or None while paused, waiting or idle."""
        phase = self._phase
        if phase is None or self._paused_at is not None:
            return None
        offsets = [offset for offset, _ in phase.marks[self._marks_fired :]]
        if phase.seconds is not None:
            offsets.append(phase.seconds)
        return self._phase_started + min(offsets) if offsets else None

    def _break_minutes(self, frame: Frame) -> float:
        """The whole length of the frame's break so far, or as it will begin."""
        if frame.granted_minutes is not None:
            return frame.granted_minutes
        found = self._break_at(frame)
        base = found[1].minutes if found is not None else 0.0
        if frame.break_minutes:
            base = max(base, frame.break_minutes)
        return min(BREAK_LIMIT_MINUTES, base + frame.extra_minutes)

    @property
    def _top(self) -> Frame:
        return self._frames[-1]

    @property
    def _in_timeout(self) -> bool:
        return any(frame.script.id == self.break_script_id for frame in self._frames)

    def _fill(self, text: str, **extra: str) -> str:
        """A line with names in place: {a}, {b}, every role chosen, and `extra`."""
        roles = {role: self.names.of(partner) for role, partner in self._roles.items()}
        return self.names.fill(text, **roles, **extra)

    def _partner(self, who: str) -> Partner:
        """Which partner `who` ("a", "b" or a role) is; a role nobody chose is its default."""
        if who == "a":
            return "a"
        if who == "b":
            return "b"
        return self._roles.get(who, "a")

    # -- the page's view ---------------------------------------------------

    def snapshot(self, now: float) -> dict[str, Any]:
        """The state every page shows (docs/protocol.md), as of `now`."""
        phase = self._phase
        state: dict[str, Any] = {
            "status": self._status(),
            "script": None,
            "step": None,
            "caption": self._caption,
            "phase": None,
            "breath": None,
            "floor": None,
            "break": None,
            "waiting": None,
            "timeout": None,
            "names": {"a": self.names.a, "b": self.names.b},
            "roles": {role: self.names.of(p) for role, p in self._roles.items()},
            "ended": self._ended,
            "stopped_at": self._stopped_state(),
            "pace": round(self.pace, 3),
            "on_break": self.on_break,
        }
        if not self._frames or phase is None:
            return state
        frame = self._top
        remaining = self.remaining(now)
        state["script"] = {
            "id": frame.script.id,
            "title": frame.script.title,
            "safety": frame.script.safety,
            "help": frame.script.help,
        }
        step_kind = (
            "choice" if phase.kind == "choice" else _step_kind(frame.script.steps, frame.index)
        )
        state["step"] = {"index": frame.index, "count": len(frame.script.steps), "kind": step_kind}
        state["phase"] = {"kind": phase.kind, "seconds": phase.seconds, "remaining": remaining}
        if phase.breath is not None:
            step = frame.script.steps[frame.index]
            cycle_seconds = step.cycle_seconds if isinstance(step, Breathe) else 0.0
            state["breath"] = {
                "name": phase.kind,
                "seconds": phase.seconds,
                "remaining": remaining,
                "pace": round(self.pace, 3),
                "per_minute": round(60.0 / (cycle_seconds * self.pace), 2)
                if cycle_seconds
                else None,
                "cycle": phase.breath.cycle,
                "cycles": phase.breath.cycles,
            }
        elif phase.kind == "countdown":
            state["breath"] = {
                "name": "countdown",
                "seconds": 1.0,
                "remaining": remaining,
                "pace": round(self.pace, 3),
                "per_minute": None,
                "cycle": 0,
                "cycles": None,
            }
        if phase.floor is not None:
            floor = phase.floor
            state["floor"] = {
                "speaker": self.names.of(floor.speaker),
                "listener": self.names.of(other(floor.speaker)),
                "stage": floor.stage,
                "seconds": phase.seconds,
                "remaining": remaining,
                "round": floor.round,
                "rounds": floor.rounds,
                "warning": bool(
                    floor.warning_seconds
                    and remaining is not None
                    and remaining <= floor.warning_seconds
                ),
            }
        at_limit = self.on_break and self._break_minutes(frame) >= BREAK_LIMIT_MINUTES
        if phase.kind == "break":
            state["break"] = {
                "seconds": phase.seconds,
                "remaining": remaining,
                "more_minutes": phase.more_minutes,
                "at_limit": at_limit,
            }
        if phase.kind == "ready":
            state["waiting"] = {
                "for": "ready",
                "who": phase.ready_who,
                "ready": sorted(self._ready - {"any"}),
                "prompt": phase.caption,
            }
        elif phase.kind == "choice":
            state["waiting"] = {
                "for": "return",
                "prompt": phase.caption,
                "more_minutes": phase.more_minutes,
                "at_limit": at_limit,
            }
        elif phase.kind == "role":
            step = frame.script.steps[frame.index]
            state["waiting"] = {
                "for": "role",
                "role": step.role if isinstance(step, Role) else "",
                "prompt": phase.caption,
            }
        if len(self._frames) > 1:
            interrupted = self._frames[0]
            state["timeout"] = {"return_step": interrupted.index, "title": interrupted.script.title}
        return state

    def _stopped_state(self) -> dict[str, Any] | None:
        if self._stopped_at is None or self._frames:
            return None
        script, index = self._stopped_at
        return {"id": script.id, "title": script.title, "index": index, "count": len(script.steps)}

    def _status(self) -> str:
        if not self._frames:
            return "ended" if self._ended else "idle"
        if self._paused_at is not None:
            return "paused"
        if self._phase is not None and self._phase.seconds is None:
            return "waiting"
        return "running"


TIMED_PARTS: tuple[str, ...] = ("phase", "breath", "floor", "break")
"""The parts of a snapshot whose `remaining` counts down while a session runs."""


def aged_snapshot(state: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """`state` as it reads `seconds` after `snapshot` took it: every `remaining` less that much.

    Exact between snapshots, since the runner takes a new one at every deadline: nothing
    but the countdowns changes in between. Paused states do not count down; none goes
    below 0.
    """
    aged = dict(state)
    if state.get("status") == "paused" or seconds <= 0:
        return aged
    for key in TIMED_PARTS:
        part = state.get(key)
        if isinstance(part, dict) and isinstance(part.get("remaining"), int | float):
            aged[key] = {**part, "remaining": max(0.0, part["remaining"] - seconds)}
    return aged


def _step_kind(steps: tuple[Step, ...], index: int) -> str:
    kinds = {
        Say: "say",
        Silence: "silence",
        Breathe: "breathe",
        Turn: "turn",
        Break: "break",
        Ready: "ready",
        Role: "role",
    }
    return kinds[type(steps[index])] if 0 <= index < len(steps) else ""
