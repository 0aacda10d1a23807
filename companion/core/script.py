"""The guided-script model: what a script file says, as frozen data.

Loading and validation live in `companion.library.loader`; timing lives in `companion.core.engine`.
Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from companion.core.errors import CompanionError

FORMAT_VERSION = 1
"""The script format this code writes and reads. Older versions keep loading."""

Partner = Literal["a", "b"]
CueStyle = Literal["spoken", "chime"]
ReadyWho = Literal["a", "b", "either", "both"]
RESERVED_NAMES = ("a", "b", "either", "both", "speaker", "listener", "minutes")
"""Words a role step cannot take as a role's name: they already mean something."""


@dataclass(frozen=True)
class Say:
    """Speak one line aloud and show its caption."""

    text: str
    caption: str = ""
    """Shown on the page while the line is spoken; defaults to `text`."""
    line: int = 0
    """Line of the `[[step]]` header in the source file (0 when built in code)."""

    @property
    def shown(self) -> str:
        return self.caption or self.text


@dataclass(frozen=True)
class Silence:
    """Quiet time, optionally with a caption on the page."""

    seconds: float
    caption: str = ""
    line: int = 0


@dataclass(frozen=True)
class Breathe:
    """Paced breathing: cycles of in, (second sip), hold, out, hold."""

    inhale: float
    exhale: float
    hold_in: float = 0.0
    hold_out: float = 0.0
    inhale2: float = 0.0
    """A short second inhale on top of the first (cyclic sighing); 0 means none."""
    cycles: int | None = None
    """Number of cycles; exactly one of `cycles` and `minutes` is set."""
    minutes: float | None = None
    """Breathe for about this long; the last cycle is always finished."""
    cues: CueStyle = "spoken"
    countdown: int = 3
    """Seconds of "three, two, one" before the first breath (0 for none)."""
    preset: str = ""
    line: int = 0

    @property
    def cycle_seconds(self) -> float:
        return self.inhale + self.inhale2 + self.hold_in + self.exhale + self.hold_out

    @property
    def breaths_per_minute(self) -> float:
        return 60.0 / self.cycle_seconds


@dataclass(frozen=True)
class Turn:
    """Timed speaker-listener turns: the floor, the listener's paraphrase, the speaker's answer."""

    first: str
    """Who has the floor first ("a", "b" or a role chosen earlier); roles switch every turn."""
    floor_seconds: float
    paraphrase_seconds: float
    warning_seconds: float = 15.0
    """A gentle chime this long before the floor time ends (0 for none)."""
    rounds: int = 1
    """Each round is one turn for each partner."""
    speaker_prompt: str = ""
    """Spoken as the floor passes; may use {speaker} and {listener}."""
    paraphrase_prompt: str = ""
    """Spoken when the listener starts to paraphrase."""
    check_seconds: float = 0.0
    """Time after the paraphrase for the speaker to answer "Did I get it? Is there more?"."""
    check_prompt: str = ""
    """Spoken as that answer time begins."""
    line: int = 0


@dataclass(frozen=True)
class Break:
    """A timed break (time-out): soothing prompts, quiet, then a gentle call back."""

    minutes: float
    soothing: tuple[str, ...] = ()
    """Spoken one after another at the start, each followed by `soothe_gap` quiet seconds."""
    soothe_gap: float = 30.0
    callback: str = ""
    """Spoken when the time is up, before asking: come back, or more time?"""
    more_minutes: float = 20.0
    """How long "we need more time" adds."""
    announce: str = ""
    """Spoken as the break (and each "more time") begins; {minutes} is its length."""
    last_callback: str = ""
    """Said instead of `callback` when no more time can be given (a day in all)."""
    line: int = 0


@dataclass(frozen=True)
class Ready:
    """Wait until a partner says or clicks they are ready: nobody is cut off by a timer."""

    text: str
    who: str = "either"
    """"a", "b", "either", "both", or a role chosen earlier (e.g. "hurt")."""
    caption: str = ""
    """Shown on the page while waiting; defaults to `text`."""
    reminder: str = ""
    """Said once, softly, after `reminder_seconds` of waiting ("Take your time.")."""
    reminder_seconds: float = 0.0
    line: int = 0


@dataclass(frozen=True)
class Role:
    """Ask who takes a role; from then on lines name them by it ({hurt}, {other}...)."""

    text: str
    """The question, said aloud; the page offers one button per partner."""
    role: str
    """The name for the partner chosen, used in braces from here on."""
    other: str = ""
    """The name for the other partner, if the script needs one."""
    caption: str = ""
    line: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        return (self.role, self.other) if self.other else (self.role,)


Step = Say | Silence | Breathe | Turn | Break | Ready | Role
STEP_KINDS: dict[str, type[Step]] = {
    "say": Say,
    "silence": Silence,
    "breathe": Breathe,
    "turn": Turn,
    "break": Break,
    "ready": Ready,
    "role": Role,
}


@dataclass(frozen=True)
class Script:
    """One guided script, validated."""

    id: str
    """The file stem, e.g. ``slow-breathing``."""
    title: str
    summary: str
    steps: tuple[Step, ...]
    format: int = FORMAT_VERSION
    path: Path | None = None
    tags: tuple[str, ...] = field(default=())
    safety: str = ""
    """A safety caption shown on the page (never spoken), e.g. when not to use the script."""
    help: str = ""
    """A pointer to professional help, shown on the page."""

    def card(self) -> dict[str, object]:
        """What a picker shows of the script (its length is the engine's to tell)."""
        return {
            "id": self.id,
            "title": self.title,
            "summary": self.summary,
            "tags": list(self.tags),
            "safety": self.safety,
            "help": self.help,
        }

    def default_roles(self) -> dict[str, Partner]:
        """Each role as it stands before anybody chooses: a role is "a", its other "b"."""
        roles: dict[str, Partner] = {}
        for step in self.steps:
            if isinstance(step, Role):
                roles.setdefault(step.role, "a")
                if step.other:
                    roles.setdefault(step.other, "b")
        return roles


@dataclass(frozen=True)
class Names:
    """The partners' names as spoken and shown; {a} and {b} in scripts."""

    a: str = "Partner A"
    b: str = "Partner B"

    @classmethod
    def parse(cls, text: str) -> Names:
        """Names from ``--names "Sam,Alex"``; empty text gives the defaults."""
        if not text:
            return cls()
        parts = [part.strip() for part in text.split(",")]
        if len(parts) != 2 or not all(parts):
            raise CompanionError(
                '--names needs two names separated by a comma, e.g. --names "Sam,Alex".'
            )
        return cls(parts[0], parts[1])

    def of(self, partner: Partner) -> str:
        return self.a if partner == "a" else self.b

    def fill(self, text: str, **extra: str) -> str:
        """Replace {a}, {b} (and any extra names) in a line; unknown braces stay as written."""
        values = {"a": self.a, "b": self.b, **extra}
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        return text


def other(partner: Partner) -> Partner:
    return "b" if partner == "a" else "a"
