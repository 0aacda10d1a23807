"""Sound device -> recogniser -> commands: the listening side of the companion.

`Listener` owns one thread: it loads the model, opens the audio source (a microphone, or
a WAV file for `companion listen --wav`), feeds the recogniser and calls `on_heard` for
every accepted command. Whether an utterance is a command is decided in utterance.py;
what listening is told and reports is in heard.py."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Literal

import numpy as np

from companion.audio.capture import AudioSource, DeviceLost, DeviceSource, SourceError
from companion.callbacks import tell
from companion.core.effects import CommandName
from companion.core.errors import CompanionError
from companion.listening.child_process import RecogniserLost
from companion.listening.commands_vocab import (
    SIGNAL_LOADING_NOTE,
    SIGNAL_OFF_NOTE,
    Match,
    Vocabulary,
    load_vocabulary,
)
from companion.listening.heard import Heard, ListenSettings, ListenStatus, SpeakingNow
from companion.listening.over_voice import OverVoice, PlayedSource
from companion.listening.recognisers import (
    Recogniser,
    SpeechEngine,
    TimedWord,
    Word,
    load_engine,
    phrase_problem,
    recognisable,
)
from companion.listening.utterance import CommandGate, Endpointer, SelfVoice

log = logging.getLogger(__name__)


# --- the thread -------------------------------------------------------------------------


LISTENING_RESTARTS = "Listening hit a problem and starts again by itself in a moment."


SourceFactory = Callable[[], AudioSource]

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
        engine: SpeechEngine | None = None,
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
        tell(self._on_status, self.status)

    def _end(self) -> None:
        """No thread will apply a phrase any more: say so for the phrase wanted now."""
        with self._lock:
            self._running = False
            note = SIGNAL_OFF_NOTE if self._phrase else ""
            self._status = replace(self._status, signal=self._phrase, signal_note=note)
        self._notify()

    # Runs on the listener thread only.
    def _run(self) -> None:
        loaded_here = self._engine is None
        try:
            self._run_listening()
        finally:
            close = getattr(self._engine, "close", None) if loaded_here else None
            if close is not None:
                close()  # a recogniser process of its own

    def _run_listening(self) -> None:
        try:
            base = load_vocabulary(self.settings.language, self.settings.vocabulary_path)
            if self._engine is None:
                choice = self.settings.engine
                # The model is loaded before the stream opens, or its first seconds overflow.
                self._engine, engine_note = load_engine(
                    choice, self.settings.model_path, child_process=True
                )
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
            except (DeviceLost, RecogniserLost) as error:
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

    def _apply_phrase(self, base: Vocabulary, engine: SpeechEngine, phrase: str) -> Vocabulary:
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

    def _rest(self, seconds: float, base: Vocabulary, engine: SpeechEngine) -> None:
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

    def _listen(self, source: AudioSource, base: Vocabulary, engine: SpeechEngine) -> bool:
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
        others_quiet = 0.0  # over the voice: how long the canceller has heard nobody else
        # With an echo reference, the companion's voice is subtracted before anything listens.
        echo = None if self._played is None else OverVoice(source.rate, self._played, self._clock)
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
                    other = own.other_voice(echo is not None, self.settings.other_voice_blocks)
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
            if echo is not None:
                samples, moved = echo.clean(samples, now, captured)
                chunk = np.clip(samples, -32768, 32767).astype("<i2").tobytes()
                if moved:
                    own.own_echo_after_all()
            rms = float(np.sqrt(np.mean(samples * samples)))
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
            heard_other = echo is not None and echo.canceller.other_voice and endpointer.speaking
            over_voice = echo is not None and echo.canceller.echo_rms > 0.0
            # The room's ringing outlasts the predicted echo: speech there is over it too.
            ringing = echo is not None and echo.canceller.echoing
            own.count_other(heard_other, unsure=echo is not None and echo.unsure, echo=ringing)
            others_quiet = others_quiet + seconds if over_voice and not heard_other else 0.0
            final = None
            if not feeding:
                feeding = True
                for earlier in preroll:
                    final = recogniser.accept(earlier) or final
                preroll.clear()
            final = recogniser.accept(chunk) or final
            # Over the voice, a partner has stopped once the canceller hears nobody but the
            # companion: in a reverberant room what is left of its echo goes on sounding
            # like speech, and "pause" would wait for the line to end.
            quiet = max(endpointer.quiet_seconds, others_quiet)
            so_far: Match | None = None
            if final is None and (quiet > 0.0 or self._holding):
                other = own.other_voice(echo is not None, self.settings.other_voice_blocks)
                own_words = frozenset(own.words)
                partial = recogniser.partial()
                # Only once the speaker paused is what was said so far worth deciding on.
                so_far = gate.so_far(partial, own_words, other) if quiet > 0.0 else None
                # The voice is held while a short utterance may still be a command that
                # stops it, and plays on for good once the words rule that out.
                short = endpointer.utterance_seconds - quiet <= settings.hold_within_seconds
                decoded = any(w not in own_words for w in partial)
                blocks = settings.other_voice_blocks
                hold_other = own.other_voice_for_hold(echo is not None, blocks, decoded)
                possible = gate.stops_voice(so_far) or (
                    short and not ruled_out and gate.may_stop_voice(partial, own_words, hold_other)
                )
                # Held on the recogniser's quiet only: a moment's false "other voice" from
                # its own echo is followed at once by the canceller's quiet.
                if possible and endpointer.quiet_seconds >= settings.hold_seconds:
                    if not self._holding:  # the reason is written once, as the hold begins
                        why = f"heard {partial}, {own.others} blocks of another voice"
                        self._hold(True, f"{why}, {echo.canceller.describe()}" if echo else why)
                elif not possible and self._holding:
                    self._hold(False)
                    ruled_out = True
            if final is None and (
                quiet >= settings.end_seconds
                or endpointer.utterance_seconds >= settings.max_utterance_seconds
                or (quiet >= settings.quick_end(over_voice or self._holding) and so_far is not None)
            ):
                final = recogniser.finish()
            if final is not None:
                endpointer.reset()
                others_quiet = 0.0
                feeding = False
                ruled_out = False
                other = own.other_voice(echo is not None, self.settings.other_voice_blocks)
                opinion = recogniser.second_opinion()
                self._consider(final, opinion, gate, own.take(), at, other)
                self._hold(False)
        return False

    def _hold(self, on: bool, why: str = "") -> None:
        """Hold the companion's voice while an utterance is decided, or release it."""
        if self._on_hold is None or on == self._holding:
            return
        self._holding = on
        log.debug("voice %s%s", "held: " if on else "released", why)
        try:
            self._on_hold(on)
        except Exception:  # the listener must outlive a faulty consumer
            log.exception("on_hold failed")

    def _consider(
        self,
        words: Sequence[Word],
        opinion: Sequence[TimedWord] | None,
        gate: CommandGate,
        own: frozenset[str],
        at: float,
        other_voice: bool | None = None,
    ) -> None:
        match = gate.accept(words, opinion, own, other_voice)
        if match is None:
            return
        text = " ".join(w.text for w in words)
        confidence = min(w.confidence for w in words if w.text in match.phrase)
        try:
            self._on_heard(Heard(text, match.command, round(at, 3), confidence))
        except Exception:  # the listener must outlive a faulty consumer
            log.exception("on_heard failed for %r", text)
