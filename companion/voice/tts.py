"""Text to audio: pyttsx3 renders each line to a WAV file, kept in a cache on disk.

One thread creates and alone uses a `TtsEngine` (pyttsx3 breaks when shared). A
`VoiceCache` keys each file by everything that makes its sound, so a line is rendered
once and then read.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import sys
import tempfile
import threading
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from companion.audio.resample import resample_samples
from companion.core.errors import CompanionError
from companion.core.phase import DEFAULT_RATE, estimate_speech_seconds
from companion.voice.cue_tones import SAMPLE_RATE, Samples

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
"""Bump when the rendered files change for reasons the cache key cannot see."""

RENDER_ATTEMPTS = 3
RENDER_MIN_SHARE = 0.7
"""A render shorter than this share of the estimate is taken as cut short."""
RENDER_TIMEOUT = 60.0
"""Longest one line may take to render before it is given up (captions only for it)."""

NO_ENGINE = (
    "The speech engine could not start, so the companion shows captions only; "
    "install espeak-ng (sudo apt install espeak-ng) and restart it."
)


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
                # Seen at start-up (cause unknown); the next try has come back whole.
                log.debug(
                    "render %d of %r came back short (%.2f s, completed=%s); rendering again",
                    attempt,
                    text,
                    seconds,
                    completed,
                )
            assert best is not None
            if best[0] <= 0.0:
                raise VoiceUnavailable(f"The speech engine wrote no audio for {text!r}.")
            if best[0] < shortest_plausible:
                log.warning("%r came back short after %d tries: it may be cut off", text, attempt)
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
