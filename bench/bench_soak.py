"""A long run with 4 pages connected: timer drift and memory growth.

Run: .venv/bin/python bench/bench_soak.py [minutes] [--rig]   (default 10; the issue asks
for 120). A real companion on 127.0.0.1 runs slow breathing again and again while four
WebSocket pages read every message. Without `--rig` it runs in this process, captions
only. With `--rig` it is the real `companion serve` in a child process with voice and
listening both on, on a PulseAudio server with no sound card (tests/pulse_rig.py: its voice
plays into a null sink and a kitchen carries it back into its microphone): the fake sound
device the issue asks for, and the underrun, overflow and own-voice command counts of a
long session. Drift is how late each phase change reaches a page against the end the
page was told (receipt + `remaining`), so it includes WebSocket delivery; memory is the
companion process's RSS.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from websockets.sync.client import ClientConnection, connect

from companion.app import Companion
from companion.core.effects import Command, CommandName
from companion.options import Options
from companion.webapp.server import make_companion_server
from companion.webapp.site import build_web_app

ROOT = Path(__file__).resolve().parent.parent


def rss_mb(pid: int | str = "self") -> float:
    found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(found[1]) / 1024 if found else float("nan")


def summary(drifts: list[float]) -> str:
    late = sorted(abs(d) for d in drifts)
    if not late:
        return "no phase changes"
    p95 = late[min(len(late) - 1, round(0.95 * (len(late) - 1)))]
    return (
        f"{len(late)} phase changes; drift p50 {statistics.median(late):.1f} ms,"
        f" p95 {p95:.1f} ms, max {max(late):.1f} ms"
    )


def watch(ws: ClientConnection, drifts: list[float], stop: threading.Event) -> None:
    """Note, for each phase change, how late it came against the end the page was told."""
    expected: float | None = None
    last: tuple[object, ...] | None = None
    while not stop.is_set():
        try:
            message = json.loads(ws.recv(timeout=1))
        except TimeoutError:
            continue
        except Exception:
            return
        if message["type"] != "state":
            continue
        now = time.monotonic()
        state = message["data"]
        phase = state.get("phase") or {}
        breath = state.get("breath") or {}
        step = state.get("step") or {}
        key = (step.get("index"), phase.get("kind"), breath.get("cycle"), state.get("caption"))
        if key != last and expected is not None and state.get("status") == "running":
            drifts.append((now - expected) * 1000)
        last = key
        remaining = phase.get("remaining")
        running = state.get("status") == "running"
        expected = now + remaining if running and isinstance(remaining, int | float) else None


def main(minutes: float = 10.0) -> None:
    companion = Companion(Options(voice=False, listen_engine="off", journal=False))
    companion.start()
    server = make_companion_server("127.0.0.1", 0, build_web_app(companion, set()))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    host = f"127.0.0.1:{server.server_port}"
    stop = threading.Event()
    drifts: list[float] = []
    stack = ExitStack()
    pages = [stack.enter_context(connect(f"ws://{host}/ws", open_timeout=10)) for _ in range(4)]
    readers = [
        threading.Thread(target=watch, args=(ws, drifts if i == 0 else [], stop), daemon=True)
        for i, ws in enumerate(pages)
    ]
    for reader in readers:
        reader.start()
    companion.submit(Command(CommandName.START, script="slow-breathing"))
    time.sleep(30)  # past start-up: measure growth, not loading
    before = rss_mb()
    ends = time.monotonic() + minutes * 60
    while time.monotonic() < ends:
        time.sleep(5)
        if companion.state().get("status") == "ended":
            companion.submit(Command(CommandName.START, script="slow-breathing"))
    after = rss_mb()
    stop.set()
    stack.close()
    companion.hub.close()
    server.shutdown()
    server.server_close()
    companion.close()
    print(
        f"soak, {minutes:g} min, 4 pages: {summary(drifts)};"
        f" RSS {before:.1f} -> {after:.1f} MB ({after - before:+.1f} MB)"
    )


def main_on_rig(minutes: float) -> None:
    """The real `companion serve`, voice and listening on, on the PulseAudio rig."""
    sys.path.insert(0, str(ROOT / "tests"))
    from duplex_support import ServedCompanion
    from pulse_rig import KITCHEN, PulseRig, rig_missing

    missing = rig_missing()
    if missing:
        sys.exit(f"bench_soak --rig: {missing}")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        rig = PulseRig(root, KITCHEN).start()
        served = ServedCompanion(rig, root, root / "cache")
        try:
            served.wait_ready()
            host = f"127.0.0.1:{served.port}"
            stop = threading.Event()
            drifts: list[float] = []
            with ExitStack() as stack:
                pages = [
                    stack.enter_context(connect(f"ws://{host}/ws", open_timeout=10))
                    for _ in range(4)
                ]
                for i, ws in enumerate(pages):
                    threading.Thread(
                        target=watch, args=(ws, drifts if i == 0 else [], stop), daemon=True
                    ).start()
                served.command("start", script="slow-breathing")
                time.sleep(60)  # past start-up and the first renders: growth, not loading
                pid = served.process.pid
                before, first = rss_mb(pid), served.status()
                started = time.monotonic()
                while time.monotonic() < started + minutes * 60:
                    time.sleep(5)
                    if served.state().get("status") == "ended":
                        served.command("start", script="slow-breathing")
                hours = (time.monotonic() - started) / 3600
                after, last = rss_mb(pid), served.status()
                stop.set()

            def grew(part: str, key: str) -> int:
                return int(last[part].get(key, 0)) - int(first[part].get(key, 0))

            print(
                f"soak on the rig, {minutes:g} min, voice and listening on, 4 pages:"
                f" {summary(drifts)}; RSS {before:.1f} -> {after:.1f} MB"
                f" ({after - before:+.1f} MB); voice {'on' if last['voice']['on'] else 'OFF'},"
                f" listening {'on' if last['listening']['on'] else 'OFF'};"
                f" underruns {grew('voice', 'underruns') / hours:.0f}/h,"
                f" overflows {grew('listening', 'overflows') / hours:.0f}/h;"
                f" commands from its own voice {grew('listening', 'heard')},"
                f" holds {grew('listening', 'held')}"
            )
        finally:
            served.close()
            rig.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("minutes", nargs="?", type=float, default=10.0)
    parser.add_argument("--rig", action="store_true", help="voice and listening on the rig")
    options = parser.parse_args()
    if options.rig:
        main_on_rig(options.minutes)
    else:
        main(options.minutes)
