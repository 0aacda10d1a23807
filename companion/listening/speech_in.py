"""Sound device -> recogniser -> commands: the listening side of the companion.

`Listener` owns one thread: it loads the model, opens the audio source (a microphone, or
a WAV file for `companion listen --wav`), feeds the recogniser and calls `on_heard` for
every accepted command. What counts as a command is decided by `CommandGate` and
`Endpointer`, pure classes that read no clock and touch no audio device:

- whole utterances only: "let's pause" fires, "don't tell me to stop" never does;
- an utterance ends early (about 0.2 s of quiet) when what was heard so far is already a
  complete command phrase, so a command acts before the speaker has finished breathing out;
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
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from companion.audio.capture import AudioSource, DeviceLost, DeviceSource, SourceError
from companion.audio.echo import EchoPath, PlayedAudio
from companion.core.effects import CommandName
from companion.core.errors import CompanionError
from companion.listening.commands_vocab import (
    SIGNAL_LOADING_NOTE,
    SIGNAL_OFF_NOTE,
    Match,
    Vocabulary,
    load_vocabulary,
    words_of,
)
from companion.listening.recognisers import (
    Engine,
    Recogniser,
    TimedWord,
    Word,
    load_engine,
    phrase_problem,
    recognisable,
)

log = logging.getLogger(__name__)

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
    quick_end_seconds: float = 0.2
    """Quiet after a complete command phrase that ends the utterance early."""
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


# --- pure decision logic ----------------------------------------------------------------


@dataclass
class Endpointer:
    """Energy-based speech/quiet tracking on blocks of audio; time is passed in as data.

    The noise floor follows the quietest recent blocks, so a fan or a TV far away raises
    the bar instead of counting as speech.
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
    floor: float = 0.0
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
        floor = max(self.floor, self.echo_leftover * echo_rms)
        ratio = self.keep_ratio if self.speaking else self.ratio
        speech = rms > max(floor * ratio, self.min_rms * ratio / self.ratio)
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

    def reset(self) -> None:
        """Forget the current utterance (the noise floor is kept)."""
        self.in_utterance = self.speaking = False
        self.speech_seconds = self.quiet_seconds = self.utterance_seconds = 0.0


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
        if own and other_voice is not True:
            return None
        if own:
            kept = [i for i, t in enumerate(texts) if t not in own]
            match = self.vocab.match([texts[i] for i in kept])
            if match is None or match.command not in self.barge_in:
                return None
            span = kept[match.start : match.start + len(match.phrase)]
            return match if self._sure(words, span) else None
        match = self.vocab.match(texts)
        if match is None:
            return None
        span = list(range(match.start, match.start + len(match.phrase)))
        return match if self._sure(words, span) else None

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
        return (
            len(rest) <= self.unexplained_words
            and sum(w.seconds for w in rest) <= self.unexplained_seconds
        )

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
        if own and other_voice is not True:
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
    words: set[str] = field(default_factory=set)
    others: int = 0
    """Blocks of the utterance in which the echo canceller heard a voice not the companion's."""

    def observe(self, speaking: SpeakingNow, now: float) -> None:
        """Note what is playing at `now`; its words count as own until the utterance ends."""
        if speaking.text:
            self.last_text = speaking.text
            self.words.update(words_of(speaking.text))
        elif self.last_text and now - speaking.ended_at < self.tail_seconds:
            self.words.update(words_of(self.last_text))

    def take(self) -> frozenset[str]:
        """The own words of the utterance that just ended; starts afresh."""
        own = frozenset(self.words)
        self.words = set()
        self.others = 0
        return own


# --- the thread -------------------------------------------------------------------------


LISTENING_RESTARTS = "Listening hit a problem and starts again by itself in a moment."


SourceFactory = Callable[[], AudioSource]
PlayedSource = Callable[[float], tuple[np.ndarray, int, float] | tuple[np.ndarray, int, float, int]]
"""`SpeechOut.recent_output`: the last seconds played, their rate and when the last is heard."""

REFERENCE_SECONDS = 1.5
"""How much played audio is asked for per block: the longest echo delay plus a block."""


EngineName = Literal["vosk", "pocketsphinx", "off"]


