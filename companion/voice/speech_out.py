"""Spoken guidance: text -> audio (pyttsx3 renders, cached on disk) -> the sound device.

Two owners, each on its own thread: one thread creates and alone uses the pyttsx3
engine, fed by a queue; PortAudio's callback thread plays through one sounddevice
`OutputStream` and only copies samples from the current clip. Everything else here
just swaps which clip is current, so `handle()` never blocks on audio or synthesis.

When there is no voice engine or no output device the companion still runs with
captions only, and `SpeechOut.status()` says why in one sentence.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import queue
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from companion.audio.resample import resample_samples
from companion.audio.sound import SoundSystem, StreamClock
from companion.core.effects import Cue, Speak, StopSound
from companion.core.engine import DEFAULT_RATE, estimate_speech_seconds
from companion.core.errors import CompanionError
from companion.voice.cue_tones import SAMPLE_RATE, Samples, cue_tone

log = logging.getLogger(__name__)

BLOCK_FRAMES = 512
"""Frames per audio block (about 23 ms at 22,050 Hz): a stop is heard within one block."""

OUTPUT_LATENCY = 0.06
"""Seconds of sound the output device buffers ahead: what plays on after a stop."""

CACHE_FORMAT = 1
"""Bump when the rendered files change for reasons the cache key cannot see."""

CUE_WORD_GAP = 0.12
"""Seconds between a cue's tone and its spoken word."""

RENDER_ATTEMPTS = 3
RENDER_MIN_SHARE = 0.7
"""A render shorter than this share of the estimate is taken as cut short."""
RENDER_TIMEOUT = 60.0
"""Longest one line may take to render before it is given up (captions only for it)."""

HOLD_MAX_SECONDS = 2.0
"""A held voice plays on by itself after this long, whatever became of its release."""

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
SILENT_STREAM_SECONDS = 1.5
"""An output whose callback has not run for this long (once started) has stopped."""
NO_ENGINE = (
    "The speech engine could not start, so the companion shows captions only; "
    "install espeak-ng (sudo apt install espeak-ng) and restart it."
)
TURNED_OFF = (
    "Spoken guidance is turned off in the settings, so the companion shows captions only; "
    "turn the voice on to hear it."
)
NOT_STARTED = "Spoken guidance has not started yet; it starts with the session runner."


@dataclass(frozen=True)
class VoiceSettings:
    """How the companion speaks; part of every cached file's key."""

    voice: str = ""
    """espeak voice id ("gmw/en-us"), short id ("en-us") or name; "" = the default voice."""
    rate: int = DEFAULT_RATE
    """Words per minute."""
    volume: float = 0.9
    """Loudness of voice and cues, 0..1."""
    enabled: bool = True
    """False means captions only, by choice: nothing is rendered or played."""
    driver: str = ""
    """pyttsx3 driver name; "" = the platform's default (espeak on Linux)."""


@dataclass(frozen=True)
class VoiceStatus:
    """Whether the voice is heard, and if not (or not quite as asked) why, in one sentence."""

    on: bool
    reason: str = ""


class VoiceUnavailable(CompanionError):
    """The text-to-speech engine cannot be used on this machine."""


def pyttsx3_version() -> str:
    """The installed pyttsx3 version ("" if it is not installed)."""
    try:
        return importlib.metadata.version("pyttsx3")
    except importlib.metadata.PackageNotFoundError:
        return ""


def cache_key(text: str, settings: VoiceSettings, engine_version: str) -> str:
    """A file-name-safe hash of everything that changes how `text` sounds."""
    parts = [
        CACHE_FORMAT,
        text,
        settings.voice,
        settings.rate,
        round(settings.volume, 3),
        settings.driver,
        engine_version,
    ]
    return hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()[:32]


def default_cache_dir() -> Path:
    """Where rendered lines are kept, shared by `serve`, `render` and `preview`."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("companion")) / "voice"


def cached_line_seconds(
    settings: VoiceSettings, cache_dir: Path | None = None
) -> Callable[[str], float]:
    """Line lengths from the cache where a line was rendered, else the engine's estimate.

    Needs no speech engine, so `preview` stays instant and agrees with `render`.
    """
    return VoiceCache(settings, cache_dir or default_cache_dir()).seconds


def wav_seconds(path: Path) -> float:
    """Duration of a WAV file, read from its header only."""
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def read_wav(path: Path) -> Samples:
    """A 16-bit WAV file as mono int16 samples at SAMPLE_RATE (resampled if needed)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit samples, found {8 * wav.getsampwidth()}-bit")
        channels, rate = wav.getnchannels(), wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    samples = np.frombuffer(frames, dtype="<i2").astype(np.int16)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return resample_samples(samples, rate, SAMPLE_RATE)  # only for non-espeak drivers


