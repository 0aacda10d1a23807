"""The session engine: pure. Commands and ticks in, effects out, time passed in.

A step unfolds into *phases* (a spoken line, an inhale, a speaker's floor, a
break...). Each phase has a length in active seconds, or waits for a command.
Every timer is arithmetic on the `now` each call brings: pausing stores when,
resuming shifts the phase start by the paused span, so paused time is never
counted. The engine reads no clock, starts no thread and does no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from companion.core.effects import (
    Command,
    CommandName,
    Cue,
    CueName,
    Effect,
    Milestone,
    Notice,
    Speak,
    StopSound,
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

PhaseKind = Literal[
    "say",
    "silence",
    "countdown",
    "inhale",
    "inhale2",
    "hold",
    "exhale",
    "end",
    "floor",
    "paraphrase",
    "break",
    "ready",
    "choice",
    "role",
    "check",
]

LINE_GAP_SECONDS = 1.0
"""Quiet after each spoken line, so the guide never rushes from one idea to the next."""
SPOKEN_CUE_CYCLES = 3
"""Breathing cues are spoken for the first cycles only, then tones alone: a guide that
does not talk all the time."""
PACE_STEP = 1.1
"""Each "slower" lengthens every breathing phase by 10%; "faster" undoes one step."""
PACE_LIMITS = (0.5, 2.0)
END_CUE_SECONDS = 1.5
BREATH_WORDS: dict[str, str] = {
    "inhale": "in",
    "inhale2": "and in",
    "hold": "hold",
    "exhale": "out",
}
BREAK_LIMIT_MINUTES = 24 * 60 - 1
"""A break, "more time" included, lasts less than a day: past that it is no longer a pause
in one conversation."""
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
COUNTDOWN_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


DEFAULT_RATE = 150
"""Words a minute the voice speaks at unless told: calm and unhurried (the one default)."""


def estimate_speech_seconds(text: str, words_per_minute: float = DEFAULT_RATE) -> float:
    """How long a line takes to say before any voice has rendered it.

    Fitted to espeak-ng renders of the built-in library at 150 words a minute (about 8%
    off per line, unbiased over a script): letters set the pace, and every sentence end
    and comma adds a pause. Real lengths replace it as soon as a line is rendered.
    """
    if not text.strip():
        return 0.0
    pace = 150.0 / max(words_per_minute, 1.0)  # the rate the fit was made at
    letters = len(text) * 0.0645 * pace
    pauses = len(re.findall(r"[.!?;:]", text)) * 0.06 + text.count(",") * 0.13
    return 0.4 + letters + pauses


@dataclass(frozen=True)
class Tick:
    """Time has reached (or passed) the engine's next deadline."""


Event = Command | Tick


@dataclass(frozen=True)
class BreathInfo:
    cycle: int
    cycles: int | None
    """None when the step runs for minutes rather than a count."""


@dataclass(frozen=True)
class FloorInfo:
    speaker: Partner
    stage: Literal["floor", "paraphrase", "check"]
    round: int
    rounds: int
    warning_seconds: float


@dataclass(frozen=True)
class Phase:
    """A stretch of a step with one length and one look on the page."""

    kind: PhaseKind
    seconds: float | None
    """Active seconds; None waits for a command (ready, choice)."""
    start: tuple[Effect, ...] = ()
    caption: str = ""
    marks: tuple[tuple[float, Effect], ...] = ()
    """Effects due at offsets inside the phase (a turn's warning, break prompts)."""
    breath: BreathInfo | None = None
    floor: FloorInfo | None = None
    ready_who: str = ""
    more_minutes: float = 0.0


@dataclass(frozen=True)
class TimelineEntry:
    """One cue in a preview: when it starts, in which step, what it is."""

    at: float
    step: int
    kind: str
    text: str
    seconds: float
    spoken: str = ""
    """What the voice says as the entry starts: differs from `text` when a caption is shown."""
    speaker: str = ""
    """On floor and paraphrase entries: the name of who has the floor."""
    listener: str = ""


@dataclass
class _Frame:
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


