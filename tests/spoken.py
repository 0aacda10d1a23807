"""espeak-ng speech as 16 kHz samples (and WAV recordings of it): the voice every
real-audio test speaks with."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

RATE = 16_000


def speak(
    text: str, voice: str = "en-us", rate: int = 150, pitch: int = 50, sample_rate: int = RATE
) -> np.ndarray:
    """`text` spoken by espeak-ng, resampled by sox to `sample_rate` (16 kHz: as a
    microphone hears it; 22.05 kHz: as the companion plays it), float32 in int16 units."""
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    resampled = subprocess.run(
        [
            "sox",
            "-D",
            "-t",
            "wav",
            "-",
            "-r",
            str(sample_rate),
            "-c",
            "1",
            "-b",
            "16",
            "-t",
            "raw",
            "-",
        ],
        input=out,
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(resampled, dtype="<i2").astype(np.float32)


GAP = 1.0  # seconds of quiet before, between and after the spoken parts
# A sentence first: pocketsphinx adapts to the voice on it (its first word alone is often
# lost), and it must not fire although it is speech.
WARM_UP = "we were talking about the weekend"

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="needs espeak-ng and sox",
)


def recording(path: Path, texts: list[str], voice: str) -> tuple[Path, list[float]]:
    """A WAV of `texts` spoken with quiet around each; and the second each one stops at."""
    quiet = np.zeros(int(GAP * RATE), dtype=np.float32)
    parts: list[np.ndarray] = [quiet]
    ends: list[float] = []
    for text in texts:
        clip = speak(text, voice, rate=175)  # espeak-ng's own default rate
        start = sum(len(p) for p in parts)
        # espeak-ng pads its output with quiet: the speech ends at its last loud sample.
        ends.append((start + int(np.flatnonzero(np.abs(clip) > 300)[-1])) / RATE)
        parts += [clip, quiet]
    audio = np.concatenate(parts)
    # A faint room-noise floor (about -55 dBFS): pocketsphinx needs one to hear synthetic
    # speech. Integrated white noise with its slow drift removed is a low rumble.
    white = np.random.default_rng(1).standard_normal(len(audio))
    rumble = np.cumsum(white)
    rumble -= np.convolve(rumble, np.ones(400) / 400, mode="same")
    audio += (rumble / np.std(rumble) * 60.0).astype(np.float32)
    return write_wav(path, audio), ends


def write_wav(path: Path, audio: np.ndarray, rate: int = RATE) -> Path:
    """`audio` (int16 units) as a 16-bit mono WAV file at `path` (16 kHz unless told)."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.clip(audio, -32768, 32767).astype("<i2").tobytes())
    return path
