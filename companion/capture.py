"""Audio sources for the listener: the microphone (sounddevice) or a WAV file.

Both hand out s16le mono blocks at their own `rate`; the recogniser is given that rate.
The microphone is opened at the device's native rate (many only offer 44.1/48 kHz), and
its callback only copies bytes into a queue; overflows are counted, not hidden.
"""

from __future__ import annotations

import logging
import queue
import time
import wave
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from companion.errors import CompanionError

log = logging.getLogger(__name__)


class SourceError(CompanionError):
    """The audio source cannot be opened (no microphone, unreadable file)."""


class DeviceLost(SourceError):
    """The microphone went away mid-session."""


class AudioSource(Protocol):
    """Blocks of s16le mono audio at `rate` samples per second."""

    rate: int
    overflows: int

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
    """The microphone through sounddevice, re-initialising PortAudio on every open.

    PortAudio freezes its device list when it initialises, so a replugged microphone is
    only seen after `sd._terminate(); sd._initialize()`.
    """

    def __init__(self, device: int | str | None = None, block_seconds: float = 0.05) -> None:
        self.device = device
        self.block_seconds = block_seconds
        self.rate = 16_000
        self.overflows = 0
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=400)
        self._stream: Any = None
        self._last_data = 0.0

    def open(self) -> None:
        try:
            import sounddevice as sd
        except OSError:
            raise SourceError(
                "The audio library PortAudio is missing; install libportaudio2."
            ) from None
        try:
            sd._terminate()
            sd._initialize()
            info = sd.query_devices(self.device, "input")
            self.rate = int(info["default_samplerate"])
            self._stream = sd.RawInputStream(
                samplerate=self.rate,
                blocksize=max(1, int(self.rate * self.block_seconds)),
                device=self.device,
                channels=1,
                dtype="int16",
                callback=self._callback,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as error:
            log.info("no input device: %s", error)
            self._stream = None
            raise SourceError(
                "No microphone found; voice commands resume by themselves when one is connected."
            ) from None
        self._last_data = time.monotonic()

    def _callback(self, indata: Any, frames: int, when: Any, status: Any) -> None:
        # PortAudio's thread: copy and return at once; everything else happens elsewhere.
        if status.input_overflow:
            self.overflows += 1
        try:
            self._queue.put_nowait(bytes(indata))
        except queue.Full:
            self.overflows += 1

    def read(self, timeout: float) -> bytes | None:
        try:
            chunk = self._queue.get(timeout=timeout)
        except queue.Empty:
            stream = self._stream
            if stream is None or not stream.active or time.monotonic() - self._last_data > 3.0:
                raise DeviceLost(
                    "The microphone stopped; voice commands resume by themselves when it is back."
                ) from None
            return b""
        self._last_data = time.monotonic()
        return chunk

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception as error:  # a vanished device may refuse even to close
                log.info("closing the input stream: %s", error)


class WavSource:
    """A WAV recording fed block by block, as fast as it is read (or in real time)."""

    def __init__(self, path: Path, block_seconds: float = 0.05, realtime: bool = False) -> None:
        self.path = path
        self.block_seconds = block_seconds
        self.realtime = realtime
        self.rate = 16_000
        self.overflows = 0
        self._samples = np.zeros(0, dtype="<i2")
        self._pos = 0
        self._started = 0.0

    def open(self) -> None:
        try:
            with wave.open(str(self.path), "rb") as wav:
                width, channels = wav.getsampwidth(), wav.getnchannels()
                self.rate = wav.getframerate()
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

    def close(self) -> None:
        self._samples = np.zeros(0, dtype="<i2")