class TtsEngine:
    """One pyttsx3 engine with the settings applied; use it from one thread only.

    espeak keeps one synthesiser per process, so only one of these may render at a time
    in a process (a `SpeechOut` owns one on its own thread while it runs).
    """

    def __init__(self, settings: VoiceSettings) -> None:
        try:
            import pyttsx3

            self._engine: Any = pyttsx3.init(settings.driver or None)
            voices = self._engine.getProperty("voices") or []
        except Exception as error:  # pyttsx3 raises many kinds when a driver is missing
            raise VoiceUnavailable(NO_ENGINE) from error
        self.note = ""
        """One sentence when the voice differs from the settings (e.g. unknown voice)."""
        voice_id = _find_voice(voices, settings.voice)
        if settings.voice and voice_id is None:
            self.note = (
                f"The voice {settings.voice!r} is not installed, so the default voice speaks; "
                "choose one listed by `espeak-ng --voices`."
            )
            log.warning("unknown voice %r; using the default", settings.voice)
        self._voice_id = voice_id
        self._rate = int(settings.rate)
        self._volume = max(0.0, min(1.0, float(settings.volume)))
        try:
            self._apply_settings()
        except Exception as error:
            raise VoiceUnavailable(NO_ENGINE) from error

    def _apply_settings(self) -> None:
        """Set voice, rate and volume; queued before every save, since espeak keeps them
        per process and pyttsx3 hands one cached engine to every `init` in a process."""
        if self._voice_id is not None:
            self._engine.setProperty("voice", self._voice_id)
        self._engine.setProperty("rate", self._rate)
        self._engine.setProperty("volume", self._volume)

    def render(self, text: str, path: Path) -> None:
        """Write `text` spoken to the WAV file `path`, atomically (temp file + rename).

        espeak has one synthesiser per process; when another pyttsx3 engine in the process
        is torn down mid-render, the utterance comes back cut short. A render far shorter
        than any real line (real ones run 0.8-1.4 times
        the estimate), is done again; after the last try the longest result stands.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        shortest_plausible = RENDER_MIN_SHARE * estimate_speech_seconds(text, self._rate)
        best: tuple[float, Path] | None = None
        try:
            for attempt in range(1, RENDER_ATTEMPTS + 1):
                temp, completed = self._render_once(text, path.parent)
                seconds = wav_seconds(temp) if temp.stat().st_size > 44 else 0.0
                if best is None or seconds > best[0]:
                    if best is not None:
                        best[1].unlink(missing_ok=True)
                    best = (seconds, temp)
                else:
                    temp.unlink(missing_ok=True)
                # espeak's "completed" flag is False for many whole renders: length decides.
                if seconds >= shortest_plausible:
                    break
                log.warning(
                    "render %d of %r came back short (%.2f s, completed=%s); rendering again",
                    attempt,
                    text,
                    seconds,
                    completed,
                )
            assert best is not None
            if best[0] <= 0.0:
                raise VoiceUnavailable(f"The speech engine wrote no audio for {text!r}.")
            os.replace(best[1], path)
        finally:
            if best is not None:
                best[1].unlink(missing_ok=True)

    def _render_once(self, text: str, folder: Path) -> tuple[Path, bool]:
        """One save_to_file + runAndWait into a new temp file; (file, espeak said complete)."""
        fd, temp_name = tempfile.mkstemp(prefix=".render-", suffix=".wav", dir=folder)
        os.close(fd)
        temp = Path(temp_name)
        finished = threading.Event()
        outcome = {"completed": False}

        def on_finished(completed: bool = False, **_: object) -> None:
            outcome["completed"] = completed
            finished.set()

        tokens = [
            self._engine.connect("finished-utterance", on_finished),
            self._engine.connect("error", on_finished),
        ]
        try:
            _quiet_saved_notices()
            self._apply_settings()
            # One file per runAndWait: several queued saves write only the last.
            self._engine.save_to_file(text, str(temp))
            self._engine.runAndWait()
            # espeak synthesises on its own thread and runAndWait may return first
            # (seen with a 9 s line): the file is complete only at "finished".
            if not finished.wait(RENDER_TIMEOUT):
                temp.unlink(missing_ok=True)
                raise VoiceUnavailable(f"The speech engine did not finish {text!r}.")
        finally:
            for token in tokens:
                self._engine.disconnect(token)
        return temp, outcome["completed"]


def _quiet_saved_notices() -> None:
    """Drop the "Audio saved to ..." line pyttsx3's espeak driver prints for every file.

    Only that driver module's own `print` is replaced (idempotent); `sys.stdout` is never
    swapped, since swapping it from a worker thread races with every other thread.
    """
    driver = sys.modules.get("pyttsx3.drivers.espeak")
    if driver is None or getattr(driver, "print", None) is _print_unless_saved_notice:
        return
    driver.print = _print_unless_saved_notice  # type: ignore[attr-defined]


def _print_unless_saved_notice(*args: object, **kwargs: Any) -> None:
    if args and isinstance(args[0], str) and args[0].startswith("Audio saved to "):
        return
    print(*args, **kwargs)


def _find_voice(voices: Iterable[Any], wanted: str) -> str | None:
    """The id of the installed voice matching `wanted` by id, short id, name or language."""
    if not wanted:
        return None
    key = wanted.strip().lower()
    for voice in voices:
        vid = str(getattr(voice, "id", ""))
        names = {vid.lower(), vid.rsplit("/", 1)[-1].lower(), str(voice.name).lower()}
        names.update(str(lang).lower() for lang in getattr(voice, "languages", []) or [])
        if key in names:
            return vid
    return None


class VoiceCache:
    """Rendered lines as samples: in memory, else the disk cache, else a fresh render.

    The one cache of rendered speech, for the live voice (`SpeechOut`) and for files
    (`companion.voice.render`). Renders happen only in `load`, on the thread that owns `engine`;
    retrying a render cut short is `TtsEngine.render`'s job alone.
    """

    def __init__(self, settings: VoiceSettings, cache_dir: Path) -> None:
        self.settings = settings
        self.cache_dir = cache_dir
        self._version = pyttsx3_version()
        self._clips: dict[str, Samples] = {}
        self._durations: dict[str, float] = {}
        self.renders = 0
        """How many lines were actually synthesised (cache misses)."""

    def path(self, text: str) -> Path:
        """Where the rendered WAV of `text` lives (its name is `cache_key`)."""
        return self.cache_dir / f"{cache_key(text, self.settings, self._version)}.wav"

    def clip(self, text: str) -> Samples | None:
        """The samples of `text` if already loaded (any thread; never touches the disk)."""
        return self._clips.get(text)

    def seconds(self, text: str) -> float:
        """How long `text` takes to say: loaded or rendered length, else an estimate."""
        known = self._durations.get(text)
        if known is not None:
            return known
        try:
            seconds = wav_seconds(self.path(text))
        except (OSError, EOFError, wave.Error):
            return estimate_speech_seconds(text, self.settings.rate)
        self._durations[text] = seconds
        return seconds

    def load(self, text: str, engine: TtsEngine | None) -> Samples | None:
        """Samples for `text`; rendered with `engine` if not cached (None: no engine, and
        not on disk). A damaged cache file is rendered again. Raises VoiceUnavailable."""
        samples = self._clips.get(text)
        if samples is not None:
            return samples
        path = self.path(text)
        samples = None
        if path.exists():
            try:
                samples = read_wav(path)
            except (OSError, EOFError, ValueError, wave.Error):
                log.warning("re-rendering a damaged cache file %s", path)
        if samples is None:
            if engine is None:
                return None
            engine.render(text, path)
            self.renders += 1
            samples = read_wav(path)
        self._clips[text] = samples
        self._durations[text] = len(samples) / SAMPLE_RATE
        return samples


def render_wav(text: str, path: Path, settings: VoiceSettings) -> None:
    """Render one line to a 22,050 Hz mono 16-bit WAV file, outside any `SpeechOut`.

    For offline work (e.g. homework audio). It creates its own engine, so call it only
    when no `SpeechOut` is running in this process. Raises VoiceUnavailable.
    """
    TtsEngine(settings).render(text, path)


PLAYED_SECONDS = 5.0
"""How much played audio is kept as the listener's echo reference."""


