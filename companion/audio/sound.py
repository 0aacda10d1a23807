"""The one owner of the sound device for the whole process.

PortAudio (through sounddevice) is process-wide: re-initialising it closes every stream,
so doing that to find a replugged microphone silenced the voice. Here the voice's output
stream and the listener's input stream are both opened through one `SoundSystem`, which
re-initialises PortAudio only while no stream is open. Where a sound server runs
(PulseAudio, or PipeWire's pulse service) a device's coming and going is asked of the
server in a short-lived child (`pactl`), so watching never touches PortAudio at all, and a
failed probe is only "not known".

Streams carry the device's own clock: `StreamClock` turns PortAudio's DAC and ADC times
into `time.monotonic()` seconds, so what was played and what was heard line up where the
device says they happened, whatever latency a sound server adds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from companion.core.errors import CompanionError

log = logging.getLogger(__name__)

Direction = Literal["input", "output"]

PROBE_TIMEOUT = 2.0
"""Longest a sound-server probe may take; a slower server counts as not answering."""

PROBE_EVERY = 1.0
"""How often the server is asked at most (answers are shared within this time)."""

CLOSE_TIMEOUT = 2.0
"""Seconds a caller waits for a stream to close. A stream whose sound server restarted
under it can leave PortAudio's abort waiting for ever (ALSA's pulse plugin: the stream's
thread spins on a dead connection); the caller then goes on without it."""

ECHO_CANCEL_MARKS = ("echo-cancel", "echo_cancel", "echocancel", "aec")
"""Name parts that mark a sound server's echo-cancelled source (module-echo-cancel's
default names are "echo-cancel-source" and "echo-cancel-sink")."""


def _log_alsa_message(
    file: bytes | None, line: int, function: bytes | None, error: int, text: bytes | None
) -> None:
    """ALSA's library messages, to the log instead of the terminal: an underrun through a
    sound server is already counted (`underruns` in the status), and a line on stderr for
    each one told a user nothing they could act on. (ALSA passes printf arguments after
    `text`; the template alone is enough here.)"""
    where = f"{(function or b'').decode(errors='replace')} ({error})"
    log.debug("ALSA: %s: %s", where, (text or b"").decode(errors="replace"))


_ALSA_HANDLER = ctypes.CFUNCTYPE(
    None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
)(_log_alsa_message)
"""A constant: ALSA keeps calling it for as long as the process lives."""


def quiet_alsa() -> bool:
    """Send ALSA's messages to the log; False where there is no ALSA library."""
    name = ctypes.util.find_library("asound")
    if name is None:
        return False
    try:
        ctypes.CDLL(name).snd_lib_error_set_handler(_ALSA_HANDLER)
    except (OSError, AttributeError):
        return False
    return True


class SoundUnavailable(CompanionError):
    """PortAudio itself cannot be loaded."""


@dataclass(frozen=True)
class ServerDevice:
    """A sink or source of the sound server."""

    name: str
    direction: Direction
    monitor: bool = False
    """A sink's monitor: what plays there, not a microphone."""

    @property
    def echo_cancelled(self) -> bool:
        return any(mark in self.name.lower() for mark in ECHO_CANCEL_MARKS)


class StreamClock:
    """Turns PortAudio stream times into `time.monotonic()` seconds.

    PortAudio stamps every callback with its own clock (here the wall clock). The offset to
    the monotonic clock is taken where it is smallest, since a callback that runs late only
    makes it look larger; it re-anchors when the clocks jump apart (the wall clock was set).
    """

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._offset: float | None = None

    def to_monotonic(self, stream_time: float, current_time: float) -> float | None:
        """`stream_time` on the monotonic clock; None when the host gives no times."""
        if current_time <= 0.0 or stream_time <= 0.0:
            return None
        offset = self._now() - current_time
        if self._offset is None or offset < self._offset or offset - self._offset > 0.05:
            self._offset = offset
        else:
            self._offset += (offset - self._offset) * 0.002  # follow a slow drift
        return stream_time + self._offset


