"""The sound device end of the voice: one output stream, and what it played.

PortAudio's callback thread only copies samples from the current clip; control code
swaps which clip is current. What was played is kept as the listener's echo reference.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from companion.audio.echo import PlayedAudio
from companion.audio.resample import resample_samples
from companion.audio.sound import SoundSystem, StreamClock
from companion.voice.cue_tones import SAMPLE_RATE, Samples

log = logging.getLogger(__name__)

BLOCK_FRAMES = 512
"""Frames per audio block (about 23 ms at 22,050 Hz): a stop is heard within one block."""

OUTPUT_LATENCY = 0.03
"""Seconds of sound the output device is asked to buffer ahead: what plays on after a stop.
PortAudio rounds it up to two blocks (46 ms). On the full-duplex rig a stop was silent after
75 / 86 ms (p50 / p95, device alone) against 99 / 116 ms at 60 ms (70 ms buffered), with
no underrun in 35-minute runs. The rig's whole-script test once seemed to hold on its own
voice only at 30 ms; it did at 60 ms too, and the cause was in the echo reference."""

HOLD_MAX_SECONDS = 2.0
"""A held voice plays on by itself after this long, whatever became of its release."""

SILENT_STREAM_SECONDS = 1.5
"""An output whose callback has not run for this long (once started) has stopped."""

PLAYED_SECONDS = 5.0
"""How much played audio is kept as the listener's echo reference."""


class PlayedRing:
    """The last played samples with the time the newest is heard; written by the audio callback.

    The callback never waits for a lock: a reader holding one could lose Python's lock to
    another thread meanwhile, and the callback would wait for both, past the device's
    buffer (an underrun). One writer appends, then publishes how far it wrote; a reader
    takes that mark first and copies what lies behind it, which the writer cannot reach
    again before the copy ends (`READ_MARGIN`).
    """

    READ_MARGIN = 0.5
    """Seconds of the ring a reader never asks for: room for the writer meanwhile."""

    def __init__(self, capacity: int, rate: int) -> None:
        self.rate = rate
        self._buffer = np.zeros(capacity, dtype=np.int16)
        self._mark: tuple[int, float, int] = (0, 0.0, 0)
        """Samples ever written, the time the newest is heard and how often the device ran
        dry, published together."""

    def write(self, block: Samples, start: float, gap: bool = False) -> None:
        """Append a block whose first sample is heard at monotonic time `start`; `gap`
        when the device reports it ran dry just before (the timeline moved)."""
        size = len(self._buffer)
        count = min(len(block), size)
        written, expected, gaps = self._mark
        # Callbacks arrive in bursts: follow a steady clock, re-anchoring only on a jump
        # (start, an underrun), so the reference has no jitter between blocks.
        if gap or abs(start - expected) > 0.1:
            expected = start
        else:
            expected += (start - expected) * 0.05
        at = written % size
        first = min(count, size - at)
        self._buffer[at : at + first] = block[len(block) - count : len(block) - count + first]
        self._buffer[: count - first] = block[len(block) - count + first :]
        self._mark = (written + count, expected + len(block) / self.rate, gaps + gap)

    def recent(self, count: int) -> PlayedAudio:
        """The newest `count` samples (fewer if not yet played), with the rate, the time the
        newest is heard, how many were ever written up to it and the device's gaps."""
        written, end, gaps = self._mark
        size = len(self._buffer)
        count = max(0, min(count, written, size - round(self.READ_MARGIN * self.rate)))
        at = (written - count) % size
        first = min(count, size - at)
        samples = np.concatenate([self._buffer[at : at + first], self._buffer[: count - first]])
        return PlayedAudio(samples, self.rate, end, written, gaps)


@dataclass(eq=False)
class Clip:
    """One sound being played: written by the audio callback (pos, done) and by control code."""

    samples: Samples
    text: str
    pos: int = 0
    done: bool = False


