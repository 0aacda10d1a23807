"""Spoken guidance: text -> audio (`tts`: pyttsx3, cached on disk) -> the device (`player`).

Two owners, each on its own thread: one thread creates and alone uses the pyttsx3
engine, fed by a queue; PortAudio's callback thread plays through one sounddevice
`OutputStream` and only copies samples from the current clip. Everything else here
just swaps which clip is current, so `handle()` never blocks on audio or synthesis.

When there is no voice engine or no output device the companion still runs with
captions only, and `SpeechOut.status()` says why in one sentence.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from companion.audio.echo import PlayedAudio
from companion.audio.sound import SoundSystem
from companion.callbacks import tell
from companion.core.effects import Cue, HoldSound, ReleaseSound, SoundEffect, Speak, StopSound
from companion.voice.cue_tones import SAMPLE_RATE, Samples, cue_tone
from companion.voice.player import (
    Clip,
    Player,
)
from companion.voice.tts import (
    NO_ENGINE,
    TtsEngine,
    VoiceCache,
    VoiceSettings,
    VoiceUnavailable,
)

log = logging.getLogger(__name__)

CUE_WORD_GAP = 0.12
"""Seconds between a cue's tone and its spoken word."""

START_TIMEOUT = 15.0
"""Longest `start()` waits for the voice engine to come up before going captions-only."""

NO_DEVICE = (
    "No sound output device was found, so the companion shows captions only; "
    "the voice comes on by itself when speakers are connected."
)
DEVICE_FAILED = (
    "The sound output stopped working, so the companion shows captions only; "
    "the voice comes back by itself when the speakers do."
)

DEVICE_CHECK_SECONDS = 0.5
"""How often the output device's health is checked while the companion runs."""
DEVICE_RETRY_SECONDS = 1.0
"""First wait before reopening a lost output; doubles up to `DEVICE_RETRY_MAX_SECONDS`."""
DEVICE_RETRY_MAX_SECONDS = 15.0
TURNED_OFF = (
    "Spoken guidance is turned off in the settings, so the companion shows captions only; "
    "turn the voice on to hear it."
)
NOT_STARTED = "Spoken guidance has not started yet; it starts with the session runner."


@dataclass(frozen=True)
class VoiceStatus:
    """Whether the voice is heard, and if not (or not quite as asked) why, in one sentence."""

    on: bool
    reason: str = ""


@dataclass
class _Render:
    """A job for the voice thread: make sure `text` is rendered; maybe play it afterwards."""

    text: str
    done: threading.Event = field(default_factory=threading.Event)
    play_generation: int | None = None
    """Play once rendered, unless anything else was asked of the speaker since."""
    append_to: Clip | None = None
    """Append to this clip (a cue's tone) instead of starting a new one."""


