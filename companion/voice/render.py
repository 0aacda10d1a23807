"""A whole guided session as one audio file, timed exactly as a live session runs it.

Every distinct spoken text is rendered once (into the same cache the live voice uses),
its real length is read, and the engine's preview is computed with those lengths, so
the audio and the timeline agree by construction. Then each line and cue tone is laid
at its offset into one mono 16-bit WAV, written block by block: a 20-minute break
never needs the whole file in memory.
"""

from __future__ import annotations

import gc
import logging
import os
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import numpy as np

from companion.core.effects import CueName
from companion.core.errors import CompanionError
from companion.core.phase import TimelineEntry, estimate_speech_seconds
from companion.core.preview import preview, timeline_seconds
from companion.core.script import Names, Script
from companion.voice.cue_tones import SAMPLE_RATE, Samples, cue_tone
from companion.voice.speech_out import CUE_WORD_GAP
from companion.voice.tts import (
    TtsEngine,
    VoiceCache,
    VoiceSettings,
    VoiceUnavailable,
    default_cache_dir,
)

log = logging.getLogger(__name__)

BLOCK_FRAMES = 65_536
"""Frames written per block (~3 s): memory stays small however long the session is."""

CUT_FADE_SECONDS = 0.01
"""A sound cut short by the next one fades out this fast, so the cut never clicks."""

CUE_KINDS: frozenset[str] = frozenset(get_args(CueName))

NO_TTS = (
    "The speech engine could not start, so nothing can be rendered; "
    "install espeak-ng (sudo apt install espeak-ng) and try again."
)

Progress = Callable[[str, int, int], None]
"""Called as `progress(stage, done, total)`; stage is "lines" or "audio"."""


class RenderError(CompanionError):
    """A session could not be rendered to a file; the message says what to do."""


@dataclass(frozen=True)
class Sound:
    """One sound laid into the file: `samples` from frame `start` on."""

    start: int
    samples: Samples


@dataclass(frozen=True)
class Rendered:
    """What `render` wrote: the file, its length, and the timeline it follows."""

    out: Path
    seconds: float
    lines: int
    """Distinct spoken texts in the file (lines and cue words)."""
    timeline: list[TimelineEntry]
    note: str = ""
    """One sentence when the voice differs from the one asked for."""


class LineCache:
    """Rendered lines for a file: `VoiceCache` with an engine made on the first miss.

    The pyttsx3 engine is used only by the thread that calls `ensure` (the CLI's one
    thread), so a fully cached script needs no engine.
    """

    def __init__(self, settings: VoiceSettings, cache_dir: Path) -> None:
        self.settings = settings
        self.cache_dir = cache_dir
        self.note = ""
        self._cache = VoiceCache(settings, cache_dir)
        self._engine: TtsEngine | None = None

    def path(self, text: str) -> Path:
        """Where the cached WAV of `text` lives (the same name `SpeechOut` uses)."""
        return self._cache.path(text)

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and self._cache.clip(text) is not None

    def ensure(self, texts: Iterable[str], progress: Progress | None = None) -> None:
        """Have every text's samples at hand, rendering the ones not cached yet."""
        todo = list(dict.fromkeys(text for text in texts if text.strip()))
        for index, text in enumerate(todo):
            if text not in self:
                self._load(text)
            if progress is not None:
                progress("lines", index + 1, len(todo))

    def samples(self, text: str) -> Samples:
        """The samples of a text passed to `ensure` before."""
        clip = self._cache.clip(text)
        assert clip is not None, f"{text!r} was not ensured"
        return clip

    def seconds(self, text: str) -> float:
        """How long `text` takes to say: its real length once loaded, else an estimate."""
        clip = self._cache.clip(text)
        if clip is None:
            return estimate_speech_seconds(text, self.settings.rate)
        return len(clip) / SAMPLE_RATE

    def _load(self, text: str) -> None:
        try:
            if self._cache.load(text, None) is None:  # not on disk: only then an engine
                self._cache.load(text, self._tts())
        except VoiceUnavailable as error:
            raise RenderError(
                f"The speech engine failed on {text!r}; check espeak-ng and try again."
            ) from error
        except OSError as error:
            raise RenderError(
                f"Cannot write the voice cache in {self.cache_dir} ({error.strerror}); "
                "make that folder writable and try again."
            ) from error

    def _tts(self) -> TtsEngine:
        if self._engine is None:
            # A dropped pyttsx3 engine unsets espeak's one, process-wide synth callback when
            # it is finalised; finalise any such engine now, not in the middle of our renders.
            gc.collect()
            try:
                self._engine = TtsEngine(self.settings)
            except VoiceUnavailable as error:
                raise RenderError(NO_TTS) from error
            self.note = self._engine.note
        return self._engine


def session_timeline(
    script: Script,
    names: Names,
    lines: LineCache,
    progress: Progress | None = None,
) -> list[TimelineEntry]:
    """The preview with every spoken text rendered and timed by its real length."""
    timeline = preview(script, names, lines.seconds)
    # Real lengths can (rarely) change which break prompts fit, so repeat until none is new.
    for _ in range(5):
        missing = [
            text
            for text in (entry.spoken for entry in timeline)
            if text.strip() and text not in lines
        ]
        if not missing:
            return timeline
        lines.ensure(missing, progress)
        timeline = preview(script, names, lines.seconds)
    raise RenderError(f"The timing of {script.id} did not settle; check its break prompts.")


