"""What flows into and out of the session engine: commands in, effects out.

Every input source (buttons, keys, voice) produces the same `Command`; the listener also
asks to hold the voice while it decides whether it heard one (`HoldVoice`, `ReleaseVoice`).
Every output adapter (speech, page, journal) consumes effects. Plain frozen data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class CommandName(StrEnum):
    """Everything a partner can ask of a running session."""

    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    NEXT = "next"
    BACK = "back"
    REPEAT = "repeat"
    STOP = "stop"
    TIMEOUT = "timeout"
    SLOWER = "slower"
    FASTER = "faster"
    READY = "ready"
    MORE_TIME = "more_time"
    RETURN = "return"


@dataclass(frozen=True)
class Command:
    """A request from a partner, whatever the source."""

    name: CommandName
    source: Literal["page", "key", "voice", "cli", "test"] = "page"
    script: str = ""
    """For START: the script id."""
    partner: Literal["a", "b", ""] = ""
    """For READY: who is ready ("" when it cannot be told, e.g. by voice)."""
    minutes: float = 0.0
    """For TIMEOUT: the agreed break length (0 = the break script's default)."""
    step: int = 0
    """For START: the step to begin at (0: the beginning), to go on after a stop."""
    early: bool = False
    """For RETURN before a break is over: the partner confirmed coming back early."""


@dataclass(frozen=True)
class HoldVoice:
    """From the listener: what a partner is saying may be a command that stops the voice
    ("pause", "stop", "time out"), so hold the voice in place while it is decided."""


@dataclass(frozen=True)
class ReleaseVoice:
    """From the listener, after the command it decided (if any): the hold is over."""


CueName = Literal["countdown", "inhale", "inhale2", "hold", "exhale", "warning", "end"]


@dataclass(frozen=True)
class Speak:
    """Say this line now (stopping anything still playing)."""

    text: str
    caption: str


@dataclass(frozen=True)
class Cue:
    """A short non-verbal sound: breathing phases sound different from each other."""

    name: CueName
    word: str = ""
    """Spoken after the tone when cues are spoken ("in", "out", "hold"); "" for chime only."""


@dataclass(frozen=True)
class StopSound:
    """Silence the voice and any cue at once (pause, stop, skip)."""


@dataclass(frozen=True)
class HoldSound:
    """Silence the voice at once but keep its place: a listener is deciding on a command."""


@dataclass(frozen=True)
class ReleaseSound:
    """End a `HoldSound`: play on from where it stopped, or whatever was asked since (a
    `StopSound` meanwhile leaves nothing to play on)."""


@dataclass(frozen=True)
class Notice:
    """Tell every page one sentence: why a command did nothing (a break cannot be skipped)."""

    text: str


MilestoneKind = Literal[
    "started", "reached", "step", "paused", "resumed", "timeout", "returned", "ended"
]
""""reached": a step was entered, however (in its turn, by Next or Back, on coming back);
"step": a step ran to its end."""


@dataclass(frozen=True)
class Milestone:
    """Something the journal records: never what anybody said."""

    kind: MilestoneKind
    script: str
    step: int = -1
    detail: str = ""
    """For "ended": "completed" or "stopped"."""


SoundEffect = Speak | Cue | StopSound | HoldSound | ReleaseSound
"""What the voice (and every page that plays the guidance) acts on."""
Effect = SoundEffect | Milestone | Notice
