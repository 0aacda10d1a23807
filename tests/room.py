"""A room between the companion's speaker and its microphone, on a real PulseAudio server.

Run as a child process (`python tests/room.py SEED DELAY_MS RT60 DRR_DB NOISE_DBFS`): it
records what plays on the sink `speaker` (`parec` on `speaker.monitor`), convolves it
with a room impulse response (a direct sound after DELAY_MS, then an exponentially
decaying tail with reverberation time RT60 whose energy sits DRR_DB below the direct
sound), adds a faint noise floor, and plays the result into the sink `air`, whose monitor
is the companion's microphone. A partner's voice is mixed into `air` by `paplay`.

When either sink goes away (a device unplugged) the room waits and reconnects, as air
would carry sound again once a speaker is plugged back in.
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

RATE = 16_000
BLOCK = 320  # 20 ms
CUSHION = 0.2
"""Seconds of sound kept queued towards the microphone: part of the room's fixed delay."""


def impulse_response(seed: int, delay_ms: float, rt60: float, drr_db: float) -> np.ndarray:
    """A direct sound of gain 0.5 and a decaying tail of random reflections behind it."""
    rng = np.random.default_rng(seed)
    delay = round(delay_ms * RATE / 1000)
    length = delay + round(rt60 * RATE)
    tail_t = np.arange(length - delay - 1) / RATE
    tail = rng.standard_normal(len(tail_t)) * 10 ** (-3 * tail_t / rt60)  # -60 dB at rt60
    direct = 0.5
    tail *= direct / np.sqrt(np.sum(tail**2)) * 10 ** (-drr_db / 20)
    response = np.zeros(length)
    response[delay] = direct
    response[delay + 1 :] = tail
    return response


class Convolver:
    """Streaming overlap-add convolution, one block at a time."""

    def __init__(self, response: np.ndarray) -> None:
        self.size = 1
        while self.size < len(response) + BLOCK:
            self.size *= 2
        self.spectrum = np.fft.rfft(response, self.size)
        self.tail = np.zeros(self.size - BLOCK)

    def process(self, block: np.ndarray) -> np.ndarray:
        out = np.fft.irfft(np.fft.rfft(block, self.size) * self.spectrum, self.size)
        out[: len(self.tail)] += self.tail
        self.tail = out[BLOCK:].copy()
        return out[:BLOCK]


def _pipe(command: list[str], reading: bool) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE if reading else subprocess.DEVNULL,
        stdin=None if reading else subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    seed, delay_ms, rt60, drr_db, noise_dbfs = (float(a) for a in sys.argv[1:6])
    convolver = Convolver(impulse_response(int(seed), delay_ms, rt60, drr_db))
    rng = np.random.default_rng(int(seed) + 1)
    noise_rms = 32768 * 10 ** (noise_dbfs / 20)
    # A stream whose device goes away is moved to the server's default device, which the
    # rig keeps apart from both (`nowhere`, `silence`): the room never hears itself.
    fmt = ["--raw", "--format=s16le", f"--rate={RATE}", "--channels=1"]
    reader: subprocess.Popen[bytes] | None = None
    writer: subprocess.Popen[bytes] | None = None
    silence = np.zeros(BLOCK)
    retry_at = 0.0
    while True:
        if reader is None and time.monotonic() >= retry_at:
            recorder = ["parec", "--device=speaker.monitor", *fmt, "--latency-msec=20"]
            reader = _pipe(recorder, reading=True)
        if writer is None or writer.poll() is not None:
            # Air has one constant delay: the player keeps a deep, steady cushion, so a late
            # block never runs it dry (a sound server then adds a gap and raises its
            # latency: measured 5 to 480 ms of wandering delay with a 20 ms buffer).
            player = ["pacat", "--playback", "--device=air", *fmt, "--latency-msec=400"]
            writer = _pipe(player, reading=False)
            assert writer.stdin is not None
            writer.stdin.write(bytes(2 * round(CUSHION * RATE)))
        assert writer.stdin is not None
        data = b""
        if reader is not None:
            assert reader.stdout is not None
            data = reader.stdout.read(BLOCK * 2)
        if len(data) < BLOCK * 2:
            # The speaker is gone: the room is quiet but for its noise, and keeps time.
            if reader is not None:
                reader.kill()
                reader.wait()
                assert reader.stdout is not None
                reader.stdout.close()
                reader = None
                retry_at = time.monotonic() + 0.5
            block = silence
            time.sleep(BLOCK / RATE)
        else:
            block = np.frombuffer(data, dtype="<i2").astype(np.float64)
        out = convolver.process(block) + rng.standard_normal(BLOCK) * noise_rms
        try:
            writer.stdin.write(np.clip(out, -32768, 32767).astype("<i2").tobytes())
            writer.stdin.flush()
        except (BrokenPipeError, OSError):
            writer.kill()
            writer = None
            time.sleep(0.2)


if __name__ == "__main__":
    main()
