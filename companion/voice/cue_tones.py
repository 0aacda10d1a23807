"""Short, soft, non-verbal cue sounds made with numpy: pure functions, no I/O.

Each breathing phase has its own shape so partners can tell them apart with eyes
closed: inhale rises, exhale falls, hold stays level. Every tone fades in and out
(no clicks) and stays well below full scale (never harsh).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from companion.core.effects import CueName

SAMPLE_RATE = 22_050
"""The one rate everything is played at: pyttsx3's espeak output rate."""

PEAK = 0.28
"""Loudest sample of a cue as a fraction of full scale, before the volume setting."""

Samples = npt.NDArray[np.int16]
_Floats = npt.NDArray[np.float64]


def _times(seconds: float, rate: int) -> _Floats:
    return np.arange(round(seconds * rate), dtype=np.float64) / rate


def _fade(signal: _Floats, rate: int, attack: float, release: float) -> _Floats:
    """Raised-cosine fade in and out, so a tone never starts or ends with a click."""
    n = len(signal)
    env = np.ones(n)
    a = min(n // 2, round(attack * rate))
    r = min(n - a, round(release * rate))
    if a:
        env[:a] = 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)
    if r:
        env[n - r :] = 0.5 + 0.5 * np.cos(np.pi * (np.arange(r) + 1) / r)
    return signal * env


def _glide(start_hz: float, end_hz: float, seconds: float, rate: int) -> _Floats:
    """A sine whose pitch moves smoothly from start to end, with a faint octave for warmth."""
    t = _times(seconds, rate)
    # Geometric glide sounds even to the ear; phase is the running sum of frequency.
    freq = start_hz * (end_hz / start_hz) ** (t / seconds)
    phase = 2 * np.pi * np.cumsum(freq) / rate
    tone = np.sin(phase) + 0.15 * np.sin(2 * phase)
    return _fade(tone / 1.15, rate, attack=0.12, release=0.25)


def _bell(hz: float, seconds: float, rate: int, decay: float) -> _Floats:
    """A soft struck bell: a few partials dying away exponentially."""
    t = _times(seconds, rate)
    partials = ((1.0, 1.0), (2.0, 0.35), (2.76, 0.18), (5.4, 0.05))
    tone = sum(
        (amp * np.exp(-t * decay * ratio**0.5) * np.sin(2 * np.pi * hz * ratio * t))
        for ratio, amp in partials
    )
    return _fade(np.asarray(tone) / 1.58, rate, attack=0.008, release=0.05)


def _silence(seconds: float, rate: int) -> _Floats:
    return np.zeros(round(seconds * rate))


def tone_floats(name: CueName, rate: int = SAMPLE_RATE) -> _Floats:
    """The cue's waveform in -1..1 (before PEAK and volume), for analysis and mixing."""
    if name == "inhale":
        return _glide(330.0, 495.0, 0.7, rate)
    if name == "inhale2":
        return _glide(440.0, 587.0, 0.3, rate)
    if name == "exhale":
        return _glide(495.0, 330.0, 0.9, rate)
    if name == "hold":
        return _fade(np.sin(2 * np.pi * 392.0 * _times(0.5, rate)), rate, 0.15, 0.2) * 0.7
    if name == "warning":
        # Two gentle rising notes: noticeable, never alarming.
        first = _bell(523.25, 0.45, rate, decay=5.0)
        second = _bell(659.25, 0.7, rate, decay=4.0)
        return np.concatenate([first, _silence(0.05, rate), second]) * 0.8
    if name == "end":
        return _bell(528.0, 2.0, rate, decay=2.2)
    if name == "countdown":
        return _bell(880.0, 0.12, rate, decay=30.0) * 0.6
    raise ValueError(f"unknown cue {name!r}")


def cue_tone(name: CueName, volume: float = 1.0, rate: int = SAMPLE_RATE) -> Samples:
    """The cue as 16-bit mono samples at `rate`, scaled by `volume` (0..1)."""
    level = PEAK * max(0.0, min(1.0, volume)) * 32767
    return np.asarray(np.round(tone_floats(name, rate) * level), dtype=np.int16)
