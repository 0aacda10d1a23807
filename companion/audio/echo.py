"""Echo reference: what the companion played, lined up with what the microphone hears.

The companion knows every sample it plays and when (`PlayedAudio`). `EchoPath` follows
the microphone's clock, reads the played audio at the microphone's rate and time
(`SincReader`, band-limited), and hands both to the `EchoCanceller` (`echo_cancel`).
Pure numpy, no clock, no I/O: time comes in as data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from companion.audio.echo_cancel import EchoCanceller, EchoSettings, Floats, find_in


@dataclass(frozen=True)
class PlayedAudio:
    """Recently played samples and the monotonic time the last of them is heard."""

    samples: NDArray[np.int16] | Floats
    rate: int
    end_time: float
    written: int | None = None
    """How many samples were ever played up to the last of `samples` (None if unknown):
    it lets a reader follow the played stream sample by sample."""
    gaps: int = 0
    """How many times the device has run dry so far: after each, what was played next is
    heard later than before, so the echo moved."""


JUMP_SECONDS = 0.1
"""The played stream moved when the device times stray this far from the count."""
PLAYED_MARGIN_SECONDS = 0.1
"""A reference is placed at least this far behind the newest sample played: the output
runs in bursts (of up to 70 ms through PulseAudio), and the newest sample must not be
overtaken at a later block (each time it is, the reference is placed afresh and the room
learned again; at 50 ms that happened 10 s into a script on the rig). With less latency
than that from the output to the microphone, the echo comes before its reference, where
the canceller does not look: the search after `LOST_SECONDS` finds it there."""

TIMES_EARLY_SECONDS = 0.35
"""A reference placed by the device times is placed this much later in the played stream
(within `PLAYED_MARGIN_SECONDS` of the newest sample at most): on the rig, through
PulseAudio, those times put the echo anywhere from 0.31 s before its reference to 0.08 s
after it, fixed for a whole run. An echo before its reference is out of the canceller's
reach, and its first line's own voice passed for another's (the voice was held); one
after it only costs delay search."""

LOST_SECONDS = 3.0
"""Seconds of the companion's voice after which a canceller that has not learned the room
has the echo looked for in all that was played: device times can be off by more than its
delay search reaches, either way (one rig run never found the room, its estimates
wandering from 6 to 1,000 ms)."""
SEARCH_SECONDS = 1.5
"""How much of the microphone's recent audio is looked for in what was played."""
SEARCH_REACH_SECONDS = 4.5
"""How much played audio such a search needs (the player keeps 5 s)."""
SEARCH_PEAK_RATIO = 9.0
"""A peak found that way must stand this far above the rest (over many more lags than the
canceller's own search, so higher than its ratio)."""
SETTLE_SECONDS = 0.05
"""The reference is then placed this far ahead of the echo found: a small, sure delay."""

REFERENCE_BAND = 0.96
"""The reference keeps this fraction of the microphone's band; above it the reference is
empty, so the canceller cannot predict the echo there and the suppressor handles it."""


def reference_window(
    played: PlayedAudio | None,
    start: float,
    count: int,
    rate: int,
    reader: SincReader | None = None,
) -> Floats:
    """What was playing from monotonic time `start`, as `count` samples at `rate` (0 if none).

    `reader` reads the played audio band-limited; one kept across calls saves building its
    table each time (it must fit `rate` and `played.rate`).
    """
    if played is None or len(played.samples) == 0 or count <= 0:
        return np.zeros(max(count, 0), dtype=np.float32)
    first = played.end_time - len(played.samples) / played.rate
    return reference_from(played, (start - first) * played.rate, count, rate, reader)


def reference_from(
    played: PlayedAudio,
    position: float,
    count: int,
    rate: int,
    reader: SincReader | None = None,
) -> Floats:
    """`count` samples at `rate` of `played`, from `position` (in its samples, 0 = its
    first); outside what it holds counts as silence."""
    if len(played.samples) == 0 or count <= 0:
        return np.zeros(max(count, 0), dtype=np.float32)
    reader = reader or SincReader(min(1.0, rate / played.rate))
    positions = np.asarray(position + np.arange(count) * (played.rate / rate), dtype=np.float64)
    # Only the stretch the window needs; silence (nothing playing) needs no reading at all.
    lo = max(0, int(np.floor(positions[0])) - reader.half + 1)
    hi = max(lo, min(len(played.samples), int(np.floor(positions[-1])) + reader.half + 1))
    stretch = np.asarray(played.samples[lo:hi], dtype=np.float64)
    if not np.any(stretch):
        return np.zeros(count, dtype=np.float32)
    return reader.read(stretch, positions - lo).astype(np.float32)


