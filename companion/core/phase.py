"""What a step unfolds into: phases, each with one length and one look on the page.

Also the timing every part shares: the gap after a line, the breathing words, how long
a line takes to say before it is rendered, the longest break.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from companion.core.effects import Effect
from companion.core.script import Partner

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