class SampleClock:
    """The time of each block of a stream, counted in samples from an anchor.

    The device's own clock is its sample count: through a sound server PortAudio's per-block
    times jitter by tens of ms and move by hundreds (measured on PulseAudio), which no echo
    canceller can follow, so the times are counted, and re-anchored only where the device
    says it lost time (an underrun or overflow) or the count ran far from its own times.
    """

    def __init__(self, rate: int, now: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._now = now
        self._device = StreamClock(now)
        self._anchor: float | None = None
        self._counted = 0

    def block(self, frames: int, stream_time: float, current_time: float, lost: bool) -> float:
        """When the first sample of this block is heard (output) or was captured (input),
        on the monotonic clock; `stream_time` is PortAudio's DAC or ADC time for it."""
        reported = self._device.to_monotonic(stream_time, current_time)
        if reported is None:
            reported = self._now()
        counted = None if self._anchor is None else self._anchor + self._counted / self.rate
        if counted is None or lost or abs(reported - counted) > 1.0:
            self._anchor = reported - self._counted / self.rate
            counted = reported
        self._counted += frames
        return counted


class SoundServer:
    """What a PulseAudio-compatible sound server has now, asked through `pactl`."""

    def __init__(self, run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run):
        self._run = run
        self._pactl = shutil.which("pactl")
        self._lock = threading.Lock()
        self._asked = float("-inf")
        self._answer: list[ServerDevice] | None = None
        self.seen = False
        """A server answered at least once in this process."""

    def devices(self, fresh: bool = False) -> list[ServerDevice] | None:
        """Every sink and source, or None when no server answers (or none is known)."""
        with self._lock:
            if not fresh and time.monotonic() - self._asked < PROBE_EVERY:
                return self._answer
            self._asked = time.monotonic()
            self._answer = self._ask()
            if self._answer is not None:
                self.seen = True
            return self._answer

    def _ask(self) -> list[ServerDevice] | None:
        if self._pactl is None:
            return None
        found: list[ServerDevice] = []
        for kind, direction in (("sinks", "output"), ("sources", "input")):
            try:
                done = self._run(
                    [self._pactl, "list", "short", kind],
                    capture_output=True,
                    text=True,
                    timeout=PROBE_TIMEOUT,
                    check=False,
                )
            except (OSError, subprocess.SubprocessError) as error:
                log.debug("pactl failed: %s", error)
                return None
            if done.returncode != 0:
                return None
            for line in done.stdout.splitlines():
                fields = line.split("\t")
                if len(fields) >= 2:
                    name = fields[1]
                    monitor = direction == "input" and name.endswith(".monitor")
                    found.append(ServerDevice(name, direction, monitor))  # type: ignore[arg-type]
        return found

    def find(self, name: str, direction: Direction) -> ServerDevice | None:
        """The server's device called `name` going that way, if the server has one now."""
        for device in self.devices(fresh=True) or []:
            if device.name == name and device.direction == direction:
                return device
        return None


class SoundSystem:
    """Opens every stream of the process and alone decides when PortAudio re-initialises.

    `input_device` and `output_device` are a PortAudio device (index or name part) or the
    name of a sound server's source or sink (as `companion devices` lists them), which is
    then reached through PortAudio's "pulse" device.
    """

    def __init__(
        self,
        input_device: int | str | None = None,
        output_device: int | str | None = None,
        server: SoundServer | None = None,
    ) -> None:
        self.server = server or SoundServer()
        self._lock = threading.RLock()
        self._open: set[int] = set()
        self._sd: Any = None
        self._stale = False
        """PortAudio's device list may be out of date: re-initialise once nothing is open."""
        self.input_device: int | str | None = input_device
        self.output_device: int | str | None = output_device
        self.input_server_name = ""
        """The server source chosen by name ("" when PortAudio's own device is used)."""
        self.output_server_name = ""
        self._route_by_server()

    def _route_by_server(self) -> None:
        """A chosen name the sound server knows is reached through its "pulse" device."""
        for direction in ("input", "output"):
            wanted = self.input_device if direction == "input" else self.output_device
            if not isinstance(wanted, str) or not wanted:
                continue
            if self.server.find(wanted, direction) is None:
                continue
            # libpulse reads these whenever a stream is created; the "pulse" device uses them.
            os.environ["PULSE_SOURCE" if direction == "input" else "PULSE_SINK"] = wanted
            if direction == "input":
                self.input_server_name, self.input_device = wanted, "pulse"
            else:
                self.output_server_name, self.output_device = wanted, "pulse"

    def portaudio(self) -> Any:
        """The sounddevice module (imported once, on first use)."""
        if self._sd is None:
            quiet_alsa()
            try:
                import sounddevice
            except OSError:
                raise SoundUnavailable(
                    "The audio library PortAudio is missing; install libportaudio2."
                ) from None
            self._sd = sounddevice
        return self._sd

    def open_stream(self, direction: Direction, **kwargs: Any) -> Any:
        """Open and start a RawInputStream or OutputStream on this direction's device.

        Raises sounddevice's PortAudioError (or ValueError) when the device refuses.
        """
        sd = self.portaudio()
        with self._lock:
            self._refresh_if_idle()
            device = self.input_device if direction == "input" else self.output_device
            kind = sd.RawInputStream if direction == "input" else sd.OutputStream
            if "samplerate" not in kwargs:
                info = sd.query_devices(device, direction)
                kwargs["samplerate"] = int(info["default_samplerate"])
            try:
                stream = kind(device=device, **kwargs)
            except (sd.PortAudioError, ValueError):
                self._stale = True  # perhaps a device came or went since PortAudio started
                raise
            try:
                stream.start()
            except Exception:
                stream.close(ignore_errors=True)
                self._stale = True
                raise
            self._open.add(id(stream))
            return stream

    def device_rate(self, direction: Direction) -> int:
        """The device's own sample rate (many offer only 44.1 or 48 kHz)."""
        sd = self.portaudio()
        with self._lock:
            self._refresh_if_idle()
            device = self.input_device if direction == "input" else self.output_device
            return int(sd.query_devices(device, direction)["default_samplerate"])

    def close_stream(self, stream: Any) -> None:
        """Stop and release a stream this system opened; never raises, and waits at most
        `CLOSE_TIMEOUT`. A stream that will not close is left to its closing thread and
        still counts as open, so PortAudio is never re-initialised under it."""
        closed = threading.Event()

        def close() -> None:
            try:
                stream.abort(ignore_errors=True)
                stream.close(ignore_errors=True)
            except Exception as error:  # a vanished device may refuse even to close
                log.info("closing a sound stream: %s", error)
            with self._lock:
                self._open.discard(id(stream))
                self._refresh_if_idle()
            closed.set()

        threading.Thread(target=close, name="companion-close-stream", daemon=True).start()
        if not closed.wait(CLOSE_TIMEOUT):
            log.warning(
                "a sound stream did not close within %.0f s; going on without it", CLOSE_TIMEOUT
            )

    def _refresh_if_idle(self) -> None:
        """Re-read the device list, but only when it may be stale and no stream is open."""
        if self._stale and not self._open:
            log.info("re-reading the sound devices")
            self._sd._terminate()
            self._sd._initialize()
            self._stale = False

    def present(self, direction: Direction) -> bool | None:
        """Whether this direction's device is there now, as far as the sound server says.

        None when that cannot be known (no server, or a PortAudio device chosen by index);
        False when the server went away, or the chosen (or any real) device is missing.
        """
        named = self.input_server_name if direction == "input" else self.output_server_name
        device = self.input_device if direction == "input" else self.output_device
        if not named and device not in (None, "pulse", "default"):
            return None  # a PortAudio device chosen by itself: the server cannot say
        devices = self.server.devices()
        if devices is None:
            return False if self.server.seen else None
        mine = [d for d in devices if d.direction == direction]
        if named:
            return any(d.name == named for d in mine)
        return any(not d.monitor for d in mine) if direction == "input" else bool(mine)

    def echo_cancelled_input(self) -> bool:
        """Whether the microphone is a sound server's echo-cancelled source."""
        if self.input_server_name:
            return ServerDevice(self.input_server_name, "input").echo_cancelled
        return False

    def describe(self) -> dict[str, Any]:
        """Every device PortAudio and the sound server offer, for `companion devices`."""
        listed: dict[str, Any] = {"portaudio": [], "server": None}
        try:
            sd = self.portaudio()
            with self._lock:
                self._refresh_if_idle()
                for index, info in enumerate(sd.query_devices()):
                    listed["portaudio"].append(
                        {
                            "index": index,
                            "name": info["name"],
                            "inputs": info["max_input_channels"],
                            "outputs": info["max_output_channels"],
                            "rate": int(info["default_samplerate"]),
                        }
                    )
        except SoundUnavailable as error:
            listed["portaudio_error"] = str(error)
        devices = self.server.devices(fresh=True)
        if devices is not None:
            listed["server"] = [
                {
                    "name": d.name,
                    "direction": d.direction,
                    "monitor": d.monitor,
                    "echo_cancelled": d.echo_cancelled,
                }
                for d in devices
            ]
        return listed
