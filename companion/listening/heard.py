"""What listening is told and what it tells: its settings, what the companion is playing
(its own voice must not command it), a command heard, and whether listening is on and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from companion.core.effects import CommandName

EngineChoice = Literal["auto", "vosk", "pocketsphinx", "off"]


@dataclass(frozen=True)
class ListenSettings:
    """How to listen; every field has a default that suits a living room."""

    engine: EngineChoice = "auto"
    """"auto" uses vosk when its model is installed, else the built-in pocketsphinx."""
    language: str = "en"
    """Which vocabulary file (companion/vocab/<language>.toml) to listen for."""
    vocabulary_path: Path | None = None
    """A vocabulary file to use instead of the built-in one."""
    model_path: Path | None = None
    """The vosk model folder (default: models/vosk-model-small-en-us-0.15)."""
    device: int | str | None = None
    """Input device index or name substring; None for the system default."""
    signal_phrase: str = ""
    """The couple's own word or phrase for a time-out ("" for none)."""
    min_confidence: float = 0.5
    """Command words the engine is less sure of than this are ignored."""
    block_seconds: float = 0.05
    """Audio block size: smaller acts sooner, costs more CPU."""
    quick_end_seconds: float = 0.25
    """Quiet after a complete command phrase that ends the utterance early. Sentences
    often begin with one ("we need a break ... from all this", "next ... time"): at 0.2 s
    six of 54 such sentences (voices in neither tests nor bench) fired, at 0.25 s one, at
    0.3 s none, for 79, 77 and 73 of 144 commands heard. The voice is held sooner anyway
    (`hold_seconds`), so only the decision waits."""
    quick_end_over_voice_seconds: float = 0.2
    """The same quiet while the companion speaks or its voice is held for the utterance:
    a partner talking over it wants it silent, and a command decided later is heard as
    the companion talking on (its voice is not always held before the decision: in a
    ringing room the canceller may hear the partner stop before the endpointer does)."""
    hold_seconds: float = 0.05
    """Quiet after words that are, or may still become, a command that stops the voice
    (`barge_in`) before the companion's voice is held while the utterance is decided."""
    hold_within_seconds: float = 1.0
    """Only this much speech may still become such a command before its words form one:
    commands are short, and longer speech over the voice lets it play on."""
    end_seconds: float = 0.6
    """Quiet that ends any utterance."""
    max_utterance_seconds: float = 12.0
    """Longer speech is cut here (a TV, a long sentence): nothing that long is a command."""
    self_tail_seconds: float = 0.6
    """How long after the companion's voice stops its words still count as its own."""
    barge_in: tuple[CommandName, ...] = (CommandName.PAUSE, CommandName.STOP, CommandName.TIMEOUT)
    """Commands that may interrupt the companion's own voice; others wait for quiet, since
    its voice heard back is sometimes misheard as a command phrase."""
    other_voice_blocks: int = 2
    """With an echo reference, a command over the companion's voice needs this many blocks
    in which the canceller heard a voice that is not the companion's."""
    retry_seconds: float = 1.0
    """First wait before reopening a lost device; doubles up to `retry_max_seconds`."""
    retry_max_seconds: float = 15.0

    def quick_end(self, over_voice: bool) -> float:
        """Quiet after a complete command phrase that decides it (`quick_end_seconds`)."""
        return self.quick_end_over_voice_seconds if over_voice else self.quick_end_seconds


@dataclass(frozen=True)
class SpeakingNow:
    """What the companion itself is playing: its own voice must not command it."""

    text: str = ""
    """The line being played now; "" when silent."""
    ended_at: float = float("-inf")
    """Monotonic time the last sound ended."""


@dataclass(frozen=True)
class Heard:
    """A command accepted from speech."""

    text: str
    """The words recognised, as heard (fillers included)."""
    command: CommandName | None
    at: float
    """Seconds since the audio stream started at which the command was acted on."""
    confidence: float


@dataclass(frozen=True)
class ListenStatus:
    """Whether the mic is on, which engine listens, and why, in one sentence."""

    on: bool
    engine: Literal["vosk", "pocketsphinx", "off"]
    reason: str
    overflows: int = 0
    finished: bool = False
    """A file source was heard to its end."""
    signal: str = ""
    """The couple's own word or phrase for a time-out ("" for none)."""
    signal_note: str = ""
    """One sentence: whether `signal` can be recognised, or why it is not checked yet."""
