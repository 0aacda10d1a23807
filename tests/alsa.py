"""Real audio on a machine with no sound card: ALSA's `file` plugin as the default device.

`AlsaFileDevice(tmp_path)` writes an `.asoundrc` into a temp HOME whose default device
plays into `played_path` and records from `heard_path`. PortAudio reads the ALSA config
when it initialises, so run the audio code in a subprocess started with `env()` (or
`start_python()` / `run_python()`), never in the test process.

Two facts measured here shape the helpers:
- the file plugin's `null` slave is not paced: a playback stream runs ~2,000x faster
  than real time and writes hundreds of MB/s. So anything that *plays* must use
  `paced_playback()`, which turns `played_path` into a FIFO read at the pace of a real
  device (the writer blocks when the small pipe is full, just as on a sound card);
- capture reads `heard_path` as fast as the consumer asks, which suits recogniser tests.

Typical use::

    device = AlsaFileDevice(tmp_path)
    write_heard_raw(wav_path, device.heard_path)      # what the "microphone" hears
    with device.paced_playback() as sink:
        child = device.start_python(CODE, "arg")      # plays and/or records
        sink.wait_for(lambda: sink.size() > 8 * sink.block_bytes, timeout=20)
        sink.unplug()                                  # the device fails mid-session
"""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

F_SETPIPE_SZ = 1031  # Linux fcntl codes; Python < 3.10 did not name them.
F_GETPIPE_SZ = 1032


class AlsaFileDevice:
    """A temp HOME whose ALSA default device is files (or, with usable=False, nothing)."""

    def __init__(self, root: Path, *, usable: bool = True) -> None:
        self.home = root / "home"
        """Pass as HOME to the subprocess (see `env()`)."""
        self.heard_path = root / "heard.raw"
        """What the default capture device reads: raw s16le mono at the stream's rate."""
        self.played_path = root / "played.raw"
        """Where everything played is written: raw s16le at the stream's rate."""
        self.asoundrc = self.home / ".asoundrc"
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.heard_path.exists():
            self.heard_path.write_bytes(b"")
        if usable:
            config = (
                "pcm.!default {\n"
                "    type file\n"
                '    slave.pcm "null"\n'
                f'    file "{self.played_path}"\n'
                f'    infile "{self.heard_path}"\n'
                '    format "raw"\n'
                "}\n"
            )
        else:
            # A default that names a sound card this machine does not have.
            config = "pcm.!default { type hw card 31 device 0 }\nctl.!default { type hw card 31 }\n"
        self.asoundrc.write_text(config)

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a subprocess that should use this device."""
        env = dict(os.environ)
        env["HOME"] = str(self.home)
        env.pop("ALSA_CONFIG_PATH", None)
        env.update(extra)
        return env

    def run_python(
        self, code: str, *args: str, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run `python -c code args...` with this device; returns its output (check=False)."""
        return subprocess.run(
            [sys.executable, "-c", code, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start_python(self, code: str, *args: str) -> subprocess.Popen[str]:
        """Start `python -c code args...` with this device and line-buffered text pipes."""
        return subprocess.Popen(
            [sys.executable, "-c", code, *args],
            env=self.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    @contextmanager
    def paced_playback(
        self, rate: int = 22_050, frame_bytes: int = 2, block_frames: int = 1024
    ) -> Iterator[PacedSink]:
        """Make `played_path` a FIFO drained at `rate` real-time frames per second."""
        self.played_path.unlink(missing_ok=True)
        os.mkfifo(self.played_path)
        sink = PacedSink(self.played_path, rate * frame_bytes, block_frames * frame_bytes)
        sink.start()
        try:
            yield sink
        finally:
            sink.stop()


class PacedSink:
    """Reads a FIFO like a sound card consumes audio: one block at a time, in real time.

    It holds the FIFO open (read+write) from the start, so the pipe can be shrunk to one
    page before any player writes and stays that small across the player's opens.
    """

    def __init__(self, path: Path, bytes_per_second: int, block_bytes: int) -> None:
        self.path = path
        self.bytes_per_second = bytes_per_second
        self.block_bytes = block_bytes
        self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        # Smallest pipe (one page), so little audio queues between player and "card".
        fcntl.fcntl(self._fd, F_SETPIPE_SZ, 4096)
        self.pipe_bytes: int = fcntl.fcntl(self._fd, F_GETPIPE_SZ)
        """The pipe's capacity: audio queued between the player and this "card"."""
        self._data = bytearray()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paced-sink", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def size(self) -> int:
        """Bytes the "device" has consumed so far."""
        with self._lock:
            return len(self._data)

    def samples(self) -> np.ndarray:
        """Everything consumed so far as int16 samples."""
        with self._lock:
            data = bytes(self._data[: len(self._data) // 2 * 2])
        return np.frombuffer(data, dtype="<i2")

    def sound_end(self, threshold: int = 0) -> int:
        """Byte offset just past the last sample louder than `threshold` (0 if none)."""
        loud = np.flatnonzero(np.abs(self.samples().astype(np.int32)) > threshold)
        return int(loud[-1] + 1) * 2 if len(loud) else 0

    def wait_for(self, condition: Callable[[], bool], timeout: float = 20.0) -> bool:
        """Poll `condition` until it holds or `timeout` passes; returns whether it held."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def _run(self) -> None:
        next_read = time.monotonic()
        while not self._stopping.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self._fd, self.block_bytes)
            except BlockingIOError:
                continue
            with self._lock:
                self._data.extend(chunk)
            # Consume in real time; after a stall, resume pacing from now (no burst).
            next_read = max(next_read + len(chunk) / self.bytes_per_second, time.monotonic())
            self._stopping.wait(max(0.0, next_read - time.monotonic()))

    def unplug(self) -> None:
        """Stop consuming and close the FIFO, as if the speakers were pulled out.

        The player's next write fails (broken pipe), so its stream ends with an error.
        """
        self.stop()

    def stop(self) -> None:
        """Stop reading and close the FIFO (a player still writing gets a broken pipe)."""
        if self._fd < 0:
            return
        self._stopping.set()
        self._thread.join(timeout=10)
        os.close(self._fd)
        self._fd = -1


def write_heard_raw(wav: Path, raw: Path, rate: int = 16_000) -> None:
    """Convert `wav` with sox to raw s16le mono at `rate`, the capture device's input."""
    subprocess.run(
        [
            "sox",
            str(wav),
            "-r",
            str(rate),
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            "-t",
            "raw",
            str(raw),
        ],
        check=True,
        capture_output=True,
    )