def lay_out(
    script: Script,
    timeline: list[TimelineEntry],
    names: Names,
    lines: LineCache,
    volume: float,
) -> list[Sound]:
    """Every sound of the session at its frame, each cut where the next one starts.

    A live session's player stops what plays when the next sound begins; cutting here
    keeps the file faithful to that (e.g. the end bell outlasting its phase).
    """
    tones: dict[tuple[str, str], Samples] = {}
    placed: list[Sound] = []
    for entry in timeline:
        text = entry.spoken
        if entry.kind in CUE_KINDS:
            key = (entry.kind, text)
            if key not in tones:
                tone = cue_tone(entry.kind, volume)  # type: ignore[arg-type]
                if text:
                    gap = np.zeros(round(CUE_WORD_GAP * SAMPLE_RATE), dtype=np.int16)
                    tone = np.concatenate([tone, gap, lines.samples(text)])
                tones[key] = tone
            samples = tones[key]
        elif text:
            samples = lines.samples(text)
        else:
            continue
        placed.append(Sound(round(entry.at * SAMPLE_RATE), samples))
    total = round(timeline_seconds(timeline) * SAMPLE_RATE)
    sounds: list[Sound] = []
    for index, sound in enumerate(placed):
        end = placed[index + 1].start if index + 1 < len(placed) else total
        room = max(0, end - sound.start)
        if room < len(sound.samples):
            sounds.append(Sound(sound.start, _cut(sound.samples, room)))
        else:
            sounds.append(sound)
    return sounds


def _cut(samples: Samples, frames: int) -> Samples:
    kept = samples[:frames].astype(np.float64)
    fade = min(frames, round(CUT_FADE_SECONDS * SAMPLE_RATE))
    if fade:
        kept[frames - fade :] *= np.linspace(1.0, 0.0, fade)
    return np.asarray(np.round(kept), dtype=np.int16)


def write_wav(
    stream: wave.Wave_write,
    sounds: list[Sound],
    total_frames: int,
    progress: Progress | None = None,
) -> None:
    """Write `total_frames` of silence with `sounds` (sorted, not overlapping) laid in."""
    first = 0
    for block_start in range(0, total_frames, BLOCK_FRAMES):
        block_end = min(total_frames, block_start + BLOCK_FRAMES)
        block = np.zeros(block_end - block_start, dtype=np.int16)
        while first < len(sounds) and sounds[first].start + len(sounds[first].samples) <= (
            block_start
        ):
            first += 1
        index = first
        while index < len(sounds) and sounds[index].start < block_end:
            sound = sounds[index]
            lo = max(block_start, sound.start)
            hi = min(block_end, sound.start + len(sound.samples))
            if hi > lo:
                block[lo - block_start : hi - block_start] = sound.samples[
                    lo - sound.start : hi - sound.start
                ]
            index += 1
        stream.writeframes(block.astype("<i2").tobytes())
        if progress is not None:
            progress("audio", block_end, total_frames)


def render_session(
    script: Script,
    out: Path,
    *,
    names: Names | None = None,
    settings: VoiceSettings | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> Rendered:
    """Render `script` to the WAV file `out` (written atomically); raises RenderError."""
    names = names or Names()
    settings = settings or VoiceSettings()
    temp = _claim(out)
    try:
        lines = LineCache(settings, cache_dir or default_cache_dir())
        timeline = session_timeline(script, names, lines, progress)
        seconds = timeline_seconds(timeline)
        total = round(seconds * SAMPLE_RATE)
        sounds = lay_out(script, timeline, names, lines, settings.volume)
        with temp.open("wb") as file, wave.open(file, "wb") as stream:
            stream.setnchannels(1)
            stream.setsampwidth(2)
            stream.setframerate(SAMPLE_RATE)
            stream.setnframes(total)
            write_wav(stream, sounds, total, progress)
        os.replace(temp, out)
    except OSError as error:
        raise RenderError(_unwritable(out, error)) from error
    finally:
        temp.unlink(missing_ok=True)
    spoken = {entry.spoken for entry in timeline} - {""}
    return Rendered(out, total / SAMPLE_RATE, len(spoken), timeline, lines.note)


def _claim(out: Path) -> Path:
    """Create the temp file next to `out` first, so a bad path fails before any work."""
    if out.is_dir():
        raise RenderError(f"{out} is a folder; give a file name, e.g. --out session.wav.")
    # Named after the target (not mkstemp) so the finished file gets ordinary permissions.
    temp = out.parent / f".{out.name}.{os.getpid()}.part"
    try:
        temp.open("wb").close()
    except OSError as error:
        raise RenderError(_unwritable(out, error)) from error
    return temp


def _unwritable(out: Path, error: OSError) -> str:
    reason = error.strerror or str(error)
    return f"Cannot write {out} ({reason}); choose a folder you can write to with --out."
