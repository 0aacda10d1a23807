"""The session engine: pure. Commands, ticks and the listener's holds in, effects out,
time passed in.

A step unfolds into *phases* (a spoken line, an inhale, a speaker's floor, a
break...). Each phase has a length in active seconds, or waits for a command.
Every timer is arithmetic on the `now` each call brings: pausing stores when,
resuming shifts the phase start by the paused span, so paused time is never
counted. The engine reads no clock, starts no thread and does no I/O.

Here: events and commands. What a session holds and shows is in `state`, how each
step unfolds into phases in `steps`; `Engine` stacks on both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from companion.core.effects import (
    Command,
    CommandName,
    Cue,
    Effect,
    HoldSound,
    HoldVoice,
    Milestone,
    Notice,
    ReleaseSound,
    ReleaseVoice,
    Speak,
    StopSound,
)
from companion.core.phase import (
    BREAK_LIMIT_MINUTES,
    Phase,
    TimelineEntry,
)
from companion.core.script import (
    Names,
    Partner,
    Role,
    other,
)
from companion.core.state import Frame
from companion.core.steps import StepPhases

PACE_STEP = 1.1
"""Each "slower" lengthens every breathing phase by 10%; "faster" undoes one step."""
PACE_LIMITS = (0.5, 2.0)
BREAK_COMMANDS = frozenset(
    {
        CommandName.PAUSE,
        CommandName.RESUME,
        CommandName.MORE_TIME,
        CommandName.RETURN,
        CommandName.STOP,
        CommandName.TIMEOUT,
    }
)
"""All that acts during a break: nothing else can skip it by accident (a time-out does nothing)."""
ON_BREAK_NOTICE = "During a break only Pause, More time, Come back early and Stop work."
EARLY_RETURN_NOTICE = (
    "The break is not over yet: to come back early, press Come back early and confirm."
)
LIMIT_NOTICE = "A break lasts less than a day: this one cannot be any longer."
NO_BREAK_NOTICE = "A time-out cannot run: there is no break script (time-out.toml)."


@dataclass(frozen=True)
class Tick:
    """Time has reached (or passed) the engine's next deadline."""


Event = Command | Tick | HoldVoice | ReleaseVoice


