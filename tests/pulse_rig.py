"""A real full-duplex sound rig: a PulseAudio server with no sound card (AUDIO_TESTING.md).

The companion plays into the null sink `speaker`; a room process (`tests/room.py`)
carries that sound, delayed and reverberant, into the null sink `air`, whose monitor is
the companion's microphone; a partner's voice is mixed into `air` with `paplay`. What the
companion plays is recorded from `speaker.monitor` with the time it was heard.

Only the physical microphone and loudspeaker are stand-ins here: the sound server,
PortAudio, the streams, the voice and the recogniser are the real ones.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import wave
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOM = Path(__file__).with_name("room.py")
RATE = 16_000
BLOCK_SECONDS = 0.01


@dataclass(frozen=True)
class Room:
    """An acoustic path from the companion's speaker to its microphone."""

    name: str
    delay_ms: float
    rt60: float
    drr_db: float
    """Direct sound over reverberation, dB."""
    noise_dbfs: float = -60.0
    seed: int = 7


# Unlike the rooms in bench/ (60 ms/0.3 s/+6 dB and 250 ms/0.5 s/0 dB): a small hard-walled
# kitchen with the laptop close, and a big living room with the laptop across it.
KITCHEN = Room("kitchen", delay_ms=25, rt60=0.45, drr_db=3.0, seed=11)
LIVING_ROOM = Room("living room", delay_ms=120, rt60=0.7, drr_db=-4.0, seed=23)


ECHO_CANCEL = (
    "load-module module-echo-cancel aec_method=webrtc source_master=air.monitor "
    "sink_master=speaker source_name=echo-cancel-source sink_name=echo-cancel-sink"
)