class Listener:
    """Listens in its own thread and calls `on_heard` for each accepted command.

    `on_status` (if given) is called with the new status whenever it changes, from
    whichever thread changed it; it must not block. `on_hold` (if given) is called from the
    listener's thread with True when the utterance so far may be a command that stops the
    voice, and with False once its words rule that out or it is decided (then after any
    `on_heard` for it); it must not block.
    """

    def __init__(
        self,
        settings: ListenSettings,
        on_heard: Callable[[Heard], None],
        speaking: Callable[[], SpeakingNow],
        *,
        source: SourceFactory | None = None,
        engine: Engine | None = None,
        clock: Callable[[], float] = time.monotonic,
        played: PlayedSource | None = None,
        on_status: Callable[[ListenStatus], None] | None = None,
        on_hold: Callable[[bool], None] | None = None,
    ) -> None:
        self.settings = settings
        self._played = played
        self._on_hold = on_hold
        self._holding = False
        self._on_heard = on_heard
        self._speaking = speaking
        self._on_status = on_status
        self._source_factory = source or (
            lambda: DeviceSource(settings.device, settings.block_seconds)
        )
        self._engine = engine
        self._clock = clock
        self._lock = threading.Lock()
        # Under the lock: the status, the phrase wanted now, and whether the thread is up
        # (it applies a new phrase) and has its model (it can check one).
        self._status = ListenStatus(
            False, "off", "Listening has not started.", signal=settings.signal_phrase
        )
        self._phrase = settings.signal_phrase
        self._phrase_changed = False
        self._running = False
        self._loaded = False
        self._engine_note = ""
        self._listening_reason = ""
        """What the status says while the mic is on: the engine, then the phrase check."""
        self._stopping = threading.Event()
        self._wake = threading.Event()
        """Set by `set_signal` and `close`: ends a wait before reopening the device."""
        self._thread: threading.Thread | None = None
        self._source: AudioSource | None = None

    def start(self) -> None:
        """Load the model and open the stream in the background; never raises."""
        if self.settings.engine == "off":
            self._set(False, "off", "Voice commands are off; buttons and keys still work.")
            self._end()
            return
        with self._lock:
            self._running = True
            if self._phrase:
                self._status = replace(self._status, signal_note=SIGNAL_LOADING_NOTE)
        self._set(False, "off", "Loading the speech model…")
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)
        self._thread.start()

    def set_signal(self, phrase: str) -> None:
        """Listen for `phrase` as a time-out from now on ("" for none); returns at once.

        The listener's own thread builds a new recogniser between utterances and then says
        in the status whether the model can recognise the phrase.
        """
        with self._lock:
            self._phrase = phrase
            if not phrase:
                note = ""
            elif not self._running:
                note = SIGNAL_OFF_NOTE
            else:
                note = f"Checking “{phrase}”…" if self._loaded else SIGNAL_LOADING_NOTE
            self._phrase_changed = self._running
            self._status = replace(self._status, signal=phrase, signal_note=note)
        self._wake.set()
        self._notify()

    def status(self) -> ListenStatus:
        """Mic on/off, the engine and one sentence saying why."""
        with self._lock:
            overflows = self._source.overflows if self._source is not None else 0
            return replace(self._status, overflows=overflows)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end (a file source ends by itself); True if it ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def close(self) -> None:
        """Stop listening and release the device."""
        self._stopping.set()
        self._wake.set()
        self.join(timeout=5.0)

    def _set(self, on: bool, engine: EngineName, reason: str, finished: bool = False) -> None:
        with self._lock:
            self._status = replace(
                self._status, on=on, engine=engine, reason=reason, finished=finished
            )
        log.info("listening: %s", reason)
        self._notify()

    def _notify(self) -> None:
        if self._on_status is None:
            return
        try:
            self._on_status(self.status())
        except Exception:  # listening must outlive a faulty consumer
            log.exception("on_status failed")

    def _end(self) -> None:
        """No thread will apply a phrase any more: say so for the phrase wanted now."""
        with self._lock:
            self._running = False
            note = SIGNAL_OFF_NOTE if self._phrase else ""
            self._status = replace(self._status, signal=self._phrase, signal_note=note)
        self._notify()

    # Runs on the listener thread only.
    def _run(self) -> None:
        try:
            base = load_vocabulary(self.settings.language, self.settings.vocabulary_path)
            if self._engine is None:
                choice = self.settings.engine
                # The model is loaded before the stream opens, or its first seconds overflow.
                self._engine, engine_note = load_engine(choice, self.settings.model_path)
            else:
                engine_note = f"Listening with {self._engine.name}."
        except CompanionError as error:
            self._set(False, "off", str(error))
            self._end()
            return
        engine = self._engine
        with self._lock:
            self._loaded = True
            self._engine_note = self._listening_reason = engine_note
        # The couple's own break word: say plainly (before any microphone is found)
        # whether this model can hear it.
        self._apply_phrase(base, engine, self._take_phrase(force=True) or "")
        engine_name: EngineName = "vosk" if engine.name == "vosk" else "pocketsphinx"
        delay = self.settings.retry_seconds
        while not self._stopping.is_set():
            try:
                source = self._source_factory()
                source.open()
            except SourceError as error:
                self._set(False, engine_name, str(error))
                self._rest(delay, base, engine)
                delay = min(delay * 2, self.settings.retry_max_seconds)
                continue
            with self._lock:
                self._source = source
                reason = self._listening_reason
            self._set(True, engine_name, reason)
            delay = self.settings.retry_seconds
            try:
                finished = self._listen(source, base, engine)
            except DeviceLost as error:
                self._set(False, engine_name, str(error))
                finished = False
            except Exception:  # a bug must not end listening for the rest of the session
                log.exception("listening failed; starting again")
                self._set(False, engine_name, LISTENING_RESTARTS)
                finished = False
            finally:
                source.close()
                self._hold(False)  # an utterance cut off is not a command
            if finished:
                self._set(False, engine_name, "The recording was heard to the end.", True)
                self._end()
                return
            self._rest(delay, base, engine)
        self._set(False, "off", "Listening stopped.")
        self._end()

    def _take_phrase(self, force: bool = False) -> str | None:
        """The phrase to listen for, if it changed since last taken (or `force`), else None."""
        with self._lock:
            if not (self._phrase_changed or force):
                return None
            self._phrase_changed = False
            return self._phrase

    def _apply_phrase(self, base: Vocabulary, engine: Engine, phrase: str) -> Vocabulary:
        """The vocabulary with `phrase` added; the status says whether the model knows it."""
        # Only a phrase that can call a break is added: "stop" keeps its own meaning, and
        # one the model cannot hear is left out. The status says which, and why.
        problem = phrase_problem(engine, phrase, base) if phrase else None
        usable = phrase and problem is None
        vocab = base.with_phrase(CommandName.TIMEOUT, phrase) if usable else base
        check = (problem or recognisable(phrase)) if phrase else ""
        with self._lock:
            if phrase != self._phrase:
                return vocab  # already replaced: the newer one is applied next
            self._listening_reason = f"{self._engine_note} {check}".strip()
            status = replace(
                self._status,
                signal=phrase,
                signal_note=check,
                reason=self._listening_reason if self._status.on else self._status.reason,
            )
            changed = status != self._status
            self._status = status
        if changed:
            log.info("signal phrase %r: %s", phrase, check or "none")
            self._notify()
        return vocab

    def _rest(self, seconds: float, base: Vocabulary, engine: Engine) -> None:
        """Wait before reopening the source; a new signal phrase is still checked meanwhile."""
        end = time.monotonic() + seconds
        while not self._stopping.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return
            if self._wake.wait(left):
                self._wake.clear()
                phrase = self._take_phrase()
                if phrase is not None:
                    self._apply_phrase(base, engine, phrase)

    def _listen(self, source: AudioSource, base: Vocabulary, engine: Engine) -> bool:
        """Recognise until the source ends (True) or we are closed (False)."""
        settings = self.settings
        vocab = self._apply_phrase(base, engine, self._take_phrase(force=True) or "")
        recogniser: Recogniser = engine.recogniser(vocab, source.rate)
        gate = CommandGate(vocab, settings.min_confidence, settings.barge_in)
        endpointer = Endpointer()
        own = SelfVoice(settings.self_tail_seconds)
        at = 0.0
        # Audio just before speech starts, so the recogniser hears the first consonant.
        preroll: deque[bytes] = deque(maxlen=max(1, round(0.3 / settings.block_seconds)))
        feeding = False
        ruled_out = False  # the words so far can no longer be a command: hold no more
        # With an echo reference, the companion's voice is subtracted before anything listens.
        echo = EchoPath(source.rate) if self._played is not None else None
        while not self._stopping.is_set():
            phrase = None if feeding else self._take_phrase()
            if phrase is not None:
                # A new signal phrase, between utterances: a new recogniser, as at the start.
                vocab = self._apply_phrase(base, engine, phrase)
                recogniser = engine.recogniser(vocab, source.rate)
                gate = CommandGate(vocab, settings.min_confidence, settings.barge_in)
            chunk = source.read(timeout=1.0)
            if chunk is None:
                if feeding:
                    other = self._other_voice(own, echo)
                    words = recogniser.finish()
                    opinion = recogniser.second_opinion()
                    self._consider(words, opinion, gate, own.take(), at, other)
                    self._hold(False)
                return True
            if not chunk:
                continue
            seconds = len(chunk) / 2 / source.rate
            at += seconds
            # The device's own capture time where it gives one: it lines up with the
            # time the echo reference says each played sample was heard.
            captured = getattr(source, "captured_at", None)
            now = captured if captured is not None else self._clock()
            own.observe(self._speaking(), now)
            samples = np.frombuffer(chunk, dtype="<i2").astype(np.float32)
            if echo is not None and self._played is not None:
                samples = echo.clean(samples, now, PlayedAudio(*self._played(REFERENCE_SECONDS)))
                chunk = np.clip(samples, -32768, 32767).astype("<i2").tobytes()
            rms = float(np.sqrt(np.mean(samples * samples)))
            if (
                echo is not None
                and log.isEnabledFor(logging.DEBUG)
                and int(at / 2) != int((at - seconds) / 2)
            ):
                log.debug(
                    "echo: delay %s samples, leak %.3f, echo rms %.0f, left rms %.0f",
                    echo.canceller.delay,
                    echo.canceller.leak,
                    echo.canceller.echo_rms,
                    rms,
                )
            if echo is None:
                endpointer.update(rms, seconds)
            else:
                canceller = echo.canceller
                # Speech over the echo starts on clear evidence of another voice and goes
                # on while someone may still be talking over it.
                over_echo = canceller.double_talk if endpointer.speaking else canceller.other_voice
                endpointer.update(rms, seconds, canceller.echo_rms, over_echo)
            if not endpointer.in_utterance:
                # Quiet: nothing to decode (saves CPU while idle), only remember it.
                if echo is not None and echo.canceller.echo_rms > 0.0:
                    # Over the companion's voice, what came before speech is what is left
                    # of its echo: decoded, it turns into words around the command.
                    preroll.clear()
                preroll.append(chunk)
                own.take()
                continue
            if echo is not None and echo.canceller.other_voice and endpointer.speaking:
                own.others += 1
            final = None
            if not feeding:
                feeding = True
                for earlier in preroll:
                    final = recogniser.accept(earlier) or final
                preroll.clear()
            final = recogniser.accept(chunk) or final
            quiet = endpointer.quiet_seconds
            so_far: Match | None = None
            if final is None and (quiet > 0.0 or self._holding):
                other = self._other_voice(own, echo)
                own_words = frozenset(own.words)
                partial = recogniser.partial()
                # Only once the speaker paused is what was said so far worth deciding on.
                so_far = gate.so_far(partial, own_words, other) if quiet > 0.0 else None
                # The voice is held while a short utterance may still be a command that
                # stops it, and plays on for good once the words rule that out.
                short = endpointer.utterance_seconds - quiet <= settings.hold_within_seconds
                possible = gate.stops_voice(so_far) or (
                    short and not ruled_out and gate.may_stop_voice(partial, own_words, other)
                )
                if possible and quiet >= settings.hold_seconds:
                    self._hold(True)
                elif not possible and self._holding:
                    self._hold(False)
                    ruled_out = True
            if final is None and (
                quiet >= settings.end_seconds
                or endpointer.utterance_seconds >= settings.max_utterance_seconds
                or (quiet >= settings.quick_end_seconds and so_far is not None)
            ):
                final = recogniser.finish()
            if final is not None:
                endpointer.reset()
                feeding = False
                ruled_out = False
                other = self._other_voice(own, echo)
                opinion = recogniser.second_opinion()
                self._consider(final, opinion, gate, own.take(), at, other)
                self._hold(False)
        return False

    def _hold(self, on: bool) -> None:
        """Hold the companion's voice while an utterance is decided, or release it."""
        if self._on_hold is None or on == self._holding:
            return
        self._holding = on
        log.debug("voice %s", "held" if on else "released")
        try:
            self._on_hold(on)
        except Exception:  # the listener must outlive a faulty consumer
            log.exception("on_hold failed")

    def _other_voice(self, own: SelfVoice, echo: EchoPath | None) -> bool | None:
        """Whether the canceller heard someone besides the companion in this utterance."""
        if echo is None:
            return None
        return own.others >= self.settings.other_voice_blocks

    def _consider(
        self,
        words: Sequence[Word],
        opinion: Sequence[TimedWord] | None,
        gate: CommandGate,
        own: frozenset[str],
        at: float,
        other_voice: bool | None = None,
    ) -> None:
        if not words:
            return
        match = gate.decide(words, own, other_voice)
        text = " ".join(w.text for w in words)
        confirmed = match is not None and gate.confirmed(match, opinion, own)
        log.debug(
            "heard %r -> %s (open: %r, confirmed: %s, own words: %d, other voice: %s)",
            text,
            match and match.command,
            opinion and " ".join(w.text for w in opinion),
            confirmed,
            len(own),
            other_voice,
        )
        if match is None or not confirmed:
            return
        confidence = min(w.confidence for w in words if w.text in match.phrase)
        try:
            self._on_heard(Heard(text, match.command, round(at, 3), confidence))
        except Exception:  # the listener must outlive a faulty consumer
            log.exception("on_heard failed for %r", text)