class Engine:
    """Runs one guided session at a time. Not thread-safe: one owner drives it."""

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
        self._frames: list[_Frame] = []
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

    def _break_at(self, frame: _Frame) -> tuple[int, Break] | None:
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

    # -- events ------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Effect]:
        """Apply one event at time `now`; return what the outputs should do."""
        if isinstance(event, Tick):
            return self._tick(now)
        effects = self._tick(now)  # catch up first, so a command acts on the present phase
        if self.on_break and event.name not in BREAK_COMMANDS:
            return [*effects, Notice(ON_BREAK_NOTICE)]
        handler = getattr(self, f"_on_{event.name.value}")
        result: list[Effect] = handler(event, now)
        return effects + result

    def set_names(self, names: Names) -> None:
        self.names = names

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
        self._frames = [_Frame(script, index=min(max(command.step, 0), len(script.steps) - 1))]
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
        self._frames.append(_Frame(break_script, break_minutes=max(0.0, command.minutes)))
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

    def _break_minutes(self, frame: _Frame) -> float:
        """The whole length of the frame's break so far, or as it will begin."""
        if frame.granted_minutes is not None:
            return frame.granted_minutes
        found = self._break_at(frame)
        base = found[1].minutes if found is not None else 0.0
        if frame.break_minutes:
            base = max(base, frame.break_minutes)
        return min(BREAK_LIMIT_MINUTES, base + frame.extra_minutes)

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

    @property
    def _top(self) -> _Frame:
        return self._frames[-1]

    @property
    def _in_timeout(self) -> bool:
        return any(frame.script.id == self.break_script_id for frame in self._frames)

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

    # -- steps into phases -------------------------------------------------

    def _say_phase(self, text: str, caption: str = "") -> Phase:
        spoken = self._fill(text)
        shown = self._fill(caption) if caption else spoken
        seconds = self.speech_seconds(spoken) + LINE_GAP_SECONDS
        return Phase("say", seconds, start=(Speak(spoken, shown),), caption=shown)

    def _phases(self, step: Step, frame: _Frame) -> Iterator[Phase]:
        if isinstance(step, Say):
            yield self._say_phase(step.text, step.caption)
        elif isinstance(step, Silence):
            yield Phase("silence", step.seconds, caption=self._fill(step.caption))
        elif isinstance(step, Ready):
            # One waiting phase that speaks as it opens: "ready" counts even mid-question.
            said = self._say_phase(step.text, step.caption)
            who = step.who if step.who in ("either", "both") else self._partner(step.who)
            marks: tuple[tuple[float, Effect], ...] = ()
            if step.reminder:
                # Said once, softly; the gate stays open for as long as it takes.
                line = self._fill(step.reminder)
                marks = ((step.reminder_seconds, Speak(line, line)),)
            yield Phase(
                "ready", None, start=said.start, caption=said.caption, marks=marks, ready_who=who
            )
        elif isinstance(step, Role):
            said = self._say_phase(step.text, step.caption)
            yield Phase("role", None, start=said.start, caption=said.caption)
        elif isinstance(step, Breathe):
            yield from self._breathe(step)
        elif isinstance(step, Turn):
            yield from self._turn(step)
        elif isinstance(step, Break):
            yield from self._break(step, frame)

    def _breathe(self, step: Breathe) -> Iterator[Phase]:
        spoken = step.cues == "spoken"
        for count in range(step.countdown, 0, -1):
            word = COUNTDOWN_WORDS[count - 1] if spoken and count <= 10 else ""
            yield Phase("countdown", 1.0, start=(Cue("countdown", word),))
        budget = step.minutes * 60.0 if step.minutes is not None else math.inf
        breathed = 0.0
        cycle = 0
        while (step.cycles is not None and cycle < step.cycles) or (
            step.cycles is None and breathed < budget
        ):
            cycle += 1
            info = BreathInfo(cycle, step.cycles)
            say_words = spoken and cycle <= SPOKEN_CUE_CYCLES
            for kind, base in (
                ("inhale", step.inhale),
                ("inhale2", step.inhale2),
                ("hold", step.hold_in),
                ("exhale", step.exhale),
                ("hold", step.hold_out),
            ):
                if base <= 0:
                    continue
                seconds = base * self.pace  # read at each phase: pace changes apply at once
                breathed += seconds
                word = BREATH_WORDS[kind] if say_words else ""
                cue: CueName = kind  # type: ignore[assignment]
                yield Phase(kind, seconds, start=(Cue(cue, word),), breath=info)  # type: ignore[arg-type]
        yield Phase("end", END_CUE_SECONDS, start=(Cue("end"),))

    def _turn(self, step: Turn) -> Iterator[Phase]:
        speaker = self._partner(step.first)
        for round_number in range(1, step.rounds + 1):
            for _ in range(2):
                listener = other(speaker)
                fill = {"speaker": self.names.of(speaker), "listener": self.names.of(listener)}
                if step.speaker_prompt:
                    yield self._say_phase(self._fill(step.speaker_prompt, **fill))
                warning: tuple[tuple[float, Effect], ...] = ()
                if 0 < step.warning_seconds < step.floor_seconds:
                    at = step.floor_seconds - step.warning_seconds
                    warning = ((at, Cue("warning")),)
                yield Phase(
                    "floor",
                    step.floor_seconds,
                    marks=warning,
                    floor=FloorInfo(
                        speaker, "floor", round_number, step.rounds, step.warning_seconds
                    ),
                )
                if step.paraphrase_prompt:
                    yield self._say_phase(self._fill(step.paraphrase_prompt, **fill))
                yield Phase(
                    "paraphrase",
                    step.paraphrase_seconds,
                    floor=FloorInfo(speaker, "paraphrase", round_number, step.rounds, 0.0),
                )
                if step.check_seconds > 0:
                    # The mirror's own question: "Did I get it? Is there more?" needs an answer.
                    if step.check_prompt:
                        yield self._say_phase(self._fill(step.check_prompt, **fill))
                    yield Phase(
                        "check",
                        step.check_seconds,
                        floor=FloorInfo(speaker, "check", round_number, step.rounds, 0.0),
                    )
                speaker = listener

    def _break(self, step: Break, frame: _Frame) -> Iterator[Phase]:
        frame.granted_minutes = None  # each break step starts from its own length
        minutes = self._break_minutes(frame)
        frame.granted_minutes, frame.extra_minutes = minutes, 0.0
        seconds = minutes * 60.0
        said = self._announce(step, minutes)
        marks: list[tuple[float, Effect]] = []
        offset = self.speech_seconds(said) + LINE_GAP_SECONDS if said else 0.0
        for prompt in step.soothing:
            line = self._fill(prompt)
            marks.append((offset, Speak(line, line)))
            offset += self.speech_seconds(line) + step.soothe_gap
        yield Phase(
            "break",
            seconds,
            start=(Speak(said, said),) if said else (),
            caption=said,
            marks=tuple(marks),
            more_minutes=step.more_minutes,
        )
        callback = self._callback(step, frame)
        if callback is not None:
            yield callback
        yield self._choice(step, frame, self._caption)

    def _announce(self, step: Break, minutes: float) -> str:
        """The return time said aloud as a break (or more time) begins; "" when not asked for."""
        return self._fill(step.announce, minutes=f"{round(minutes):d}") if step.announce else ""

    def _callback(self, step: Break, frame: _Frame) -> Phase | None:
        """The call back; at a day's break, the one that does not offer more time."""
        last = step.last_callback and self._break_allowance(frame) < 60.0
        text = step.last_callback if last else step.callback
        return self._say_phase(text) if text else None

    def _break_allowance(self, frame: _Frame) -> float:
        """Seconds of break still allowed before the whole break would reach a day."""
        return max(0.0, (BREAK_LIMIT_MINUTES - self._break_minutes(frame)) * 60.0)

    def _choice(self, step: Break, frame: _Frame, caption: str) -> Phase:
        """Come back, or more time: no more than what keeps the whole break under a day."""
        more = min(step.more_minutes, self._break_allowance(frame) / 60.0)
        return Phase("choice", None, caption=caption, more_minutes=more)

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


