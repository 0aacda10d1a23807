"""Echo cancelling: the companion's own voice out of the microphone signal.

The microphone hears what the companion plays back later (output and input latency, the
air), quieter and coloured by the room. `EchoCanceller` finds that delay by
cross-correlation (GCC-PHAT, re-checked while the companion speaks, since devices and
rooms differ), subtracts the echo with a 256 ms Wiener filter placed at that delay, and
turns down what is left band by band (`echo_bands.BandSuppressor`). What remains is what
the room added: a partner's voice. It also says, block by block, whether it hears a voice besides
the companion's. Pure numpy, no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from companion.audio.echo_bands import BandSuppressor

Floats = NDArray[np.float32]


@dataclass(frozen=True)
class EchoSettings:
    """How the canceller searches and adapts; in seconds so any sample rate works."""

    max_delay_seconds: float = 1.0
    """Longest echo delay searched (output + input latency + the room). A sound server
    adds hundreds of ms that the device's own times do not show (PulseAudio here: 0.1 to
    0.55 s from the time PortAudio reported to the sound reaching the sink)."""
    filter_seconds: float = 0.256
    """Adaptive filter length: the direct sound and the reflections that follow it (4096
    taps at 16 kHz). In a living room ringing for 0.7 s (the full-duplex rig) the filter
    left 0.43 of the echo's power at 64 ms, 0.084 at 128 ms, 0.014 at 256 ms, 0.002 at
    384 ms; 256 ms costs 1.6 ms a block, no more than 128 ms."""
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
    """How often the filter is re-solved from what it learned (from the last 4 filter
    lengths of audio each time)."""
    suppress_margin: float = 4.0
    """In each band, residual up to this many times the expected leftover echo is echo."""
    min_gain: float = 0.05
    """How far leftover echo is turned down (about -26 dB)."""
    regularisation: float = 1e-3
    """Keeps the solution steady when the reference lacks some frequencies."""
    min_reference_rms: float = 30.0
    """Below this level (int16 units) nothing is playing and nothing is learned."""
    min_leak: float = 0.01
    """What is left is never expected below this share of the echo's power (-20 dB): a
    long filter can measure less over a moment, and the next syllable of the companion's
    voice then left 30 times as much (it passed for another voice)."""
    trusted_leak: float = 0.3
    """A filter that leaves less than this share of the echo's power has learned the room."""
    trust_after_seconds: float = 1.0
    """How much of the echo, loud over the room's noise, a filter must have been measured
    on since it was last distrusted before its leak counts: a few blocks can come from a
    filter half re-learned after the echo moved (on the rig its own voice passed for
    another's in 11 blocks, 0.9 s after a jump)."""
    reverb_seconds: float = 0.8
    """A long room reverberation time (RT60): after the companion's voice falls, what is
    left may linger this long (a little longer than most living rooms)."""
    noise_margin: float = 4.0
    """What is left is expected to hold the room's noise too, up to this many times its
    power (a quiet moment of the echo says little about the filter)."""
    double_talk_margin: float = 8.0
    """Residual this many times what the filter usually leaves may be someone else: the
    filter stops learning (erring towards pausing, which costs little)."""
    other_voice_margin: float = 30.0
    """Residual this many times what the filter usually leaves is someone else's voice
    (erring towards "no": the companion's own voice must not count as someone else)."""
    check_seconds: float = 0.4
    """For this long after double talk begins, each block checks whether the echo moved
    instead (a sound server can shift the played stream without a word): the audio since
    it began is correlated with what was played, and if the filter placed where the echo
    is found would leave far less, the "voice" was the companion's own."""
    double_talk_hold_seconds: float = 0.25
    """Learning stays paused this long after double talk was last seen."""
    max_double_talk_seconds: float = 1.5
    """Longer "double talk" is taken for a changed room, and learning resumes."""
    band_seconds: float = 0.016
    """Frame of the per-band suppressor (256 samples at 16 kHz; half of it is latency)."""


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
        self._candidate: int | None = None
        """A different delay seen once, waiting for a second estimate to confirm it."""
        self.weights = np.zeros(self.taps, dtype=np.float64)
        self._frame = 1 << int(np.ceil(np.log2(4 * self.taps)))
        """Audio the filter is re-solved from: several filter lengths, a power of two."""
        self._history = max(self.window, self._frame)
        self._ref = np.zeros(self.max_delay + self.taps + self._history, dtype=np.float64)
        self._mic = np.zeros(self._history, dtype=np.float64)
        self._hann = np.hanning(self._frame)
        self._power = np.zeros(self._frame // 2 + 1)
        self._cross = np.zeros(self._frame // 2 + 1, dtype=np.complex128)
        """Exponentially weighted spectra of the reference, and of it against the mic."""
        self._pending = 0
        self._leak = 1.0
        """How much of the echo's power the filter leaves, while only the echo plays."""
        self._left = self._predicted = 0.0
        self._measured = 0
        """Samples the leak was measured on since the filter was last distrusted."""
        self._talking = 0
        """Samples of double talk in a row."""
        self._episode = self._never = 60 * rate
        """Samples since double talk last began after a quiet (an episode)."""
        self.moves = 0
        """How often double talk turned out to be the echo moving (see `check_seconds`):
        what the canceller took for another voice just before each was its own."""
        self._since_talk = self.rate
        """Samples since double talk was last seen."""
        self._echo_envelope = 0.0
        """The predicted echo's power, held up as a room's reverberation would hold it."""
        self._noise_power = s.min_reference_rms**2
        """The room's noise power per sample, learned while nothing plays."""
        self.other_voice = True
        """Whether the last block held a voice that is not the companion's (while nothing
        is playing: any sound is someone else's)."""
        self.solve_every = round(s.solve_every_seconds * rate)
        self._since_estimate = 0
        self._quiet = self._echo_span() + 1
        """Samples since the reference was last audible (its echo may still be arriving)."""
        self.echo_rms = 0.0
        """How loud the echo predicted in the last block was (0: none)."""
        self.echoing = False
        """Whether the companion's echo may still reach the microphone in the last block:
        it plays, or fell quiet less than the delay, the filter and the room's ringing ago
        (after the predicted echo ends, a reverberant room's tail goes on)."""
        self.double_talk = False
        """Whether someone may be speaking over the echo now (or did a moment ago)."""
        self._bands = BandSuppressor(round(s.band_seconds * rate), s.suppress_margin, s.min_gain)
        self.latency = self._bands.frame
        """Samples by which the output lags the microphone (the band stage's frame)."""

    def process(self, mic: Floats, reference: Floats) -> Floats:
        """The mic block with the echo of `reference` (same length, same times) removed."""
        n = len(mic)
        if n == 0:
            return mic.astype(np.float32)
        d = mic.astype(np.float64)
        ref = reference.astype(np.float64)
        keep = self.max_delay + self.taps + self._history + n
        self._ref = np.concatenate([self._ref, ref])[-keep:]
        self._mic = np.concatenate([self._mic, d])[-self._history :]
        loud = float(np.sqrt(np.mean(ref * ref))) >= self.settings.min_reference_rms
        self._quiet = 0 if loud else self._quiet + n
        self.echoing = echoing = self._quiet <= self._echo_span()
        if echoing:
            self._since_estimate += n
            if self._since_estimate >= self.every:
                self._since_estimate = 0
                self._estimate_delay()
        if not echoing:
            residual, echo = d, np.zeros(n)
            # The room's own noise, from blocks where nothing of the companion's can be.
            power = float(d @ d) / n
            rise = (power - self._noise_power) * n / (3.0 * self.rate)
            self._noise_power = power if power < self._noise_power else self._noise_power + rise
            self.other_voice = True  # nothing of the companion's can be in this block
            self._episode = self._never
        elif self.delay is None:
            residual, echo = d, np.zeros(n)
            self.other_voice = False  # the echo is not found yet: nothing can be told apart
        else:
            residual, echo = self._cancel(d)
        self.echo_rms = float(np.sqrt(np.mean(echo * echo)))
        if echoing and not self.other_voice and self._leak >= self.settings.trusted_leak:
            # Until the filter has learned the room, nothing can be told apart: what comes
            # through is the companion's own voice, turned down like any leftover echo.
            residual = residual * self.settings.min_gain
        # While someone may be talking over the echo, their voice matters more than what
        # is left of it; that leftover alone cannot command (see `other_voice`).
        self.double_talk = echoing and self._talked_lately()
        # Always through the band stage, so its short delay never jumps when playing starts.
        return self._bands.process(residual, echo, hold=self.double_talk).astype(np.float32)

    def _echo_span(self) -> int:
        """Samples the echo goes on arriving after the companion falls quiet: the delay,
        the filter's length and the room's ringing; until then no sound is surely another's."""
        delay = self.max_delay if self.delay is None else self.delay
        return delay + self.taps + round(self.settings.reverb_seconds * self.rate)

    def describe(self) -> str:
        """Its state in a few words, for the debug log."""
        return f"delay {self.delay} samples, leak {self._leak:.3f}, echo rms {self.echo_rms:.0f}"

    @property
    def leak(self) -> float:
        """The share of the echo's power the filter leaves (1.0 until it has learned)."""
        return self._leak

    def _talked_lately(self) -> bool:
        """Double talk now, or within the hold time (words fade in and out)."""
        return self._since_talk < self.settings.double_talk_hold_seconds * self.rate

    @property
    def checking(self) -> bool:
        """Whether double talk began too recently to be sure it is not the echo having
        moved (too little audio since to find where the echo is now)."""
        return self._episode <= self.settings.check_seconds * self.rate

    def _find_delay(self, window: int) -> int | None:
        """The echo delay in the last `window` samples: where the mic audio lies in the
        reference up to max_delay earlier (None without a clear peak)."""
        w, m = window, self.max_delay
        ref = self._ref[-(w + m) :]
        if len(ref) < w + m or float(np.sqrt(np.mean(ref * ref))) < self.settings.min_reference_rms:
            return None
        found = find_in(self._mic[-w:], ref, self.settings.min_peak_ratio)
        return None if found is None else m - found

    def _estimate_delay(self) -> None:
        """Re-check the echo delay on the last `estimate_seconds`; a move needs two agreeing."""
        delay = self._find_delay(self.window)
        if delay is None:
            return
        if self.delay is not None and abs(delay - self.delay) <= self.lead:
            self._candidate = None
            return
        if self.delay is not None and (
            self._candidate is None or abs(delay - self._candidate) > self.lead
        ):
            # Speech repeats itself (pitch periods, syllables), so one estimate can land on
            # a false peak: a move is believed only when the next estimate agrees.
            self._candidate = delay
            return
        self._candidate = None
        # What was learned stays as it is, relative to the delay: two estimates agreeing
        # on a new one means the whole echo moved (an underrun or a device shifted the
        # played stream), the room with it, so the filter fits again at once.
        self.delay = delay
        self.distrust()

    def distrust(self, lost: bool = False) -> None:
        """The echo path changed (a new delay, a jump in the played stream): until the
        filter shows again how little it leaves, nothing over the echo is another voice.
        `lost`: the reference was placed afresh; all is learned anew from what follows."""
        if lost:
            self.delay = self._candidate = None
            self.weights[:], self._power[:], self._cross[:] = 0.0, 0.0, 0.0
            self._since_estimate = self.every - self.window  # a whole window placed anew
        self._leak = 1.0
        self._left = self._predicted = 0.0
        self._measured = 0

    def _cancel(self, d: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The block minus its predicted echo, and that prediction; refines the filter."""
        assert self.delay is not None
        n = len(d)
        start = max(0, self.delay - self.lead)  # the filter covers lags start..start+taps-1
        echo = self._predict(start, n)
        if echo is None:
            return d, np.zeros(n)
        residual = d - echo
        s = self.settings
        echo_power, residual_power = float(echo @ echo), float(residual @ residual)
        # Someone else is talking when far more is left than this filter usually leaves
        # (only a filter that has learned the room can tell). The room rings on after the
        # filter's length: as the companion's voice falls, what is left falls no faster
        # than a room decays (assumed -60 dB in reverb_seconds).
        fall = 10.0 ** (-6.0 * n / (s.reverb_seconds * self.rate))
        self._echo_envelope = max(echo_power, self._echo_envelope * fall)
        leak = max(self._leak, s.min_leak)
        expected = leak * self._echo_envelope + s.noise_margin * self._noise_power * n
        excess = residual_power / (expected + 1e-9)
        trusted = self._leak < s.trusted_leak
        heard = trusted and excess > s.double_talk_margin
        if heard and not self._talked_lately() and self._talking == 0:
            self._episode = 0
        self._episode += n
        if heard and self.checking and self._echo_moved(start):
            self.moves += 1
            self.other_voice = False
            return residual, echo
        self.other_voice = trusted and excess > s.other_voice_margin
        segment = self._ref[len(self._ref) - start - n - self.taps + 1 : len(self._ref) - start]
        if float(np.mean(segment * segment)) < s.min_reference_rms**2:
            return residual, echo
        # Learning from another voice would blur the filter; but a room that changed looks
        # the same, so a long "double talk" is believed to be a change and learning resumes.
        self._talking = self._talking + n if heard else 0
        self._since_talk = 0 if heard else self._since_talk + n
        if self._talking > s.max_double_talk_seconds * self.rate:
            self._since_talk = self.rate  # believed a changed room: learn again at once
        if self._talked_lately():
            return residual, echo
        if echo_power > 10.0 * self._noise_power * n:
            # Powers averaged apart, then divided; only where the echo stands well above
            # the room's noise (as a syllable fades, the noise alone would look like leak).
            self._left += (residual_power - self._left) * 0.1
            self._predicted += (echo_power - self._predicted) * 0.1
            self._measured += n
            if self._measured >= s.trust_after_seconds * self.rate:
                self._leak = min(1.0, self._left / self._predicted)
        if self._candidate is not None:
            # The echo may have moved (an underrun shifts the played stream): what it hears
            # now would blur what was learned, which fits again once moved to the new delay.
            return residual, echo
        self._pending += n
        if self._pending >= self.solve_every:
            self._pending = 0
            self._solve(start)
        return residual, echo

    def _predict(self, start: int, count: int) -> NDArray[np.float64] | None:
        """The echo the filter, placed at lag `start`, predicts in the last `count` mic
        samples (None while too little reference is kept)."""
        taps = self.taps
        end = len(self._ref) - start  # reference aligned with the last mic sample, +1
        if end - count - taps + 1 < 0:
            return None
        segment = self._ref[end - count - taps + 1 : end]
        # Sample i lines up with segment[i + taps - 1]; weights run oldest lag first.
        # The correlation goes through the FFT: a long filter stays cheap.
        size = 1 << int(np.ceil(np.log2(len(segment))))
        spectrum = np.fft.rfft(segment, size) * np.conj(np.fft.rfft(self.weights, size))
        predicted: NDArray[np.float64] = np.fft.irfft(spectrum, size)[:count]
        return predicted

    def _echo_moved(self, start: int) -> bool:
        """Whether the double talk since the episode began is the echo having moved: the
        filter, placed where the echo is found now, leaves far less. If so it moves there
        (what it learned goes with it, as for any move) and is trusted only once it shows
        again how little it leaves."""
        assert self.delay is not None
        window = min(self._episode, len(self._mic))
        found = self._find_delay(window)
        if found is None or abs(found - self.delay) <= 1:
            return False
        mic = self._mic[-window:]
        now, there = self._predict(start, window), self._predict(max(0, found - self.lead), window)
        if now is None or there is None:
            return False
        left_now, left_there = mic - now, mic - there
        if float(left_there @ left_there) >= 0.25 * float(left_now @ left_now):
            return False
        self.delay, self._candidate = found, None
        self.distrust()
        self._talking, self._since_talk = 0, self.rate  # not another voice: learn again
        return True

    def _solve(self, start: int) -> None:
        """The Wiener filter from averaged spectra of the recent reference and mic audio.

        Cross-spectrum over power spectrum, back to the time domain and cut to the filter's
        length: it converges at once on speech, unlike NLMS whose speed suffers from its
        colour, and stays cheap for a long filter (two FFTs per solve).
        """
        size = self._frame
        if self._since_talk < size:
            return  # another voice is in this audio: learning from it would blur the filter
        d = self._mic[-size:]
        r = self._ref[len(self._ref) - start - size : len(self._ref) - start]
        x = np.fft.rfft(r * self._hann)
        y = np.fft.rfft(d * self._hann)
        forget = np.exp(-self.solve_every / (self.settings.memory_seconds * self.rate))
        self._power = forget * self._power + np.abs(x) ** 2
        self._cross = forget * self._cross + np.conj(x) * y
        floor = self.settings.regularisation * float(np.mean(self._power)) + 1e-9
        response = np.fft.irfft(self._cross / (self._power + floor), size)
        self.weights = response[: self.taps][::-1].copy()


def find_in(heard: NDArray[np.floating], played: NDArray[np.floating], ratio: float) -> int | None:
    """Where in `played` the audio `heard` begins (GCC-PHAT: whitening makes the peak sharp
    for speech, whatever a room's colouring); None without a peak `ratio` times the rest."""
    h, p = len(heard), len(played)
    if h == 0 or p < h:
        return None
    size = 1 << int(np.ceil(np.log2(p + h)))
    cross = np.fft.rfft(played, size) * np.conj(np.fft.rfft(heard, size))
    corr = np.fft.irfft(cross / (np.abs(cross) + 1e-9), size)[: p - h + 1]
    k = int(np.argmax(corr))
    rest = np.delete(corr, slice(max(0, k - 8), k + 9))
    if len(rest) == 0 or float(corr[k]) < ratio * (float(np.std(rest)) + 1e-12):
        return None
    return k