class _PlayedRing:
    """The last played samples with the time the newest is heard; written by the audio callback."""

    def __init__(self, capacity: int) -> None:
        self._buffer = np.zeros(capacity, dtype=np.int16)
        self._written = 0
        self._end = 0.0
        self._lock = threading.Lock()

    def write(self, block: Samples, start: float, gap: bool = False) -> None:
        """Append a block whose first sample is heard at monotonic time `start`; `gap`
        when the device reports it ran dry just before (the timeline moved)."""
        count = min(len(block), len(self._buffer))
        with self._lock:
            expected = self._end
            # Callbacks arrive in bursts: follow a steady clock, re-anchoring only on a jump
            # (start, an underrun), so the reference has no jitter between blocks.
            if gap or abs(start - expected) > 0.1:
                expected = start
            else:
                expected += (start - expected) * 0.05
            index = (self._written + np.arange(count)) % len(self._buffer)
            self._buffer[index] = block[-count:]
            self._written += count
            self._end = expected + len(block) / SAMPLE_RATE

    def recent(self, count: int) -> tuple[Samples, int, float, int]:
        """The newest `count` samples (fewer if not yet played), the rate, their end time and
        how many samples were ever written up to the newest."""
        with self._lock:
            count = min(count, self._written, len(self._buffer))
            index = (self._written - count + np.arange(count)) % len(self._buffer)
            return self._buffer[index].copy(), SAMPLE_RATE, self._end, self._written