class Player:
    """One sounddevice OutputStream; its callback only copies from the current clip."""

    def __init__(self, sound: SoundSystem, on_failure: Callable[[], None]) -> None:
        self._sound = sound
        self._on_failure = on_failure
        self._clip: Clip | None = None
        self._closing = False
        self._last_end = 0.0
        self._latency = 0.0
        self._held_until = 0.0
        """Until this monotonic time the device gets silence and the clip keeps its place."""
        self._stream: Any = None
        self.rate = SAMPLE_RATE
        """The device's rate: the voice's own, or the device's when it refuses that one."""
        self._played = PlayedRing(round(PLAYED_SECONDS * SAMPLE_RATE), SAMPLE_RATE)
        self._clock = StreamClock()
        self._opened_at = 0.0
        self._last_callback = 0.0
        self.underruns = 0
        """Blocks the device asked for too late (heard as a click or gap)."""

    def open(self) -> None:
        """Open and start the output device; raises PortAudioError-like errors if none.

        A device that refuses the voice's rate (some offer only 44.1 or 48 kHz) is opened
        at its own, and every clip is converted to it as it starts."""
        try:
            self._open_at(SAMPLE_RATE)
        except Exception as refused:
            try:
                rate = self._sound.device_rate("output")
            except Exception:
                raise refused from None
            if rate == SAMPLE_RATE:
                raise
            log.warning(
                "the output refused %d Hz (%s); playing at its own %d Hz",
                SAMPLE_RATE,
                refused,
                rate,
            )
            self._open_at(rate)
        self._latency = float(self._stream.latency)
        self._opened_at = time.monotonic()

    def _open_at(self, rate: int) -> None:
        self._stream = self._sound.open_stream(
            "output",
            samplerate=rate,
            channels=1,
            dtype="int16",
            blocksize=round(BLOCK_FRAMES * rate / SAMPLE_RATE),
            # Pause must be heard to stop at once, so the buffer is shallow. 46 ms underran
            # several times a minute under load while the callback still waited on locks
            # (PulseAudio); since it takes none, none in 35-minute rig runs.
            latency=OUTPUT_LATENCY,
            callback=self._callback,
            finished_callback=self._finished,
        )
        self.rate = rate
        self._played = PlayedRing(round(PLAYED_SECONDS * rate), rate)

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
            self._last_end = heard_at + count / self.rate

    def _finished(self) -> None:
        if not self._closing:
            log.warning("the sound output stream ended unexpectedly")
            self.stop()  # nothing is audible any more; say so to playing_text()
            self._on_failure()

    def play(self, clip: Clip) -> None:
        """Make `clip` (at the voice's rate) the sound heard from the next block on,
        stopping what plays."""
        self.stop()
        clip.samples = resample_samples(clip.samples, SAMPLE_RATE, self.rate)
        self._clip = clip

    def extend(self, clip: Clip, samples: Samples) -> None:
        """Add `samples` (at the voice's rate) to the end of `clip`, even while it plays:
        the callback picks up the longer array on its next block."""
        clip.samples = np.concatenate(
            [clip.samples, resample_samples(samples, SAMPLE_RATE, self.rate)]
        )

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

    def current(self) -> Clip | None:
        """The clip still being played, if any."""
        clip = self._clip
        return clip if clip is not None and not clip.done else None

    def last_end(self) -> float:
        """Monotonic time when the last sound ended (or will end); 0.0 if none yet."""
        clip = self.current()
        if clip is not None:
            now = time.monotonic()
            left = (len(clip.samples) - clip.pos) / self.rate + max(0.0, self._held_until - now)
            return now + left + self._latency
        return self._last_end

    def recent_output(self, seconds: float) -> PlayedAudio:
        """The last `seconds` of what was played, its rate, when its last sample is heard,
        the count of samples ever played up to it and how often the device ran dry."""
        return self._played.recent(round(seconds * self.rate))

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