class Engine(StepPhases):
    """Runs one guided session at a time. Not thread-safe: one owner drives it."""

    # -- events ------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Effect]:
        """Apply one event at time `now`; return what the outputs should do."""
        if isinstance(event, Tick):
            return self._tick(now)
        if isinstance(event, HoldVoice | ReleaseVoice):
            # Only what plays changes, not the session: nothing to catch up on or to show.
            return self._hold(isinstance(event, HoldVoice))
        effects = self._tick(now)  # catch up first, so a command acts on the present phase
        if self.on_break and event.name not in BREAK_COMMANDS:
            return [*effects, Notice(ON_BREAK_NOTICE)]
        handler = getattr(self, f"_on_{event.name.value}")
        result: list[Effect] = handler(event, now)
        return effects + result

    def set_names(self, names: Names) -> None:
        self.names = names

    def _hold(self, on: bool) -> list[Effect]:
        """Hold the voice while the session may be sounding (running, not paused); release
        every hold sent exactly once, whatever came between (a pause, a stop, a new start)."""
        if on == self._held or (on and (not self._frames or self._paused_at is not None)):
            return []
        self._held = on
        return [HoldSound() if on else ReleaseSound()]

    def _tick(self, now: float) -> list[Effect]:
        effects: list[Effect] = []
        deadline = self.next_deadline()
        while deadline is not None and now >= deadline and self._phase is not None:
            phase = self._phase
            pending = phase.marks[self._marks_fired :]
            # Compare offsets, not `deadline - start`: float rounding must not skip a mark.
            if pending and (phase.seconds is None or pending[0][0] <= phase.seconds):
                self._marks_fired += 1
                effects.extend(self._fire(pending[0][1], deadline))
            else:
                effects.extend(self._advance(deadline))
            deadline = self.next_deadline()
        return effects

    # -- commands ----------------------------------------------------------

    def _on_start(self, command: Command, now: float) -> list[Effect]:
        script = self.library.get(command.script)
        if script is None:
            return []
        effects: list[Effect] = []
        if self._frames:
            effects.extend(self._end("stopped"))
        # Going on after a stop keeps the roles chosen before it; anything else starts afresh.
        going_on = (
            command.step > 0
            and self._stopped_at is not None
            and self._stopped_at[0].id == script.id
        )
        if not going_on:
            self._roles = script.default_roles()
        self._ended = None
        self._stopped_at = None
        self._started_at = now
        self._frames = [Frame(script, index=min(max(command.step, 0), len(script.steps) - 1))]
        effects.append(Milestone("started", script.id))
        effects.extend(self._enter_step(now))
        return effects

    def _on_pause(self, command: Command, now: float) -> list[Effect]:
        if not self._frames or self._paused_at is not None:
            return []
        self._paused_at = now
        return [StopSound(), Milestone("paused", self._top.script.id, self._top.index)]

    def _on_resume(self, command: Command, now: float) -> list[Effect]:
        if self._paused_at is None or self._phase is None:
            return []
        self._phase_started += now - self._paused_at
        self._paused_at = None
        effects: list[Effect] = [Milestone("resumed", self._top.script.id, self._top.index)]
        if self._phase.kind == "say":
            # Resume restarts the interrupted line from its beginning.
            self._phase_started = now
            effects.extend(self._phase.start)
        return effects

    def _on_next(self, command: Command, now: float) -> list[Effect]:
        if not self._frames:
            return []
        if self._phase is not None and self._phase.kind == "choice":
            return self._on_return(command, now)
        if self._phase is not None and self._phase.kind == "role":
            return self._choose("b", now)  # by voice: "ready" is the first name, "next" the second
        self._paused_at = None
        self._top.index += 1
        return [StopSound(), *self._enter_step(now)]

    def _on_back(self, command: Command, now: float) -> list[Effect]:
        if not self._frames:
            return []
        self._paused_at = None
        self._top.index = max(0, self._top.index - 1)
        return [StopSound(), *self._enter_step(now)]

    def _on_repeat(self, command: Command, now: float) -> list[Effect]:
        if not self._frames:
            return []
        if self._phase is not None and self._phase.kind == "say":
            self._paused_at = None
            return [StopSound(), *self._begin_phase(self._phase, now)]
        if self._caption:
            return [Speak(self._caption, self._caption)]
        return []

    def _on_stop(self, command: Command, now: float) -> list[Effect]:
        if not self._frames:
            return []
        return [StopSound(), *self._end("stopped")]

    def _on_timeout(self, command: Command, now: float) -> list[Effect]:
        break_script = self.library.get(self.break_script_id)
        if break_script is None:
            return [Notice(NO_BREAK_NOTICE)]
        if self._in_timeout:
            return []
        effects: list[Effect] = [StopSound()]
        self._paused_at = None
        if not self._frames:
            self._ended = None
            self._stopped_at = None
            self._started_at = now
            effects.append(Milestone("started", break_script.id))
        else:
            effects.append(Milestone("timeout", self._top.script.id, self._top.index))
        self._frames.append(Frame(break_script, break_minutes=max(0.0, command.minutes)))
        effects.extend(self._enter_step(now))
        return effects

    def _on_slower(self, command: Command, now: float) -> list[Effect]:
        self.pace = min(PACE_LIMITS[1], self.pace * PACE_STEP)
        return []

    def _on_faster(self, command: Command, now: float) -> list[Effect]:
        self.pace = max(PACE_LIMITS[0], self.pace / PACE_STEP)
        return []

    def _on_ready(self, command: Command, now: float) -> list[Effect]:
        phase = self._phase
        if phase is not None and phase.kind == "role":
            # A button names the partner; a voice cannot, so "ready" chooses the first name.
            return self._choose(command.partner or "a", now)
        if phase is None or phase.kind != "ready":
            return []
        self._ready.add(command.partner or "any")
        who = phase.ready_who
        satisfied = (
            "any" in self._ready
            or (who == "either" and bool(self._ready))
            or (who == "both" and {"a", "b"} <= self._ready)
            or (who in ("a", "b") and who in self._ready)
        )
        return self._advance(now) if satisfied else []

    def _on_more_time(self, command: Command, now: float) -> list[Effect]:
        phase = self._phase
        frame = self._top if self._frames else None
        found = self._break_at(frame) if frame is not None else None
        if phase is None or frame is None or found is None:
            return []
        step = found[1]
        asked = command.minutes if command.minutes > 0 else step.more_minutes
        added = min(asked, BREAK_LIMIT_MINUTES - self._break_minutes(frame))
        if added <= 0:
            return [Notice(LIMIT_NOTICE)]
        effects: list[Effect] = [Notice(LIMIT_NOTICE)] if added < asked else []
        if frame.granted_minutes is None:
            # Still in the opening lines: the break, when it begins, is that much longer
            # (and says so then).
            frame.extra_minutes += added
            return effects
        frame.granted_minutes += added
        if phase.kind == "break" and phase.seconds is not None:
            self._phase = replace(phase, seconds=phase.seconds + added * 60.0)
            said = self._announce(step, (self.remaining(now) or 0.0) / 60.0)
            return effects + ([Speak(said, said)] if said else [])
        # The call back or the choice: a new stretch of break, then both again.
        if phase.kind == "say":
            effects.append(StopSound())
        said = self._announce(step, added)
        more = Phase(
            "break",
            added * 60.0,
            start=(Speak(said, said),) if said else (),
            caption=said or self._caption,
            more_minutes=step.more_minutes,
        )
        callback = self._callback(step, frame)
        choice = self._choice(step, frame, callback.caption if callback else self._caption)
        frame.phases = iter([p for p in (callback, choice) if p is not None])
        return effects + self._begin_phase(more, now)

    def _on_return(self, command: Command, now: float) -> list[Effect]:
        phase = self._phase
        found = self._break_at(self._top) if self._frames else None
        if phase is None or found is None:
            return []
        effects: list[Effect] = []
        if phase.kind != "choice":
            # Before the break is over only a confirmed "come back early" ends it.
            if not command.early:
                return [Notice(EARLY_RETURN_NOTICE)]
            effects.append(StopSound())
        self._paused_at = None
        # The rest of the break script (a few breaths to come back) runs before the step
        # the time-out interrupted; a break script with nothing after it returns at once.
        self._top.index = found[0] + 1
        return effects + self._enter_step(now)

    def _choose(self, partner: str, now: float) -> list[Effect]:
        """The partner takes the role the current role step asks about; the other, its other."""
        frame = self._top
        step = frame.script.steps[frame.index]
        if not isinstance(step, Role) or partner not in ("a", "b"):
            return []
        chosen: Partner = "a" if partner == "a" else "b"
        self._roles[step.role] = chosen
        if step.other:
            self._roles[step.other] = other(chosen)
        return [StopSound(), *self._advance(now)]

    # -- progression -------------------------------------------------------

    def _enter_step(self, now: float) -> list[Effect]:
        """Start the top frame's current step, or finish the frame if none is left."""
        frame = self._top
        if frame.index >= len(frame.script.steps):
            return self._finish_frame(now)
        frame.phases = self._phases(frame.script.steps[frame.index], frame)
        reached = Milestone("reached", frame.script.id, frame.index)
        return [reached, *self._advance(now, finished_step=False)]

    def _advance(self, now: float, *, finished_step: bool = True) -> list[Effect]:
        """Move to the next phase of the current step, or on to the next step."""
        frame = self._top
        phase = next(frame.phases, None)
        if phase is not None:
            return self._begin_phase(phase, now)
        effects: list[Effect] = []
        if finished_step:
            effects.append(Milestone("step", frame.script.id, frame.index))
        frame.index += 1
        return effects + self._enter_step(now)

    def _finish_frame(self, now: float) -> list[Effect]:
        if len(self._frames) > 1:
            return self._leave_timeout(now)
        return [Cue("end"), *self._end("completed")]

    def _leave_timeout(self, now: float) -> list[Effect]:
        self._frames.pop()
        frame = self._top
        # Back to the exact step the time-out interrupted, from its start.
        return [
            StopSound(),
            Milestone("returned", frame.script.id, frame.index),
            *self._enter_step(now),
        ]

    def _end(self, how: Literal["completed", "stopped"]) -> list[Effect]:
        main = self._frames[0] if self._frames else None
        script = main.script.id if main else ""
        # Stopped past its first step, the script can go on from there (the step the
        # couple was in, even if a time-out was running on top of it).
        self._stopped_at = None
        if how == "stopped" and main is not None and main.index > 0:
            self._stopped_at = (main.script, main.index)
        self._frames = []
        self._phase = None
        self._paused_at = None
        self._ended = how
        return [Milestone("ended", script, detail=how)]

    def _begin_phase(self, phase: Phase, now: float) -> list[Effect]:
        self._phase = phase
        self._phase_started = now
        self._marks_fired = 0
        self._ready = set()
        if phase.caption:
            self._caption = phase.caption
        speaker = listener = ""
        if phase.floor is not None:
            speaker = self.names.of(phase.floor.speaker)
            listener = self.names.of(other(phase.floor.speaker))
        text = phase.caption or _cue_word(phase.start)
        spoken = _spoken(phase.start)
        self._record(now, phase.kind, text, phase.seconds, spoken, speaker, listener)
        return list(phase.start)

    def _fire(self, effect: Effect, now: float) -> list[Effect]:
        if isinstance(effect, Speak):
            self._caption = effect.caption
            seconds = self.speech_seconds(effect.text)
            self._record(now, "say", effect.caption, seconds, effect.text)
        elif isinstance(effect, Cue):
            self._record(now, effect.name, effect.word, 0.0, effect.word)
        return [effect]

    def _record(
        self,
        now: float,
        kind: str,
        text: str,
        seconds: float | None,
        spoken: str = "",
        speaker: str = "",
        listener: str = "",
    ) -> None:
        if self.timeline is not None and self._frames:
            at = now - self._started_at
            index = self._top.index
            entry = TimelineEntry(at, index, kind, text, seconds or 0.0, spoken, speaker, listener)
            self.timeline.append(entry)


def _spoken(effects: tuple[Effect, ...]) -> str:
    for effect in effects:
        if isinstance(effect, Speak):
            return effect.text
        if isinstance(effect, Cue):
            return effect.word
    return ""


def _cue_word(effects: tuple[Effect, ...]) -> str:
    for effect in effects:
        if isinstance(effect, Cue):
            return effect.word
    return ""