@dataclass(eq=False)
class _Clip:
    """One sound being played: written by the audio callback (pos, done) and by control code."""

    samples: Samples
    text: str
    pos: int = 0
    done: bool = False


@dataclass
class _Render:
    """A job for the voice thread: make sure `text` is rendered; maybe play it afterwards."""

    text: str
    done: threading.Event = field(default_factory=threading.Event)
    play_generation: int | None = None
    """Play once rendered, unless anything else was asked of the speaker since."""
    append_to: _Clip | None = None
    """Append to this clip (a cue's tone) instead of starting a new one."""


class _Player:
    """One sounddevice OutputStream; its callback only copies from the current clip."""

    def __init__(self, sound: SoundSystem, on_failure: Callable[[], None]) -> None:
        self._sound = sound
        self._on_failure = on_failure
        self._clip: _Clip | None = None
        self._closing = False
        self._last_end = 0.0
        self._latency = 0.0
        self._held_until = 0.0
        """Until this monotonic time the device gets silence and the clip keeps its place."""
        self._stream: Any = None
        self._played = _PlayedRing(round(PLAYED_SECONDS * SAMPLE_RATE))
        self._clock = StreamClock()
        self._opened_at = 0.0
        self._last_callback = 0.0
        self.underruns = 0
        """Blocks the device asked for too late (heard as a click or gap)."""

    def open(self) -> None:
        """Open and start the output device; raises PortAudioError-like errors if none."""
        self._stream = self._sound.open_stream(
            "output",
            samplerate=SAMPLE_RATE,
            channels=1,
            dtype="int16",
            blocksize=BLOCK_FRAMES,
            # Pause must be heard to stop at once, so the buffer is shallow; but not the
            # shallowest: through a sound server that underran under load (PulseAudio,
            # 46 ms: several a minute while the machine was busy; 60 ms: none seen).
            latency=OUTPUT_LATENCY,
            callback=self._callback,
            finished_callback=self._finished,
        )
        self._latency = float(self._stream.latency)
        self._opened_at = time.monotonic()

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        self._last_callback = time.monotonic()
        gap = bool(status.output_underflow)
        if gap:
            self.underruns += 1
        # The device's DAC time, not a count of samples: a sound server that runs short
        # on its side delays what is heard without telling the stream (PulseAudio), and
        # only its reported latency shows that.
        reported = self._clock.to_monotonic(time_info.outputBufferDacTime, time_info.currentTime)
        heard_at = self._last_callback + self._latency if reported is None else reported
        clip = self._clip  # read once: a stop swaps it between blocks, never mid-copy
        if clip is None or clip.done or self._held_until > time.monotonic():
            outdata.fill(0)
            self._played.write(outdata[:, 0], heard_at, gap)
            return
        samples = clip.samples  # a cue's word may be appended by swapping this array
        start = clip.pos
        end = min(start + frames, len(samples))
        count = end - start
        outdata[:count, 0] = samples[start:end]
        outdata[count:].fill(0)
        clip.pos = end
        self._played.write(outdata[:, 0], heard_at, gap)
        if end >= len(samples):
            clip.done = True
            # Heard until the device's buffer drains, not when we hand over the last block.
            self._last_end = heard_at + count / SAMPLE_RATE

    def _finished(self) -> None:
        if not self._closing:
            log.warning("the sound output stream ended unexpectedly")
            self.stop()  # nothing is audible any more; say so to playing_text()
            self._on_failure()

    def play(self, clip: _Clip) -> None:
        """Make `clip` the sound heard from the next block on (stopping what plays)."""
        self.stop()
        self._clip = clip

    def stop(self) -> None:
        """Silence from the next block on."""
        clip, self._clip = self._clip, None
        if clip is not None and not clip.done:
            clip.done = True
            self._last_end = time.monotonic() + self._latency

    def hold(self) -> None:
        """Silence from the next block on, keeping the place: `release` plays on from it."""
        self._held_until = time.monotonic() + HOLD_MAX_SECONDS

    def release(self) -> None:
        """Play on from where `hold` left off (whatever plays now, if that changed)."""
        self._held_until = 0.0

    def current(self) -> _Clip | None:
        """The clip still being played, if any."""
        clip = self._clip
        return clip if clip is not None and not clip.done else None

    def last_end(self) -> float:
        """Monotonic time when the last sound ended (or will end); 0.0 if none yet."""
        clip = self.current()
        if clip is not None:
            now = time.monotonic()
            left = (len(clip.samples) - clip.pos) / SAMPLE_RATE + max(0.0, self._held_until - now)
            return now + left + self._latency
        return self._last_end

    def recent_output(self, seconds: float) -> tuple[Samples, int, float, int]:
        """The last `seconds` of what was played, its rate, when its last sample is heard, and
        the count of samples ever played up to it."""
        return self._played.recent(round(seconds * SAMPLE_RATE))

    def healthy(self) -> bool:
        """False once the stream stopped by itself (device unplugged, driver error) or its
        callback stopped coming (a sound server that went away)."""
        stream = self._stream
        if stream is None or not stream.active:
            return False
        started = max(self._opened_at, self._last_callback)
        return time.monotonic() - started < SILENT_STREAM_SECONDS + (
            1.0 if self._last_callback == 0.0 else 0.0  # a server may take a second to start
        )

    def close(self) -> None:
        """Stop and release the device."""
        self._closing = True
        self.stop()
        stream, self._stream = self._stream, None
        if stream is not None:
            self._sound.close_stream(stream)


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
        self._player: _Player | None = None
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

    def _open_player(self) -> _Player | None:
        """A started output stream, or None (the reason is logged) if the device refuses."""
        player = _Player(self.sound, on_failure=self._device_failed)
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
        if self._on_status is None:
            return
        try:
            self._on_status(self.status())
        except Exception:  # the voice must outlive a faulty consumer
            log.exception("on_status failed")

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

    def handle(self, effect: Speak | Cue | StopSound) -> None:
        """Act on an effect at once, without blocking: speak, cue or fall silent."""
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
                    player.play(_Clip(samples, effect.text))
                else:
                    player.stop()  # the old line must not run on while the new one renders
                    self._jobs.put(_Render(effect.text, play_generation=generation))
            else:
                self._play_cue(effect, player, generation)

    def hold(self) -> None:
        """Fall silent at once but keep the place, while a spoken command is decided; plays
        on by itself after `HOLD_MAX_SECONDS` if never released. Never blocks."""
        player = self._player
        if player is not None:
            player.hold()

    def release(self) -> None:
        """End a `hold`: play on from where it stopped, or whatever was asked since."""
        player = self._player
        if player is not None:
            player.release()

    def _play_cue(self, cue: Cue, player: _Player, generation: int) -> None:
        tone = cue_tone(cue.name, self.settings.volume)
        if not cue.word:
            player.play(_Clip(tone, ""))
            return
        word = self._cache.clip(cue.word)
        if word is not None:
            player.play(_Clip(_join(tone, word), cue.word))
            return
        clip = _Clip(tone, cue.word)
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
                player.play(_Clip(samples, job.text))
            elif not job.append_to.done:
                # The callback picks up the longer array on its next block.
                job.append_to.samples = _join(job.append_to.samples, samples)

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

    def recent_output(self, seconds: float) -> tuple[Samples, int, float, int]:
        """The last `seconds` played (silence included), its rate, the monotonic time its
        last sample is heard and the count of samples played up to it: the echo reference
        for the listener."""
        player = self._player
        if player is None:
            return np.zeros(0, dtype=np.int16), SAMPLE_RATE, 0.0, 0
        return player.recent_output(seconds)

    def last_sound_end(self) -> float:
        """Monotonic seconds when the last sound ended (or will, if playing); 0.0 if none yet."""
        player = self._player
        return player.last_end() if player is not None else 0.0


def _join(tone: Samples, word: Samples) -> Samples:
    gap = np.zeros(round(CUE_WORD_GAP * SAMPLE_RATE), dtype=np.int16)
    return np.concatenate([tone, gap, word])
