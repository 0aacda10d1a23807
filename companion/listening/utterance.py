"""Whether an utterance is a command: pure classes that read no clock and touch no audio
device (time and audio levels come in as data).

- whole utterances only: "let's pause" fires, "don't tell me to stop" never does;
- an utterance ends early (about 0.25 s of quiet, 0.2 s over the companion's voice) when
  what was heard so far is already a complete command phrase, so a command acts before the
  speaker has finished breathing out;
- the companion's voice is held at the first quiet in a short utterance that may still be
  "pause", "stop" or "time out" (`on_hold`), and released once a word rules that out or
  the utterance is decided: the voice stops without waiting for the decision, and speech
  that only might have been a command costs a moment's hold, never a command;
- a command must also stand in the second, open transcript where the engine gives one
  (`CommandGate.confirmed`): a sentence the closed grammar squeezed into a command phrase
  ("i need a break then please") shows its other words there and is dropped;
- the companion never obeys itself: words of the line it is playing (and of lines played
  during the utterance, plus a short tail) are removed before matching, so its own voice
  leaves nothing, while a partner's "pause" over its voice remains and fires.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from companion.core.effects import CommandName
from companion.listening.commands_vocab import (
    Match,
    Vocabulary,
    words_of,
)
from companion.listening.heard import SpeakingNow
from companion.listening.recognisers import (
    TimedWord,
    Word,
)

log = logging.getLogger(__name__)


@dataclass
class Endpointer:
    """Energy-based speech/quiet tracking on blocks of audio; time is passed in as data.

    The noise floor follows the quietest recent blocks, so a fan raises the bar instead
    of counting as speech. A voice that never stops (a TV, people talking in the room) has
    no quiet blocks to follow: the room's level is then mostly well above its quietest
    moments, and speech must stand out from that level (`background`), as a partner's
    nearer voice does, so their utterance ends when they stop and the TV goes on.
    """

    ratio: float = 3.0
    """A block is speech when its RMS exceeds the noise floor by this factor..."""
    min_rms: float = 120.0
    """...and this absolute level (int16 units), so digital silence is not "speech"."""
    echo_leftover: float = 0.1
    """Cancelling the companion's voice is assumed to leave this fraction of it (-20 dB);
    what stands no higher above that than `ratio` is not speech."""
    keep_ratio: float = 1.6
    """...and stays speech until it falls below this factor: weak sounds ("f", "th")
    inside a word or sentence are not mistaken for the end of speech."""
    background_seconds: float = 8.0
    """How much of the room's recent sound the background level is taken over..."""
    background_quantile: float = 0.15
    """...as the level it stays above for 85% of that time..."""
    quiet_quantile: float = 0.01
    """...compared with its quietest moments over the same time: the background counts
    only when it stands `background_over_quiet` (6 dB) above them. A room with pauses
    between sentences has its 15% quietest blocks at the floor, and nothing changes."""
    background_over_quiet: float = 2.0
    background_still_over_quiet: float = 1.4
    """Once counted, the background goes on counting until it stands less than this
    factor (3 dB) above the quietest moments: between words, a few voices at once dip
    close to that 6 dB now and then."""
    background_ratio: float = 4.5
    """Speech over such a background stands this factor (13 dB) above it..."""
    background_keep_ratio: float = 3.2
    """...and stays speech down to this factor (10 dB). Measured on several voices
    reading at once, the level they stay above 85% of the time is about 5 dB below
    their median, and their loudest blocks reach about 6 dB above it."""
    floor: float = 0.0
    background: float = 0.0
    """The continuous background level (0 while the room has quiet moments)."""
    _levels: deque[float] = field(default_factory=deque, repr=False)
    _levels_seconds: float = 0.0
    speaking: bool = False
    in_utterance: bool = False
    speech_seconds: float = 0.0
    quiet_seconds: float = 0.0
    utterance_seconds: float = 0.0

    def update(
        self, rms: float, seconds: float, echo_rms: float = 0.0, over_echo: bool = True
    ) -> bool:
        """Account for one block; returns whether the block is speech.

        `echo_rms` is how loud the companion's own voice was predicted in the block before
        it was cancelled: what cancelling leaves of it is a floor too. `over_echo` says
        whether the canceller heard someone speaking over that echo; if not, what is left
        is the companion's own voice, not speech to listen to.
        """
        if self.floor == 0.0:
            self.floor = max(rms, 1.0)
        if echo_rms == 0.0:
            # Fall fast to quieter levels, rise slowly (about 3 s time constant) to louder
            # ones. Not while echo is being cancelled: that output is not the room's noise.
            rise = (rms - self.floor) * seconds / 3.0
            self.floor = rms if rms < self.floor else self.floor + rise
            self._follow_background(rms, seconds)
        floor = max(self.floor, self.echo_leftover * echo_rms)
        ratio = self.keep_ratio if self.speaking else self.ratio
        bar = max(floor * ratio, self.min_rms * ratio / self.ratio)
        if self.background:
            keep = self.background_keep_ratio if self.speaking else self.background_ratio
            bar = max(bar, self.background * keep)
        speech = rms > bar
        speech = speech and (echo_rms == 0.0 or over_echo)
        self.speaking = speech
        if speech:
            self.in_utterance = True
            self.speech_seconds += seconds
            self.quiet_seconds = 0.0
        elif self.in_utterance:
            self.quiet_seconds += seconds
        if self.in_utterance:
            self.utterance_seconds += seconds
        return speech

    def _follow_background(self, rms: float, seconds: float) -> None:
        self._levels.append(rms)
        self._levels_seconds += seconds
        while self._levels_seconds > self.background_seconds and len(self._levels) > 1:
            self._levels.popleft()
            self._levels_seconds -= seconds
        if self._levels_seconds < self.background_seconds / 2:
            return  # too little heard yet to tell a talking room from a quiet one
        levels = np.fromiter(self._levels, float)
        level, quiet = np.quantile(levels, (self.background_quantile, self.quiet_quantile))
        over = self.background_still_over_quiet if self.background else self.background_over_quiet
        self.background = float(level) if level > quiet * over else 0.0

    def reset(self) -> None:
        """Forget the current utterance (the noise floor is kept)."""
        self.in_utterance = self.speaking = False
        self.speech_seconds = self.quiet_seconds = self.utterance_seconds = 0.0


