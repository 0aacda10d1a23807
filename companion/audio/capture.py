"""Audio sources for the listener: the microphone (sounddevice) or a WAV file.

Both hand out s16le mono blocks at `rate` (16 kHz, what the speech models are trained on).
The microphone is opened at the device's native rate (many only offer 44.1/48 kHz), and
its callback only copies bytes into a queue; overflows are counted, not hidden. The
conversion to 16 kHz happens on the reading thread, in one `Resampler` (soxr's, from
`companion.resample`) that keeps its state across blocks: resampling each block on its own
bends time and dips the level at every block edge.
"""

from __future__ import annotations

import logging
import queue
import time
import wave
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from companion.audio.resample import Resampler as Resampler  # the listener's tests use it here
from companion.audio.sound import SampleClock, SoundSystem
from companion.core.errors import CompanionError

log = logging.getLogger(__name__)


SPEECH_RATE = 16_000
"""The rate every source delivers: the vosk and pocketsphinx models are 16 kHz models."""


NO_MICROPHONE = "No microphone found; voice commands resume by themselves when one is connected."
MICROPHONE_GONE = "The microphone stopped; voice commands resume by themselves when it is back."


class SourceError(CompanionError):
    """The audio source cannot be opened (no microphone, unreadable file)."""


class DeviceLost(SourceError):
    """The microphone went away mid-session."""


class AudioSource(Protocol):
    """Blocks of s16le mono audio at `rate` samples per second."""

    rate: int
    overflows: int
    captured_at: float | None
    """Monotonic time the last sample of the block last read was captured; None if unknown."""

    def open(self) -> None:
        """Start delivering audio; raises SourceError with a plain sentence."""
        ...

    def read(self, timeout: float) -> bytes | None:
        """The next block; b"" if none arrived in time; None when the source has ended."""
        ...

    def close(self) -> None:
        """Release the device or file."""
        ...


class DeviceSource:
    """The microphone, opened through the process's one `SoundSystem`.

    Each block keeps the time the device says its last sample was captured
    (`captured_at`, on the monotonic clock), so the echo reference can be lined up with it.
    A microphone that the sound server no longer has, or that stops delivering, ends
    reading with `DeviceLost`; opening it again is the listener's retry.
    """

    def __init__(
        self,
        device: int | str | None = None,
        block_seconds: float = 0.05,
        rate: int = SPEECH_RATE,
        sound: SoundSystem | None = None,
    ) -> None:
        self.sound = sound or SoundSystem(input_device=device)
        self.block_seconds = block_seconds
        self.rate = rate
        """The rate blocks are delivered at (the device's own rate is `native_rate`)."""
        self.native_rate = rate
        self.overflows = 0
        self.captured_at: float | None = None
        """Monotonic time the last sample of the block last read was captured (None: unknown)."""
        self._resampler = Resampler(rate, rate)
        self._queue: queue.Queue[tuple[bytes, float | None]] = queue.Queue(maxsize=400)
        self._stream: Any = None
        self._clock = SampleClock(rate)
        self._last_data = 0.0
        self._checked = 0.0

    def open(self) -> None:
        if self.sound.present("input") is False:
            raise SourceError(NO_MICROPHONE)
        sd = self.sound.portaudio()
        try:
            self.native_rate = self.sound.device_rate("input")
            self._stream = self.sound.open_stream(
                "input",
                samplerate=self.native_rate,
                blocksize=max(1, int(self.native_rate * self.block_seconds)),
                channels=1,
                dtype="int16",
                callback=self._callback,
            )
        except (sd.PortAudioError, ValueError) as error:
            log.info("no input device: %s", error)
            self._stream = None
            raise SourceError(NO_MICROPHONE) from None
        self._resampler = Resampler(self.native_rate, self.rate)
        self._clock = SampleClock(self.native_rate)
        self._last_data = self._checked = time.monotonic()

    def _callback(self, indata: Any, frames: int, when: Any, status: Any) -> None:
        # PortAudio's thread: copy and return at once; everything else happens elsewhere.
        if status.input_overflow:
            self.overflows += 1
        lost = bool(status.input_overflow)
        start = self._clock.block(frames, when.inputBufferAdcTime, when.currentTime, lost)
        end = start + frames / self.native_rate
        try:
            self._queue.put_nowait((bytes(indata), end))
        except queue.Full:
            self.overflows += 1

    def read(self, timeout: float) -> bytes | None:
        now = time.monotonic()
        if now - self._checked >= 1.0:
            self._checked = now
            if self.sound.present("input") is False:
                raise DeviceLost(MICROPHONE_GONE)
        try:
            chunk, captured_at = self._queue.get(timeout=timeout)
        except queue.Empty:
            stream = self._stream
            if stream is None or not stream.active or time.monotonic() - self._last_data > 3.0:
                raise DeviceLost(MICROPHONE_GONE) from None
            return b""
        self._last_data = time.monotonic()
        out = self._resampler.process(chunk)
        # When the last sample handed out was captured: the resampler holds some back.
        held = self._resampler.held_seconds
        self.captured_at = captured_at - held if captured_at is not None else None
        return out

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            self.sound.close_stream(stream)


class WavSource:
    """A WAV recording (any rate, converted to `rate`) fed block by block, as fast as it is
    read (or in real time)."""

    def __init__(
        self,
        path: Path,
        block_seconds: float = 0.05,
        realtime: bool = False,
        rate: int = SPEECH_RATE,
    ) -> None:
        self.path = path
        self.block_seconds = block_seconds
        self.realtime = realtime
        self.rate = rate
        self.overflows = 0
        self.captured_at: float | None = None
        self._samples = np.zeros(0, dtype="<i2")
        self._pos = 0
        self._started = 0.0

    def open(self) -> None:
        try:
            with wave.open(str(self.path), "rb") as wav:
                width, channels = wav.getsampwidth(), wav.getnchannels()
                file_rate = wav.getframerate()
                raw = wav.readframes(wav.getnframes())
        except (OSError, wave.Error, EOFError) as error:
            raise SourceError(f"Cannot read {self.path} as a WAV file: {error}.") from None
        if width != 2:
            raise SourceError(
                f"{self.path} is not 16-bit PCM; convert it with `sox {self.path} -b 16 out.wav`."
            )
        samples = np.frombuffer(raw, dtype="<i2")
        if channels > 1:
            samples = samples.reshape(-1, channels).mean(axis=1).astype("<i2")
        if file_rate != self.rate:
            resampler = Resampler(file_rate, self.rate)
            raw = samples.tobytes()
            step = file_rate * 2  # a second at a time: memory stays small for long files
            pieces = [resampler.process(raw[i : i + step]) for i in range(0, len(raw), step)]
            samples = np.frombuffer(b"".join(pieces) + resampler.flush(), dtype="<i2")
        self._samples = samples
        self._pos = 0
        self._started = time.monotonic()

    def read(self, timeout: float) -> bytes | None:
        block = max(1, int(self.rate * self.block_seconds))
        if self._pos >= len(self._samples):
            return None
        chunk = self._samples[self._pos : self._pos + block]
        self._pos += len(chunk)
        if self.realtime:
            # Deliver no sooner than a microphone would have.
            wait = self._started + self._pos / self.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        return bytes(chunk.tobytes())

    @property
    def position(self) -> float:
        """Seconds of the recording read so far."""
        return self._pos / self.rate

    def close(self) -> None:
        self._samples = np.zeros(0, dtype="<i2")