class SincReader:
    """Reads a signal at fractional positions, low-passed to `ratio` of its Nyquist band.

    A Kaiser-windowed sinc around each position, its weights tabulated at 1/PHASES of a
    sample (error about -55 dB at 6 kHz), so a read is a lookup and a dot product per
    output sample. Linear interpolation would fold the voice's upper band (espeak renders
    at 22.05 kHz) into the microphone's, where no filter can predict it, and would blur
    what it keeps differently from one sample to the next. Not soxr (`companion.audio.resample`):
    each window starts at a fractional position set by the device clocks, not where the
    last one ended, and soxr resamples only continuous streams.
    """

    PHASES = 512

    def __init__(self, ratio: float, zeros: int = 10) -> None:
        cutoff = 0.5 * ratio * REFERENCE_BAND  # as a fraction of the source rate
        self.half = half = math.ceil(zeros / (2 * cutoff))
        """Input samples used on each side of a position."""
        fraction = np.arange(self.PHASES + 1)[:, None] / self.PHASES
        offsets = fraction + half - 1 - np.arange(2 * half)[None, :]
        shape = np.i0(8.0 * np.sqrt(np.clip(1.0 - (offsets / half) ** 2, 0.0, 1.0))) / np.i0(8.0)
        self._table = 2 * cutoff * np.sinc(2 * cutoff * offsets) * shape

    def read(
        self, source: NDArray[np.float64], positions: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """`source` at `positions` (in its samples); outside it counts as silence."""
        base = np.floor(positions).astype(np.int64)
        phase = np.rint((positions - base) * self.PHASES).astype(np.int64)
        index = base[:, None] - self.half + 1 + np.arange(2 * self.half)[None, :]
        inside = (index >= 0) & (index < len(source))
        taken = np.where(inside, source[np.clip(index, 0, max(len(source) - 1, 0))], 0.0)
        out: NDArray[np.float64] = np.einsum("ij,ij->i", taken, self._table[phase])
        return out


class EchoPath:
    """Aligns microphone blocks with what was played and cancels its echo; time is data.

    Block arrival times jitter, so the microphone's clock is followed as a steady count of
    samples, re-anchored only when it drifts far (a stall, a lost device).
    """

    def __init__(self, rate: int, settings: EchoSettings | None = None) -> None:
        self.canceller = EchoCanceller(rate, settings)
        self.rate = rate
        self._end: float | None = None
        self._readers: dict[int, SincReader] = {}
        """One band-limited reader per rate the companion plays at (in practice one)."""
        self._position: float | None = None
        """Where in the played stream (samples ever played) the next mic sample lines up."""
        self._bias = 0.0
        """How far (in played samples) the device times put the mic later than that."""
        self._written = 0
        """How many samples had been played at the last block."""
        self.anchors = 0
        """How often the reference was placed afresh in the played stream."""
        self._gaps = 0
        """The device's gaps seen so far (`PlayedAudio.gaps`)."""
        self._heard = np.zeros(0, dtype=np.float32)
        """The microphone's last `SEARCH_SECONDS`, for a search (`lost`)."""
        self._unlearned = 0
        """Samples of the companion's voice since the canceller last trusted its filter."""
        self.searches = 0
        """How often the echo was looked for in all that was played, and found."""

    @property
    def lost(self) -> bool:
        """Whether the canceller has heard the companion's voice for `LOST_SECONDS` without
        learning the room: the next block looks for the echo in all that was played, so it
        should come with `SEARCH_REACH_SECONDS` of it."""
        return self._unlearned >= LOST_SECONDS * self.rate

    def describe(self) -> str:
        """Where the reference is placed, for the debug log."""
        return (
            f"{self.anchors} placements ({self.searches} by search), "
            f"device times {self._bias:+.0f} played samples off"
        )

    def clean(self, mic: Floats, now: float, played: PlayedAudio | None) -> Floats:
        """`mic` (a block whose last sample was captured by `now`) minus the echo in it."""
        n = len(mic)
        if self._end is None or abs(now - (self._end + n / self.rate)) > 0.2:
            self._end = now
            self._heard = self._heard[:0]  # what came before is not continuous with this
        else:
            self._end += n / self.rate
            self._end += (now - self._end) * 0.01
        reader = None
        if played is not None:
            reader = self._readers.get(played.rate)
            if reader is None:
                reader = SincReader(min(1.0, self.rate / played.rate))
                self._readers[played.rate] = reader
        start = self._end - n / self.rate
        if played is not None and played.gaps != self._gaps:
            # The device ran dry: the echo now comes later by an unknown amount, and a
            # filter that fitted before would leave the companion's own voice behind,
            # which would pass for another voice (its echo once said "end it" that way).
            self._gaps = played.gaps
            self.canceller.distrust()
        if played is None or played.written is None:
            reference = reference_window(played, start, n, self.rate, reader)
            return self._process(mic, reference)
        # Follow the played stream sample by sample: the times a device reports jitter by
        # milliseconds from block to block (tens through a sound server), and reading the
        # reference afresh at each block's time broke it into pieces no filter could learn.
        first = played.written - len(played.samples)
        by_time = first + (start - (played.end_time - len(played.samples) / played.rate)) * (
            played.rate
        )
        needed = n * played.rate / self.rate
        jumped = self._position is not None and (
            abs(by_time - self._bias - self._position) > JUMP_SECONDS * played.rate
        )
        if self.lost and self._search(played, by_time, needed, reader):
            jumped = False  # placed where the echo is, whatever the times say
        # Past the newest sample while the output plays on: the times put the mic ahead.
        # (While the output stalls, nothing more was played: the reference is silence.)
        ahead = self._position is not None and self._position + needed > played.written
        ahead = ahead and played.written != self._written
        self._written = played.written
        if self._position is None or jumped or ahead:
            if self._position is not None:
                self.canceller.distrust()
            # The start, a real jump (an underrun, a new device), or times that put the
            # microphone ahead of what was played. Placed later than the times say, so
            # an echo they put early is still after its reference; but never past the
            # newest sample: the mic can only hear what was played, and a reference read
            # past it is silence in pieces that no filter can learn. The canceller finds
            # the delay beyond it. Later times are judged against this bias.
            self._position = min(
                by_time + TIMES_EARLY_SECONDS * played.rate,
                played.written - needed - PLAYED_MARGIN_SECONDS * played.rate,
            )
            self._bias = by_time - self._position
            self.anchors += 1
        reference = reference_from(played, self._position - first, n, self.rate, reader)
        self._position += needed
        return self._process(mic, reference)

    def _process(self, mic: Floats, reference: Floats) -> Floats:
        """The canceller's work on one block, and what a search would need kept."""
        self._heard = np.concatenate([self._heard, mic])[-round(SEARCH_SECONDS * self.rate) :]
        settings = self.canceller.settings
        if self.canceller.leak < settings.trusted_leak:
            self._unlearned = 0
        elif float(np.sqrt(np.mean(np.square(reference, dtype=np.float64)))) >= (
            settings.min_reference_rms
        ):
            self._unlearned += len(mic)
        return self.canceller.process(mic, reference)

    def _search(
        self, played: PlayedAudio, by_time: float, needed: float, reader: SincReader | None
    ) -> bool:
        """Look for the microphone's recent audio in all that was played, and if it is
        found, place the reference just ahead of it; whether it was placed."""
        assert played.written is not None
        if len(played.samples) < SEARCH_REACH_SECONDS * played.rate * 0.9:
            return False  # asked for more; it comes with the next block
        self._unlearned = 0
        span = int(len(played.samples) * self.rate / played.rate)
        playing = reference_from(played, 0, span, self.rate, reader)
        found = find_in(self._heard, playing, SEARCH_PEAK_RATIO)
        if found is None:
            return False
        first = played.written - len(played.samples)
        heard = first + (found + len(self._heard)) * played.rate / self.rate
        newest = played.written - needed - PLAYED_MARGIN_SECONDS * played.rate
        self._position = max(heard, min(heard + SETTLE_SECONDS * played.rate, newest))
        self._bias = by_time - self._position
        self.anchors += 1
        self.searches += 1
        self.canceller.distrust(lost=True)
        return True