def _maybe_its_own_echo(own: frozenset[str], other_voice: bool | None) -> bool:
    """Whether speech may be the companion's own echo: the canceller heard no other voice
    over it, or there is no canceller to ask while the companion says its words."""
    return other_voice is False or (bool(own) and other_voice is None)


@dataclass
class CommandGate:
    """Decides whether a finished utterance is a command the couple gave."""

    vocab: Vocabulary
    min_confidence: float = 0.5
    barge_in: tuple[CommandName, ...] = (CommandName.PAUSE, CommandName.STOP, CommandName.TIMEOUT)
    unexplained_words: int = 1
    """In the open transcript, at most this many words besides the command and fillers..."""
    unexplained_seconds: float = 0.4
    """...lasting at most this long in all: a stray short word is the engine's noise, a
    longer stretch is the rest of a sentence."""
    unexplained_over_voice: tuple[int, float] = (3, 1.0)
    """The same two allowances over the companion's voice: what is left of its echo is
    decoded as short words around a partner's "pause" ("pause um think but okay"), and
    only a voice the canceller heard besides its own gets this far (`decide`)."""

    def __post_init__(self) -> None:
        self._known = self.vocab.words()
        self._fillers = {w for p in self.vocab.before + self.vocab.after for w in p}
        longest = max((len(p) for ps in self.vocab.commands.values() for p in ps), default=0)
        self._most_words = longest + self.vocab.max_filler_words

    def decide(
        self,
        words: Sequence[Word],
        own: frozenset[str] = frozenset(),
        other_voice: bool | None = None,
    ) -> Match | None:
        """The command in `words`, or None; `own` are words the companion was saying.

        The whole utterance must be `filler* command filler*`. While the companion speaks,
        the words of its line are dropped first, so what a partner said over it remains;
        a command word the companion is itself saying can never fire (a partner's
        identical word is then lost: the safe side). `other_voice` says whether the echo
        canceller heard a voice besides the companion's (None: there is no canceller, as
        when nothing plays through the companion's own output). Over the companion's voice
        only a voice the canceller heard may command: its echo, misheard, can sound like
        any command (with the companion's real voice, "now pause it" was heard in a line
        that has no "pause").
        """
        texts = [w.text for w in words]
        if _maybe_its_own_echo(own, other_voice):
            return None
        if own:
            kept = [i for i, t in enumerate(texts) if t not in own]
            match = self.vocab.match([texts[i] for i in kept])
            if match is not None:
                span = kept[match.start : match.start + len(match.phrase)]
            else:
                # A command that shares a word with the line ("hold on" while it says
                # "lean on") is still the partner's by a word that is not the companion's,
                # if that word is not a short one its echo easily turns into: with "hold"
                # in the line, its echo was heard as "hold on" and paused the session.
                match = self.vocab.match(texts)
                if match is None or all(w in own or len(w) < 4 for w in match.phrase):
                    return None
                span = list(range(match.start, match.start + len(match.phrase)))
            if match.command not in self.barge_in:
                return None
            return match if self._sure(words, span) else None
        match = self.vocab.match(texts)
        if match is None:
            return None
        span = list(range(match.start, match.start + len(match.phrase)))
        return match if self._sure(words, span) else None

    def accept(
        self,
        words: Sequence[Word],
        opinion: Sequence[TimedWord] | None,
        own: frozenset[str],
        other_voice: bool | None = None,
    ) -> Match | None:
        """The command a finished utterance gives, decided and confirmed; None for none."""
        if not words:
            return None
        match = self.decide(words, own, other_voice)
        confirmed = match is not None and self.confirmed(match, opinion, own)
        log.debug(
            "heard %r -> %s (open: %r, confirmed: %s, own words: %d, other voice: %s)",
            " ".join(w.text for w in words),
            match and match.command,
            opinion and " ".join(w.text for w in opinion),
            confirmed,
            len(own),
            other_voice,
        )
        return match if confirmed else None

    def confirmed(
        self,
        match: Match,
        opinion: Sequence[TimedWord] | None,
        own: frozenset[str] = frozenset(),
    ) -> bool:
        """Whether the open transcript of the same audio bears out `match`: the command
        phrase is in it, and little else but fillers (and the companion's own words).

        None (an engine that asks no second question) leaves the closed answer to stand.
        """
        if opinion is None:
            return True
        texts = [w.text for w in opinion]
        phrase = list(match.phrase)
        starts = [
            i for i in range(len(texts) - len(phrase) + 1) if texts[i : i + len(phrase)] == phrase
        ]
        if not starts:
            return False
        start = starts[0]
        rest = [
            w
            for i, w in enumerate(opinion)
            if not start <= i < start + len(phrase)
            and w.text not in self._fillers
            and w.text not in own
        ]
        words, seconds = (
            self.unexplained_over_voice
            if own
            else (self.unexplained_words, self.unexplained_seconds)
        )
        return len(rest) <= words and sum(w.seconds for w in rest) <= seconds

    def _sure(self, words: Sequence[Word], span: Sequence[int]) -> bool:
        return min(words[i].confidence for i in span) >= self.min_confidence

    def so_far(
        self,
        partial: Sequence[str],
        own: frozenset[str] = frozenset(),
        other_voice: bool | None = None,
    ) -> Match | None:
        """The command the words heard so far already form, if any (worth ending the
        utterance early); partial words carry no confidence."""
        return self.decide([Word(t, 1.0) for t in partial], own, other_voice)

    def stops_voice(self, match: Match | None) -> bool:
        """Whether `match` is a command that stops the companion's voice (worth holding it)."""
        return match is not None and match.command in self.barge_in

    def may_stop_voice(
        self,
        partial: Sequence[str],
        own: frozenset[str] = frozenset(),
        other_voice: bool | None = None,
    ) -> bool:
        """Whether the words heard so far may still turn out to be a command that stops
        the voice: one they already form, or a few command and filler words (or none yet).

        Partial results are provisional, and some models settle on the command only in
        the final result (vosk's small Korean model often showed nothing, or a filler, for
        a stop command that had already been said), so a partial that is not yet a
        command does not rule one out. A word in no command or filler phrase does, and so
        does a command the engine already settled on that does not stop the voice.
        """
        if _maybe_its_own_echo(own, other_voice):
            return False
        words = [t for t in partial if t not in own]
        match = self.vocab.match(words)
        if match is not None:
            return match.command in self.barge_in
        return len(words) <= self._most_words and all(w in self._known for w in words)


