"""A long run with 4 pages connected: timer drift and memory growth.

Run: .venv/bin/python bench/bench_soak.py [minutes]   (default 10; the issue asks for 120)
A real companion (captions only: this machine has no sound card) on 127.0.0.1 runs
slow breathing again and again while four WebSocket pages read every message. Drift is
how late each phase change reaches a page against the end the page was told
(receipt + `remaining`), so it includes WebSocket delivery; memory is the process's RSS.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from websockets.sync.client import ClientConnection, connect

from companion.app import Companion, Options, build_web_app
from companion.effects import Command, CommandName
from companion.server import make_companion_server


def rss_mb() -> float:
    found = re.search(r"VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text())
    return int(found[1]) / 1024 if found else float("nan")


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
    late = sorted(abs(d) for d in drifts)
    p95 = late[min(len(late) - 1, round(0.95 * (len(late) - 1)))] if late else float("nan")
    print(
        f"soak, {minutes:g} min, 4 pages: {len(late)} phase changes; drift p50"
        f" {statistics.median(late):.1f} ms, p95 {p95:.1f} ms, max {max(late):.1f} ms;"
        f" RSS {before:.1f} -> {after:.1f} MB ({after - before:+.1f} MB)"
    )


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)
