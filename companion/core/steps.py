"""Steps into phases: each kind of step unfolds, lazily, into what the engine runs."""

from __future__ import annotations

import math
from collections.abc import Iterator

from companion.core.effects import Cue, CueName, Effect, Speak
from companion.core.phase import (
    BREAK_LIMIT_MINUTES,
    BREATH_WORDS,
    COUNTDOWN_WORDS,
    END_CUE_SECONDS,
    LINE_GAP_SECONDS,
    SPOKEN_CUE_CYCLES,
    BreathInfo,
    FloorInfo,
    Phase,
)
from companion.core.script import Break, Breathe, Ready, Role, Say, Silence, Step, Turn, other
from companion.core.state import Frame, SessionState


class StepPhases(SessionState):
    """The phases of each step, read as the session reaches them (pace and names apply at once)."""

    def _say_phase(self, text: str, caption: str = "") -> Phase:
        spoken = self._fill(text)
        shown = self._fill(caption) if caption else spoken
        seconds = self.speech_seconds(spoken) + LINE_GAP_SECONDS
        return Phase("say", seconds, start=(Speak(spoken, shown),), caption=shown)

    def _phases(self, step: Step, frame: Frame) -> Iterator[Phase]:
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

    def _break(self, step: Break, frame: Frame) -> Iterator[Phase]:
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

    def _callback(self, step: Break, frame: Frame) -> Phase | None:
        """The call back; at a day's break, the one that does not offer more time."""
        last = step.last_callback and self._break_allowance(frame) < 60.0
        text = step.last_callback if last else step.callback
        return self._say_phase(text) if text else None

    def _break_allowance(self, frame: Frame) -> float:
        """Seconds of break still allowed before the whole break would reach a day."""
        return max(0.0, (BREAK_LIMIT_MINUTES - self._break_minutes(frame)) * 60.0)

    def _choice(self, step: Break, frame: Frame, caption: str) -> Phase:
        """Come back, or more time: no more than what keeps the whole break under a day."""
        more = min(step.more_minutes, self._break_allowance(frame) / 60.0)
        return Phase("choice", None, caption=caption, more_minutes=more)
