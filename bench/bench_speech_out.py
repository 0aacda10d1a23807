"""Figures for spoken guidance: render time per line (cold, warm cache) and stop latency.

Run: .venv/bin/python bench/bench_speech_out.py
Stop latency is measured through the real PortAudio/ALSA stack into ALSA's file device,
drained in real time through a FIFO (tests/alsa.py), in a subprocess.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent

LINES = [
    "Welcome. Sit somewhere comfortable, side by side or facing each other.",
    "Let your shoulders drop.",
    "Breathe in slowly through your nose.",
    "And let the breath go, long and slow.",
    "Notice where your feet touch the floor.",
    "When you are ready, say one sentence: I notice something in my body.",
    "Take turns. The other partner only listens.",
    "That was a good step. Thank you both for staying with it.",
]

LONG_LINE = (
    "Let your breath slow down, and feel the weight of your body resting on the chair, "
    "while your shoulders soften and your hands grow warm and heavy."
)

STOP_CHILD = """
import json, sys, time
from pathlib import Path
from companion.core.effects import HoldSound, ReleaseSound, Speak, StopSound
from companion.voice.speech_out import SpeechOut
from companion.voice.tts import VoiceSettings

out = SpeechOut(VoiceSettings(), Path(sys.argv[1]))
out.start()
out.prepare([sys.argv[2]])
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "speak":
        out.handle(Speak(sys.argv[2], ""))
    elif line.strip() == "stop":
        out.handle(StopSound())
    elif line.strip() == "hold":
        out.handle(HoldSound())
    elif line.strip() == "release":
        out.handle(ReleaseSound())
    else:
        break
    print("ok", flush=True)
out.close()
"""


def load_alsa_helper() -> ModuleType:
    spec = importlib.util.spec_from_file_location("alsa", ROOT / "tests" / "alsa.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["alsa"] = module  # dataclass-free, but keep it importable by name
    spec.loader.exec_module(module)
    return module


def bench_render(alsa: ModuleType, work: Path) -> None:
    # No sound device for this part: rendering and the cache are what is measured.
    os.environ["HOME"] = str(alsa.AlsaFileDevice(work / "nodev", usable=False).home)
    from companion.voice.speech_out import SpeechOut
    from companion.voice.tts import VoiceSettings

    cache = work / "cache"
    cold = SpeechOut(VoiceSettings(), cache)
    cold.start()
    cold_times = []
    for line in LINES:
        started = time.perf_counter()
        cold.prepare([line])
        cold_times.append(time.perf_counter() - started)
    audio = sum(cold.seconds(line) for line in LINES)
    cold.close()

    warm = SpeechOut(VoiceSettings(), cache)
    started = time.perf_counter()
    warm.start()
    start_seconds = time.perf_counter() - started
    warm_times = []
    for line in LINES:
        started = time.perf_counter()
        warm.prepare([line])
        warm_times.append(time.perf_counter() - started)
    lookups = 2000
    started = time.perf_counter()
    for index in range(lookups):
        warm.seconds(LINES[index % len(LINES)])
    lookup_us = (time.perf_counter() - started) / lookups * 1e6
    warm.close()
    assert warm.renders == 0

    print(f"lines: {len(LINES)}, {audio:.1f} s of speech at 150 wpm")
    print(
        f"render, cold cache: median {statistics.median(cold_times) * 1000:.0f} ms/line, "
        f"max {max(cold_times) * 1000:.0f} ms, "
        f"{sum(cold_times) / audio * 1000:.0f} ms per second of speech"
    )
    print(
        f"prepare, warm cache: median {statistics.median(warm_times) * 1000:.1f} ms/line, "
        f"max {max(warm_times) * 1000:.1f} ms (start() {start_seconds * 1000:.0f} ms)"
    )
    print(f"seconds() lookup: {lookup_us:.1f} us")


def bench_stop(alsa: ModuleType, work: Path, trials: int = 5, how: str = "stop") -> None:
    """Speech still reaching the device after StopSound (`how="stop"`) or a hold ("hold")."""
    device = alsa.AlsaFileDevice(work / f"dev-{how}")
    block = 1024 * 2
    after_stop: list[int] = []
    with device.paced_playback() as sink:
        child = device.start_python(STOP_CHILD, str(work / "cache"), LONG_LINE)
        assert child.stdin is not None and child.stdout is not None
        assert child.stdout.readline().strip() == "ready"

        def send(command: str) -> None:
            child.stdin.write(command + "\n")
            child.stdin.flush()
            child.stdout.readline()

        for _ in range(trials):
            before = sink.sound_end(64)
            send("speak")
            sink.wait_for(lambda before=before: sink.sound_end(64) > before + 15 * block)
            send(how)
            at_stop = sink.size()
            sink.wait_for(lambda at_stop=at_stop: sink.size() > at_stop + 30 * block)
            after_stop.append(sink.sound_end(64) - at_stop)
            if how == "hold":
                send("stop")
                send("release")
        child.stdin.write("quit\n")
        child.stdin.flush()
        child.wait(timeout=20)
        pipe = sink.pipe_bytes
    ms = [b / (22_050 * 2) * 1000 for b in after_stop]
    print(
        f"{how}: speech reaching the device after {how} returned: "
        f"median {statistics.median(after_stop) / block:.1f} blocks "
        f"({statistics.median(ms):.0f} ms), max {max(after_stop) / block:.1f} blocks "
        f"({max(ms):.0f} ms) over {trials} trials; of that, the test pipe itself holds "
        f"{pipe / block:.1f} blocks and the rest is PortAudio's ring buffer"
    )
    print(f"raw {how}:", json.dumps([round(b / block, 2) for b in after_stop]))


def main() -> None:
    sys.path.insert(0, str(ROOT))
    alsa = load_alsa_helper()
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        bench_stop(alsa, work)  # first: it needs a fresh process-wide HOME untouched
        bench_stop(alsa, work, how="hold")
        bench_render(alsa, work)


if __name__ == "__main__":
    main()
