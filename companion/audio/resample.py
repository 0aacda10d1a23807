"""Sample-rate conversion for s16le mono, by soxr: one streaming resampler, one for whole files.

soxr keeps its filter state across blocks, so a stream cut into blocks comes out exactly
as it would whole (resampling each block on its own bends time and dips the level at every
block edge). It works in float32 and this module rounds: soxr's own int16 output is dithered,
so two runs would differ. Output sample n stands for input time n / rate_out; soxr holds
its filter's delay back until more input comes or `flush()` (fed 50 ms blocks: at most
about 20 ms of a 44.1 or 48 kHz microphone at the streaming quality), and `held_seconds`
says how much, so a capture time can be moved back to the last sample handed out.
"""

from __future__ import annotations

import numpy as np
import soxr
from numpy.typing import NDArray

QUALITY = "VHQ"
"""For whole files, where nothing waits: soxr's best."""
STREAM_QUALITY = "LQ"
"""For a live microphone, where what soxr holds back delays every decision: "LQ" holds
about 13 ms on average (19 ms at most, fed 50 ms blocks at 48 kHz) against VHQ's 44 ms
(75 ms), and its 16-bit quality is far beyond what a recogniser at 16 kHz can use."""


def _s16(samples: NDArray[np.float32]) -> bytes:
    return bytes(np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes())


class Resampler:
    """Streaming resampler for s16le mono blocks, `rate_in` -> `rate_out`."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        if rate_in <= 0 or rate_out <= 0:
            raise ValueError(f"sample rates must be positive, got {rate_in} -> {rate_out}")
        self.rate_in = rate_in
        self.rate_out = rate_out
        self.reset()

    @property
    def held_seconds(self) -> float:
        """Input taken in but not yet handed out, in seconds (soxr's filter delay)."""
        return self._frames_in / self.rate_in - self._frames_out / self.rate_out

    def reset(self) -> None:
        """Start a new stream (the input before it counts as silence)."""
        self._frames_in = self._frames_out = 0
        self._stream = (
            soxr.ResampleStream(
                self.rate_in, self.rate_out, 1, dtype="float32", quality=STREAM_QUALITY
            )
            if self.rate_in != self.rate_out
            else None
        )

    def process(self, chunk: bytes) -> bytes:
        """Resample the next block; returns the output samples ready so far."""
        if self._stream is None:
            return chunk
        samples = np.frombuffer(chunk, dtype="<i2").astype(np.float32)
        out = self._stream.resample_chunk(samples)
        self._frames_in += len(samples)
        self._frames_out += len(out)
        return _s16(out)

    def flush(self) -> bytes:
        """The output samples still owed for the input so far (the stream ends here)."""
        if self._stream is None:
            return b""
        out = self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        self._frames_out += len(out)
        return _s16(out)


def resample_samples(samples: NDArray[np.int16], rate_in: int, rate_out: int) -> NDArray[np.int16]:
    """A whole signal (int16) at another rate."""
    if rate_in == rate_out or len(samples) == 0:
        return samples
    out: NDArray[np.float32] = soxr.resample(
        samples.astype(np.float32), rate_in, rate_out, quality=QUALITY
    )
    return np.clip(np.rint(out), -32768, 32767).astype(np.int16)
