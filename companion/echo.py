"""Echo reference: remove the companion's own voice from the microphone signal.

The companion knows every sample it plays and when (`PlayedAudio`). The microphone hears
those samples back later (output and input latency, the air), quieter and coloured by the
room. `EchoCanceller` finds that delay by cross-correlation (GCC-PHAT, re-checked while the
companion speaks, since devices and rooms differ) and then subtracts the echo with a block
NLMS adaptive filter of a few hundred taps placed at that delay. What is left is what
the room added: a partner's voice. Pure numpy, no clock, no I/O: time comes in as data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float32]


@dataclass(frozen=True)
class PlayedAudio:
    """Recently played samples and the monotonic time the last of them is heard."""

    samples: NDArray[np.int16] | Floats
    rate: int
    end_time: float


def reference_window(played: PlayedAudio | None, start: float, count: int, rate: int) -> Floats:
    """What was playing from monotonic time `start`, as `count` samples at `rate` (0 if none)."""
    if played is None or len(played.samples) == 0 or count <= 0:
        return np.zeros(max(count, 0), dtype=np.float32)
    first = played.end_time - len(played.samples) / played.rate
    positions = (start - first + np.arange(count) / rate) * played.rate
    source = np.asarray(played.samples, dtype=np.float32)
    # Linear interpolation is plenty to resample speech between 16-48 kHz for this purpose.
    window = np.interp(positions, np.arange(len(source)), source, left=0.0, right=0.0)
    return window.astype(np.float32)


@dataclass(frozen=True)
class EchoSettings:
    """How the canceller searches and adapts; in seconds so any sample rate works."""

    max_delay_seconds: float = 0.5
    """Longest echo delay searched (output + input latency + the room)."""
    filter_seconds: float = 0.024
    """Adaptive filter length: the direct sound and early reflections (384 taps at 16 kHz)."""
    lead_seconds: float = 0.003
    """Taps before the estimated delay, so a slightly late estimate still cancels."""
    estimate_seconds: float = 1.0
    """How much recent audio the delay estimate correlates."""
    estimate_every_seconds: float = 0.5
    """How often the delay is re-checked while the companion is playing."""
    min_peak_ratio: float = 6.0
    """A correlation peak must stand this far above the rest to be believed."""
    memory_seconds: float = 3.0
    """How long the filter remembers what it learned (rooms and volumes change)."""
    solve_every_seconds: float = 0.1
    """How often the filter is re-solved from what it learned."""
    suppress_margin: float = 4.0
    """Residual up to this many times the expected leftover echo counts as echo."""
    min_gain: float = 0.05
    """How far leftover echo is turned down (about -26 dB)."""
    regularisation: float = 3e-2
    """Keeps the solution steady when the reference lacks some frequencies."""
    min_reference_rms: float = 30.0
    """Below this level (int16 units) nothing is playing and nothing is learned."""
    double_talk_correlation: float = 0.7
    """Adaptation pauses when the mic correlates less than this with the predicted echo:
    someone else is speaking, and learning from them would smear the filter."""


class EchoCanceller:
    """Subtracts the echo of a known reference from microphone blocks, block by block."""

    def __init__(self, rate: int, settings: EchoSettings | None = None) -> None:
        self.rate = rate
        self.settings = s = settings or EchoSettings()
        self.taps = max(8, round(s.filter_seconds * rate))
        self.lead = round(s.lead_seconds * rate)
        self.max_delay = round(s.max_delay_seconds * rate)
        self.window = round(s.estimate_seconds * rate)
        self.every = round(s.estimate_every_seconds * rate)
        self.delay: int | None = None
        """The echo delay found, in samples (None until one was found)."""
        self.weights = np.zeros(self.taps, dtype=np.float64)
        keep = self.max_delay + self.taps + self.window
        self._ref = np.zeros(keep, dtype=np.float64)
        self._mic = np.zeros(self.window, dtype=np.float64)
        self._auto = np.zeros(self.taps, dtype=np.float64)
        self._cross = np.zeros(self.taps, dtype=np.float64)
        self._pending = 0
        self._leak = 1.0
        self.solve_every = round(s.solve_every_seconds * rate)
        self._since_estimate = 0
        self._quiet = self.max_delay + self.taps + 1
        """Samples since the reference was last audible (its echo may still be arriving)."""

    def process(self, mic: Floats, reference: Floats) -> Floats:
        """The mic block with the echo of `reference` (same length, same times) removed."""
        n = len(mic)
        if n == 0:
            return mic.astype(np.float32)
        d = mic.astype(np.float64)
        ref = reference.astype(np.float64)
        keep = self.max_delay + self.taps + self.window + n
        self._ref = np.concatenate([self._ref, ref])[-keep:]
        self._mic = np.concatenate([self._mic, d])[-self.window :]
        loud = float(np.sqrt(np.mean(ref * ref))) >= self.settings.min_reference_rms
        self._quiet = 0 if loud else self._quiet + n
        echoing = self._quiet <= self.max_delay + self.taps
        if echoing:
            self._since_estimate += n
            if self._since_estimate >= self.every:
                self._since_estimate = 0
                self._estimate_delay()
        if self.delay is None or not echoing:
            return mic.astype(np.float32)
        return self._cancel(d).astype(np.float32)

    def _estimate_delay(self) -> None:
        """GCC-PHAT between the recent mic audio and the reference up to max_delay earlier."""
        w, m = self.window, self.max_delay
        mic = self._mic[-w:]
        ref = self._ref[-(w + m) :]
        if len(ref) < w + m or float(np.sqrt(np.mean(ref * ref))) < self.settings.min_reference_rms:
            return
        size = 1 << int(np.ceil(np.log2(2 * w + m)))
        cross = np.conj(np.fft.rfft(mic, size)) * np.fft.rfft(ref, size)
        # Whitening makes the peak sharp for speech, whatever the room's colouring.
        corr = np.fft.irfft(cross / (np.abs(cross) + 1e-9), size)[: m + 1]
        k = int(np.argmax(corr))
        rest = np.delete(corr, slice(max(0, k - 8), k + 9))
        spread = float(np.std(rest)) + 1e-12
        if float(corr[k]) / spread < self.settings.min_peak_ratio:
            return
        delay = m - k
        if self.delay is None or abs(delay - self.delay) > self.lead:
            if self.delay is not None:
                # Keep what was learned, moved to the new delay.
                self.weights = np.roll(self.weights, delay - self.delay)
            self.delay = delay

    def _cancel(self, d: NDArray[np.float64]) -> NDArray[np.float64]:
        """Subtract the predicted echo, then refine the filter from this block."""
        assert self.delay is not None
        n, taps = len(d), self.taps
        start = max(0, self.delay - self.lead)  # the filter covers lags start..start+taps-1
        end = len(self._ref) - start  # reference aligned with the block's last sample, +1
        if end - n - taps + 1 < 0:
            return d
        segment = self._ref[end - n - taps + 1 : end]
        # Row i of the implied matrix is segment[i : i + taps]; weights run oldest lag first.
        echo = np.convolve(segment, self.weights[::-1], mode="valid")
        residual = d - echo
        s = self.settings
        yy, dd = float(echo @ echo), float(d @ d)
        talking = yy > 1e-3 * dd and float(d @ echo) < s.double_talk_correlation * np.sqrt(yy * dd)
        if float(np.mean(segment * segment)) >= s.min_reference_rms**2 and not talking:
            # Exponentially weighted auto- and cross-correlations: a Wiener solution that
            # converges at once on speech, unlike NLMS whose speed suffers from its colour.
            auto = np.correlate(segment, segment[taps - 1 :], mode="valid")[::-1]
            cross = np.correlate(segment, d, mode="valid")
            forget = np.exp(-n / (s.memory_seconds * self.rate))
            self._auto = forget * self._auto + auto[:taps]
            self._cross = forget * self._cross + cross
            self._pending += n
            if self._pending >= self.solve_every:
                self._pending = 0
                self._solve()
            if yy > 0.0:
                # How much of the echo this filter leaves, learned while only it plays.
                leak = min(1.0, float(residual @ residual) / yy)
                # Quick to believe it got better, slow to believe worse: noise and a
                # partner's breath make single blocks look worse than the filter is.
                self._leak += (leak - self._leak) * 0.1
        return self._suppress(residual, yy)

    def _suppress(self, residual: NDArray[np.float64], echo_power: float) -> NDArray[np.float64]:
        """Quieten what is no louder than the echo this filter is known to leave behind.

        A partner's voice over the companion's is far louder than that leftover and passes
        at full strength; the leftover alone is pushed down to room-noise level.
        """
        expected = self.settings.suppress_margin * self._leak * echo_power
        power = float(residual @ residual)
        if power <= 0.0:
            return residual
        gain = min(1.0, max(self.settings.min_gain, 1.0 - expected / power))
        return residual * gain

    def _solve(self) -> None:
        lags = np.abs(np.arange(self.taps)[:, None] - np.arange(self.taps)[None, :])
        matrix = self._auto[lags]
        matrix[np.diag_indices(self.taps)] += self.settings.regularisation * self._auto[0] + 1e-6
        self.weights = np.linalg.solve(matrix, self._cross)


class EchoPath:
    """Aligns microphone blocks with what was played and cancels its echo; time is data.

    Block arrival times jitter, so the microphone's clock is followed as a steady count of
    samples, re-anchored only when it drifts far (a stall, a lost device).
    """

    def __init__(self, rate: int, settings: EchoSettings | None = None) -> None:
        self.canceller = EchoCanceller(rate, settings)
        self.rate = rate
        self._end: float | None = None

    def clean(self, mic: Floats, now: float, played: PlayedAudio | None) -> Floats:
        """`mic` (a block whose last sample was captured by `now`) minus the echo in it."""
        n = len(mic)
        if self._end is None or abs(now - (self._end + n / self.rate)) > 0.2:
            self._end = now
        else:
            self._end += n / self.rate
            self._end += (now - self._end) * 0.01
        reference = reference_window(played, self._end - n / self.rate, n, self.rate)
        return self.canceller.process(mic, reference)
