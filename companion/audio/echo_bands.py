"""The echo canceller's last stage: what its filter leaves of the echo, turned down band by
band while a partner's voice passes. Pure numpy, no clock, no I/O."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


class BandSuppressor:
    """Turns down what is left of the echo band by band, and lets the rest through.

    What the filter leaves is about `leak` times the predicted echo in each band. Where the
    residual is no louder than a few times that, it is echo and is turned down; where a
    partner speaks, their voice fills bands the echo does not and passes at full strength.
    Short overlapping frames (square-root Hann, half overlap) rebuild the signal exactly
    when every gain is 1; the output lags the input by one frame.
    """

    LEARN_RATE = 0.05
    """How fast each band's leak follows what it measures (per frame)."""
    SINGLE_TALK = 0.5
    """Leak is learned only in frames whose residual is below this share of the echo."""
    MIN_ECHO_RMS = 30.0
    """Below this predicted echo level (int16 units) a frame teaches nothing."""

    def __init__(self, frame: int, margin: float, min_gain: float) -> None:
        self.frame = frame = max(16, frame + frame % 2)
        self.hop = frame // 2
        self.margin = margin
        self.min_gain = min_gain
        self.window = np.sqrt(np.hanning(frame + 1)[:frame])
        self._residual = np.zeros(self.hop)
        self._echo = np.zeros(self.hop)
        self._overlap = np.zeros(frame)
        self._ready = np.zeros(self.hop)
        self.leak = np.ones(frame // 2 + 1)
        """Per band: the residual's power over the predicted echo's, while only echo plays."""
        self._left = np.zeros(frame // 2 + 1)
        self._predicted = np.zeros(frame // 2 + 1)

    def process(
        self, residual: NDArray[np.float64], echo: NDArray[np.float64], hold: bool = False
    ) -> NDArray[np.float64]:
        """The next `len(residual)` samples of output (delayed by one frame).

        `hold`: someone may be talking over the echo, so nothing is turned down; any
        suppression distorts their words more than the leftover echo confuses a
        recogniser (measured: even a quarter of the margin lost every interruption).
        """
        self._residual = np.concatenate([self._residual, residual])
        self._echo = np.concatenate([self._echo, echo])
        done = [self._ready]
        frame, hop, w = self.frame, self.hop, self.window
        while len(self._residual) >= frame:
            r = np.fft.rfft(self._residual[:frame] * w)
            e = np.fft.rfft(self._echo[:frame] * w)
            r_power, e_power = np.abs(r) ** 2 + 1e-9, np.abs(e) ** 2
            e_total, r_total = float(e_power.sum()), float(r_power.sum())
            learn = e_total > self.MIN_ECHO_RMS**2 * frame and r_total < self.SINGLE_TALK * e_total
            if learn:
                # Learned only while the echo clearly dominates: a partner's voice would
                # make bands look worse than the filter is, and raise the bar against them.
                # Powers are averaged apart, then divided: a mean of per-frame ratios
                # would be ruled by frames where the predicted echo is nearly nothing.
                self._left += (r_power - self._left) * self.LEARN_RATE
                self._predicted += (e_power - self._predicted) * self.LEARN_RATE
                self.leak = np.clip(self._left / (self._predicted + 1e-9), 1e-4, 100.0)
            if not hold:
                r = r * np.clip(
                    1.0 - self.margin * self.leak * e_power / r_power, self.min_gain, 1.0
                )
            self._overlap += np.fft.irfft(r, frame) * w
            done.append(self._overlap[:hop].copy())
            self._overlap = np.concatenate([self._overlap[hop:], np.zeros(hop)])
            self._residual = self._residual[hop:]
            self._echo = self._echo[hop:]
        ready = np.concatenate(done)
        self._ready = ready[len(residual) :]
        return ready[: len(residual)]