class SpeechOut:
    """Speaks engine effects: one thread owns pyttsx3 (rendering), one OutputStream plays."""

    def __init__(
        self,
        settings: VoiceSettings,
        cache_dir: Path,
        *,
        sound: SoundSystem | None = None,
        on_status: Callable[[VoiceStatus], None] | None = None,
    ) -> None:
        self.settings = settings
        self.cache_dir = cache_dir
        self.sound = sound or SoundSystem()
        """The process's one owner of PortAudio (shared with the listener)."""
        self._on_status = on_status
        self._closing = threading.Event()
        self._keeper: threading.Thread | None = None
        self._underruns_before = 0
        """Underruns of output streams already closed (a device that came back)."""
        self._cache = VoiceCache(settings, cache_dir)
        self._lock = threading.Lock()
        self._jobs: queue.Queue[_Render | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._player: Player | None = None
        self._tts_ok = False
        self._tts_note = ""
        self._device_reason = ""
        self._started = False
        self._generation = 0

    @property
    def renders(self) -> int:
        """How many lines this instance actually synthesised (cache misses)."""
        return self._cache.renders

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start the voice thread and open the output; records (never raises) what is missing."""
        if self._started:
            return
        self._started = True
        if not self.settings.enabled:
            return
        self._thread = threading.Thread(target=self._voice_loop, name="speech-out", daemon=True)
        self._thread.start()
        self._player = self._open_player()
        if self._player is None:
            self._device_reason = NO_DEVICE
        self._keeper = threading.Thread(
            target=self._keep_device, name="speech-out-device", daemon=True
        )
        self._keeper.start()
        if not self._ready.wait(START_TIMEOUT):
            log.warning("the voice engine did not start within %.0f s", START_TIMEOUT)

    def close(self) -> None:
        """Stop playing, end the voice thread and release the device."""
        self._closing.set()
        if self._keeper is not None:
            self._keeper.join(timeout=5)
        with self._lock:
            self._generation += 1
            player, self._player = self._player, None
        if player is not None:
            player.close()
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _open_player(self) -> Player | None:
        """A started output stream, or None (the reason is logged) if the device refuses."""
        player = Player(self.sound, on_failure=self._device_failed)
        try:
            player.open()
        except Exception as error:  # PortAudioError, or OSError when PortAudio is missing
            log.info("no sound output: %s", error)
            return None
        return player

    def _keep_device(self) -> None:
        """The device keeper's thread: notice a lost output and reopen it when it is back.

        The other direction (the microphone) is never touched. Reopening backs off while
        the device refuses; where a sound server says the device is missing, nothing is
        tried until it says the device is back.
        """
        delay = DEVICE_RETRY_SECONDS
        next_try = 0.0
        while not self._closing.wait(DEVICE_CHECK_SECONDS):
            player = self._player
            present = self.sound.present("output")
            if player is not None:
                if player.healthy() and present is not False and not self._device_reason:
                    continue
                with self._lock:
                    self._player = None
                    self._device_reason = DEVICE_FAILED
                    self._underruns_before += player.underruns
                log.warning("the sound output was lost; captions go on")
                player.close()
                self._notify()
                delay, next_try = DEVICE_RETRY_SECONDS, time.monotonic() + DEVICE_RETRY_SECONDS
                continue
            if present is False:
                next_try = 0.0  # try at once when the server has the device again
                continue
            if time.monotonic() < next_try:
                continue
            player = self._open_player()
            if player is None:
                next_try = time.monotonic() + delay
                delay = min(delay * 2, DEVICE_RETRY_MAX_SECONDS)
                continue
            with self._lock:
                self._player = player
                self._device_reason = ""
            log.warning("the sound output is back")
            delay = DEVICE_RETRY_SECONDS
            self._notify()

    def _notify(self) -> None:
        tell(self._on_status, self.status)

    def underruns(self) -> int:
        """Output blocks the device asked for too late, since the voice started."""
        player = self._player
        return self._underruns_before + (player.underruns if player is not None else 0)

    def status(self) -> VoiceStatus:
        """Whether the voice is heard; when not (or not as set), why, in one sentence."""
        if not self.settings.enabled:
            return VoiceStatus(False, TURNED_OFF)
        if not self._started:
            return VoiceStatus(False, NOT_STARTED)
        # No engine means no voice on any device, so that is the thing to fix first.
        if not self._tts_ok:
            return VoiceStatus(False, NO_ENGINE)
        if self._device_reason:
            return VoiceStatus(False, self._device_reason)
        return VoiceStatus(True, self._tts_note)

    # -- rendering ---------------------------------------------------------------------

    @property
    def can_render(self) -> bool:
        """True when lines can be rendered, with or without a sound device here: pages
        can play them."""
        return self.settings.enabled and self._started and self._tts_ok

    def audio_key(self, text: str) -> str | None:
        """The key a page fetches `text`'s rendered audio by, once it is rendered."""
        path = self._path(text)
        return path.stem if path.exists() else None

    def audio_file(self, key: str) -> Path | None:
        """The rendered WAV with this key, or None (never a path outside the cache)."""
        if len(key) != 32 or not all(ch in "0123456789abcdef" for ch in key):
            return None
        path = self.cache_dir / f"{key}.wav"
        return path if path.is_file() else None

    def _path(self, text: str) -> Path:
        return self._cache.path(text)

    def prepare(
        self, texts: Iterable[str], progress: Callable[[int, int], None] | None = None
    ) -> None:
        """Render every text not yet cached; blocks until done, so call it from a thread of its
        own (the runner's preparing thread, the warm-up), never the runner or a handler."""
        todo = list(dict.fromkeys(t for t in texts if t.strip()))
        if self._thread is None or not self._tts_ok:
            if progress is not None:
                progress(len(todo), len(todo))
            return
        for index, text in enumerate(todo):
            if self._cache.clip(text) is None:
                job = _Render(text)
                self._jobs.put(job)
                job.done.wait()
            if progress is not None:
                progress(index + 1, len(todo))

    def seconds(self, text: str) -> float:
        """How long `text` takes to say: the rendered length if cached, else an estimate."""
        return self._cache.seconds(text)

    def _voice_loop(self) -> None:
        """The one thread that owns the pyttsx3 engine."""
        engine: TtsEngine | None = None
        try:
            engine = TtsEngine(self.settings)
            self._tts_note = engine.note
            self._tts_ok = True
        except VoiceUnavailable as error:
            log.warning("no voice engine: %s", error.__cause__ or error)
        finally:
            self._ready.set()
        while (job := self._jobs.get()) is not None:
            try:
                samples = self._cache.load(job.text, engine)
                if samples is not None and job.play_generation is not None:
                    self._play_rendered(job, samples)
            except Exception:  # one bad line must not silence the rest of the session
                log.exception("could not render %r", job.text)
            finally:
                job.done.set()

    # -- playing -----------------------------------------------------------------------

    def handle(self, effect: SoundEffect) -> None:
        """Act on an effect at once, without blocking: speak, cue, fall silent, or hold and
        release (the only way in: the runner is the voice's one driver)."""
        if isinstance(effect, HoldSound | ReleaseSound):
            # Nothing new is asked of the speaker: a line being rendered still plays once
            # rendered (held, if the hold lasts).
            self._hold(isinstance(effect, HoldSound))
            return
        with self._lock:
            self._generation += 1
            generation = self._generation
            player = self._player
            if player is not None and not self._device_reason and not player.healthy():
                self._device_failed()
            if player is None or self._device_reason:
                return
            if isinstance(effect, StopSound):
                player.stop()
            elif isinstance(effect, Speak):
                samples = self._cache.clip(effect.text)
                if samples is not None:
                    player.play(Clip(samples, effect.text))
                else:
                    player.stop()  # the old line must not run on while the new one renders
                    self._jobs.put(_Render(effect.text, play_generation=generation))
            else:
                self._play_cue(effect, player, generation)

    def _hold(self, on: bool) -> None:
        """Fall silent at once but keep the place, while a spoken command is decided (plays
        on by itself after `HOLD_MAX_SECONDS` if never released); or play on from it, or
        whatever was asked since."""
        player = self._player
        if player is not None:
            if on:
                player.hold()
            else:
                player.release()

    def _play_cue(self, cue: Cue, player: Player, generation: int) -> None:
        tone = cue_tone(cue.name, self.settings.volume)
        if not cue.word:
            player.play(Clip(tone, ""))
            return
        word = self._cache.clip(cue.word)
        if word is not None:
            player.play(Clip(_join(tone, word), cue.word))
            return
        clip = Clip(tone, cue.word)
        player.play(clip)
        if self._thread is not None and self._tts_ok:
            self._jobs.put(_Render(cue.word, play_generation=generation, append_to=clip))

    def _play_rendered(self, job: _Render, samples: Samples) -> None:
        """Play a line that had to be rendered first, unless something newer was asked."""
        with self._lock:
            player = self._player
            if player is None or self._device_reason or job.play_generation != self._generation:
                return
            if job.append_to is None:
                player.play(Clip(samples, job.text))
            elif not job.append_to.done:
                player.extend(job.append_to, _join(np.zeros(0, dtype=np.int16), samples))

    def _device_failed(self) -> None:
        # Called from PortAudio's thread too: only flips state; the keeper releases the
        # stream and reopens the device.
        self._device_reason = DEVICE_FAILED
        player = self._player
        if player is not None:
            player.stop()

    def playing_text(self) -> str:
        """The text now audible ("" when silent or only a tone plays), for echo suppression."""
        player = self._player
        clip = player.current() if player is not None else None
        return clip.text if clip is not None else ""

    def recent_output(self, seconds: float) -> PlayedAudio:
        """The last `seconds` played (silence included), its rate, the monotonic time its
        last sample is heard and the count of samples played up to it: the echo reference
        for the listener."""
        player = self._player
        if player is None:
            return PlayedAudio(np.zeros(0, dtype=np.int16), SAMPLE_RATE, 0.0, 0)
        return player.recent_output(seconds)

    def last_sound_end(self) -> float:
        """Monotonic seconds when the last sound ended (or will, if playing); 0.0 if none yet."""
        player = self._player
        return player.last_end() if player is not None else 0.0


def _join(tone: Samples, word: Samples) -> Samples:
    gap = np.zeros(round(CUE_WORD_GAP * SAMPLE_RATE), dtype=np.int16)
    return np.concatenate([tone, gap, word])