def preview(
    script: Script,
    names: Names | None = None,
    speech_seconds: Callable[[str], float] = estimate_speech_seconds,
    *,
    break_script: Script | None = None,
    choose: Partner = "a",
) -> list[TimelineEntry]:
    """The cue timeline of a script as the engine would run it, computed instantly.

    Ready gates, role questions and the end-of-break choice are answered as soon as the
    line asking has been said ("ready", the partner `choose` for every role, "come back"),
    so the offsets show the script's own timing and a rendered file lets every question
    be heard; a gate with a reminder is answered just after its reminder, so the timeline
    shows when "take your time" would be said, and the length allows for it.
    """
    library = {script.id: script}
    if break_script is not None:
        library.setdefault(break_script.id, break_script)
    engine = Engine(library, names=names, speech_seconds=speech_seconds, record_timeline=True)
    now = 0.0
    engine.handle(Command(CommandName.START, source="cli", script=script.id), now)
    # A script is finite; the guard only protects against a runaway loop bug.
    for _ in range(1_000_000):
        if not engine.running:
            break
        deadline = engine.next_deadline()
        if deadline is not None:
            now = max(now, deadline)
            engine.handle(Tick(), now)
            continue
        # Waiting: the question (or reminder) just said is heard to its end, then answered.
        said = engine.timeline[-1] if engine.timeline else None
        if said is not None and said.spoken:
            heard = said.at + speech_seconds(said.spoken) + LINE_GAP_SECONDS
            now = max(now, heard)
        kind = engine._phase.kind if engine._phase else ""
        if kind == "role":
            engine.handle(Command(CommandName.READY, source="cli", partner=choose), now)
            continue
        answer = CommandName.READY if kind == "ready" else CommandName.RETURN
        engine.handle(Command(answer, source="cli"), now)
    assert engine.timeline is not None
    return engine.timeline


def timeline_seconds(timeline: list[TimelineEntry]) -> float:
    """Where a timeline ends: the latest entry's start plus its length."""
    return max((entry.at + entry.seconds for entry in timeline), default=0.0)