@dataclass
class SelfVoice:
    """Which words are the companion's own during the current utterance."""

    tail_seconds: float = 0.6
    last_text: str = ""
    previous_text: str = ""
    """The line before `last_text`: its echo goes on for a moment after the next begins."""
    switched_at: float = float("-inf")
    words: set[str] = field(default_factory=set)
    others: int = 0
    """Blocks of the utterance in which the echo canceller heard a voice not the companion's."""
    unsure_others: int = 0
    """The same, heard while the canceller was not yet sure that voice was not its own."""
    over_echo: bool = False
    """Whether the companion's echo may have reached the microphone in any block of the
    utterance (`EchoCanceller.echoing`: its voice or the room's ringing after it).
    Its echo outlasts its words: the room's delay and reverberation (0.4 s and 0.7 s in
    a living room) go on past the 0.6 s in which a line's words still count as its own,
    and speech heard there must be another voice too, not just free of its words."""

    def observe(self, speaking: SpeakingNow, now: float) -> None:
        """Note what is playing at `now`; its words count as own until the utterance ends."""
        if speaking.text:
            if speaking.text != self.last_text:
                self.previous_text, self.switched_at = self.last_text, now
                self.last_text = speaking.text
            self.words.update(words_of(speaking.text))
            if self.previous_text and now - self.switched_at < self.tail_seconds:
                self.words.update(words_of(self.previous_text))
        elif self.last_text and now - speaking.ended_at < self.tail_seconds:
            self.words.update(words_of(self.last_text))

    def count_other(self, heard: bool, unsure: bool, echo: bool = True) -> None:
        """Count a block in which the canceller did (`heard`) or did not hear another voice
        over the companion's `echo` (if any); while it is `unsure`, such blocks wait, and
        count once it is sure."""
        self.over_echo = self.over_echo or echo
        if unsure:
            self.unsure_others += heard
        else:
            self.others += self.unsure_others + heard
            self.unsure_others = 0

    def own_echo_after_all(self) -> None:
        """What the canceller took for another voice was the companion's echo, moved."""
        self.others = self.unsure_others = 0

    def other_voice(self, echo_on: bool, blocks_needed: int) -> bool | None:
        """Whether the canceller heard someone besides the companion in this utterance
        (None without a canceller to ask, or with nothing of the companion's to tell apart)."""
        if not echo_on or not (self.over_echo or self.words):
            return None
        return self.others >= blocks_needed

    def other_voice_for_hold(self, echo_on: bool, blocks_needed: int, decoded: bool) -> bool | None:
        """`other_voice` for holding the voice before the utterance is decided: with no
        word `decoded` yet, the weakest case, twice the blocks are needed (the onset of
        one of its own lines passed for another voice for a block or two)."""
        return self.other_voice(echo_on, blocks_needed if decoded else 2 * blocks_needed)

    def take(self) -> frozenset[str]:
        """The own words of the utterance that just ended; starts afresh."""
        own = frozenset(self.words)
        self.words = set()
        self.others = self.unsure_others = 0
        self.over_echo = False
        return own