def rig_missing() -> str:
    """Why the rig cannot run here ("" if it can)."""
    for tool in ("pulseaudio", "pactl", "paplay", "parec", "pacat", "espeak-ng", "sox"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (bash tools/setup.sh --test installs it)"
    return ""


class PulseRig:
    """A PulseAudio server in a temp folder, a room between its sinks, a speaker recorder."""

    def __init__(self, root: Path, room: Room, system_aec: bool = False) -> None:
        self.root = root
        self.room = room
        self.system_aec = system_aec
        """Load PulseAudio's WebRTC echo canceller between the companion and the room, as a
        desktop may have it: the companion then plays into `echo-cancel-sink` and listens
        to `echo-cancel-source`."""
        self.home = root / "home"
        self.runtime = root / "run"
        self.home.mkdir(parents=True, exist_ok=True)
        self.runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._server: subprocess.Popen[bytes] | None = None
        self._room: subprocess.Popen[bytes] | None = None
        self.speaker = SpeakerRecorder(self)
        self.modules: dict[str, str] = {}

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a process that should use this server (and only it)."""
        env = dict(os.environ)
        env.update(
            HOME=str(self.home),
            XDG_RUNTIME_DIR=str(self.runtime),
            XDG_CONFIG_HOME=str(self.home / ".config"),
        )
        for name in ("PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE", "ALSA_CONFIG_PATH"):
            env.pop(name, None)
        env.update(extra)
        return env

    def start(self) -> PulseRig:
        config = self.home / "rig.pa"
        config.write_text(
            "load-module module-native-protocol-unix\n"
            "load-module module-null-sink sink_name=speaker rate=48000 channels=1\n"
            "load-module module-null-sink sink_name=air rate=48000 channels=1\n"
            # Where the server moves a stream whose device went away: nothing is heard
            # there, so an unplugged device is silence, never a loop.
            "load-module module-null-sink sink_name=nowhere rate=48000 channels=1\n"
            "load-module module-null-source source_name=silence rate=48000 channels=1\n"
            "set-default-sink nowhere\n"
            "set-default-source silence\n" + (ECHO_CANCEL + "\n" if self.system_aec else "")
        )
        self._start_server()
        self._read_modules()
        self._start_room()
        self.speaker.start()
        return self

    def _start_server(self) -> None:
        config = self.home / "rig.pa"
        self._server = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(config), "--daemonize=no", "--exit-idle-time=-1"],
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while self.pactl("info", check=False).returncode != 0:
            if time.monotonic() > deadline or self._server.poll() is not None:
                raise RuntimeError("the PulseAudio server did not start")
            time.sleep(0.1)

    def _start_room(self) -> None:
        room = self.room
        self._room = subprocess.Popen(
            [
                sys.executable,
                str(ROOM),
                str(room.seed),
                str(room.delay_ms),
                str(room.rt60),
                str(room.drr_db),
                str(room.noise_dbfs),
            ],
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def restart_server(self, down_seconds: float = 1.0) -> None:
        """Stop the sound server, wait, and start it again (as a desktop's may restart)."""
        for process in (self._room, self._server):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        time.sleep(down_seconds)
        self._start_server()
        self._read_modules()
        self._start_room()
        self.speaker.reconnect()

    def stop(self) -> None:
        self.speaker.stop()
        for process in (self._room, self._server):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()

    def pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pactl", *args], env=self.env(), capture_output=True, text=True, check=check
        )

    def _read_modules(self) -> None:
        for line in self.pactl("list", "short", "modules").stdout.splitlines():
            fields = line.split("\t")
            if len(fields) >= 3 and "sink_name=" in fields[2]:
                name = fields[2].split("sink_name=")[1].split()[0]
                self.modules[name] = fields[0]

    def unplug(self, sink: str) -> None:
        """Take a sink (and so its monitor) away, as a device pulled out."""
        self.pactl("unload-module", self.modules.pop(sink))

    def plug(self, sink: str) -> None:
        """Bring a sink back, as a device plugged in again."""
        index = self.pactl(
            "load-module", "module-null-sink", f"sink_name={sink}", "rate=48000", "channels=1"
        ).stdout.strip()
        self.modules[sink] = index
        if self.system_aec and {"air", "speaker"} <= set(self.modules):
            self.pactl(*ECHO_CANCEL.split())
        # Streams moved away while it was gone stay where they were moved: reconnect them.
        if self._room is not None:
            self._room.terminate()
            self._room.wait(timeout=10)
        self._start_room()
        self.speaker.reconnect()

    def say(self, samples: np.ndarray, gain: float = 1.0, wait: bool = True) -> float:
        """Play a partner's voice (16 kHz, int16 units) into the room; returns when it started
        (monotonic) and, with `wait`, returns after it was played."""
        path = self.root / f"partner-{time.monotonic_ns()}.wav"
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(np.clip(samples * gain, -32768, 32767).astype("<i2").tobytes())
        started = time.monotonic()
        player = subprocess.Popen(
            ["paplay", "--device=air", "--latency-msec=20", str(path)],
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if wait:
            player.wait(timeout=60)
        return started


class SpeakerRecorder:
    """What a source hears (by default `speaker.monitor`: what the companion plays), in
    10 ms blocks stamped with the time they arrived; the last `keep_seconds` kept whole."""

    def __init__(
        self, rig: PulseRig, source: str = "speaker.monitor", keep_seconds: float = 0.0
    ) -> None:
        self._rig = rig
        self.source = source
        self._kept: deque[tuple[float, np.ndarray]] = deque(
            maxlen=max(1, round(keep_seconds / BLOCK_SECONDS))
        )
        self._keep = keep_seconds > 0
        self._lock = threading.Lock()
        self._levels: list[tuple[float, float]] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="speaker-recorder", daemon=True)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._process is not None:
            self._process.kill()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        block = round(RATE * BLOCK_SECONDS) * 2
        while not self._stopping.is_set():
            self._process = subprocess.Popen(
                [
                    "parec",
                    f"--device={self.source}",
                    "--raw",
                    "--format=s16le",
                    f"--rate={RATE}",
                    "--channels=1",
                    "--latency-msec=10",
                ],
                env=self._rig.env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            assert self._process.stdout is not None
            while not self._stopping.is_set():
                data = self._process.stdout.read(block)
                if len(data) < block:
                    break
                samples = np.frombuffer(data, dtype="<i2").astype(np.float64)
                arrived = time.monotonic()
                with self._lock:
                    self._levels.append((arrived, float(np.sqrt(np.mean(samples**2)))))
                    if self._keep:
                        self._kept.append((arrived, samples))
            self._process.kill()
            self._process.wait()
            self._process.stdout.close()
            self._stopping.wait(0.3)  # the speaker is unplugged: look again shortly

    def reconnect(self) -> None:
        """Record from `speaker.monitor` again (after the sink came back)."""
        process = self._process
        if process is not None:
            process.kill()

    def kept(self) -> tuple[np.ndarray, float]:
        """The samples kept (the last `keep_seconds`) and the arrival time of the last block."""
        with self._lock:
            blocks = list(self._kept)
        if not blocks:
            return np.zeros(0), 0.0
        return np.concatenate([b for _, b in blocks]), blocks[-1][0]

    def levels(self, since: float = 0.0) -> list[tuple[float, float]]:
        """(arrival time, RMS) of every 10 ms block since `since`."""
        with self._lock:
            return [item for item in self._levels if item[0] >= since]

    def loud_since(self, since: float, threshold: float = 100.0) -> float:
        """Seconds of sound above `threshold` RMS recorded since `since`."""
        return sum(BLOCK_SECONDS for _, rms in self.levels(since) if rms > threshold)

    def last_loud(self, threshold: float = 100.0) -> float:
        """Arrival time of the last block above `threshold` RMS (0.0 if none)."""
        with self._lock:
            for at, rms in reversed(self._levels):
                if rms > threshold:
                    return at
        return 0.0

    def playing(self, within: float = 0.3, threshold: float = 100.0) -> bool:
        """Whether the companion was heard in the last `within` seconds."""
        return time.monotonic() - self.last_loud(threshold) < within
