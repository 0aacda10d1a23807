"""espeak-ng speech as 16 kHz samples: the voice every real-audio test speaks with."""

from __future__ import annotations

import subprocess

import numpy as np

RATE = 16_000


def speak(text: str, voice: str = "en-us", rate: int = 150, pitch: int = 50) -> np.ndarray:
    """`text` spoken by espeak-ng, resampled by sox to 16 kHz, as float32 in int16 units."""
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    resampled = subprocess.run(
        ["sox", "-t", "wav", "-", "-r", str(RATE), "-c", "1", "-b", "16", "-t", "raw", "-"],
        input=out,
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(resampled, dtype="<i2").astype(np.float32)
