"""Figures for the pages and the server: how fast every page follows, how exact a page that
connects mid-countdown is, and what hostile clients cost. Everything on 127.0.0.1.

Run: .venv/bin/python bench/bench_server.py
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import re
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from websockets.sync.client import ClientConnection, connect

from companion.app import Companion
from companion.core.effects import Command, CommandName
from companion.core.engine import Engine
from companion.options import Options
from companion.webapp.server import make_companion_server
from companion.webapp.site import build_web_app

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from serve_process import serve_process  # noqa: E402

LONG_QUIET = """\
format = 1
title = "Long quiet"
summary = "Ten quiet minutes: a countdown to connect to."

[[step]]
kind = "silence"
seconds = 600
"""


@contextmanager
def companion_served(scripts: Path | None = None) -> Iterator[tuple[Companion, str]]:
    options = Options(voice=False, listen_engine="off", journal=False)
    if scripts is not None:
        options = Options(voice=False, listen_engine="off", journal=False, scripts_dir=scripts)
    companion = Companion(options)
    companion.start()
    server = make_companion_server("127.0.0.1", 0, build_web_app(companion, set()))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield companion, f"127.0.0.1:{server.server_port}"
    finally:
        companion.hub.close()
        server.shutdown()
        server.server_close()
        companion.close()


def next_state(ws: ClientConnection) -> dict[str, object]:
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message["type"] == "state":
            data: dict[str, object] = message["data"]
            return data


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def bench_fan_out(pages: int = 4, rounds: int = 60) -> None:
    """A button on one page -> the new state on every other page."""
    with companion_served() as (companion, host), ExitStack() as stack:
        sockets = [
            stack.enter_context(connect(f"ws://{host}/ws", open_timeout=10)) for _ in range(pages)
        ]
        for ws in sockets:
            next_state(ws)
        companion.submit(Command(CommandName.START, script="slow-breathing"))
        for ws in sockets:
            while next_state(ws)["status"] != "running":
                pass
        delays: list[float] = []
        for number in range(rounds):
            name = "pause" if number % 2 == 0 else "resume"
            wanted = "paused" if name == "pause" else "running"
            sent = time.perf_counter()
            sockets[0].send(json.dumps({"type": "command", "data": {"name": name}}))
            slowest = 0.0
            for ws in sockets[1:]:
                while next_state(ws)["status"] != wanted:
                    pass
                slowest = max(slowest, time.perf_counter() - sent)
            while next_state(sockets[0])["status"] != wanted:
                pass
            delays.append(slowest * 1000)
            time.sleep(0.05)
    print(
        f"button on one page -> all {pages - 1} other pages updated ({rounds} presses):"
        f" p50 {statistics.median(delays):.1f} ms, p95 {percentile(delays, 0.95):.1f} ms,"
        f" max {max(delays):.1f} ms"
    )


def bench_mid_countdown(connections: int = 12) -> None:
    """A page connecting at a random moment: its deadline against the engine's."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "long-quiet.toml").write_text(LONG_QUIET)
        with companion_served(Path(folder)) as (companion, host):
            companion.submit(Command(CommandName.START, script="long-quiet"))
            answer: list[float] = []
            done = threading.Event()

            def ask(engine: Engine) -> None:
                now = time.monotonic()
                answer.append(now + (engine.remaining(now) or 0.0))
                done.set()

            while True:
                done.clear()
                answer.clear()
                companion.runner.call(ask)
                done.wait(10)
                if companion.state().get("phase") and answer[0] > time.monotonic() + 60:
                    break
                time.sleep(0.1)
            deadline = answer[0]
            errors: list[float] = []
            for _ in range(connections):
                time.sleep(random.uniform(0.2, 0.8))  # nothing is published meanwhile
                with connect(f"ws://{host}/ws", open_timeout=10) as ws:
                    state = next_state(ws)
                    received = time.monotonic()
                phase = state["phase"]
                assert isinstance(phase, dict)
                errors.append(abs(received + phase["remaining"] - deadline) * 1000)
    print(
        f"page connecting mid-countdown, its deadline vs the engine's ({connections} pages):"
        f" median {statistics.median(errors):.1f} ms, max {max(errors):.1f} ms"
    )


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(found[1]) / 1024 if found else float("nan")


@contextmanager
def served(descriptor_limit: int | None = None) -> Iterator[tuple[int, str]]:
    """`companion serve` in its own process, its journal in a folder that goes with it."""
    with (
        tempfile.TemporaryDirectory() as data,
        serve_process(Path(data), descriptor_limit=descriptor_limit) as (process, host),
    ):
        try:
            yield process.pid, host
        finally:
            if process.poll() is not None:
                print("  the server process had died")


def page_status(host: str) -> int:
    connection = http.client.HTTPConnection(host, timeout=5)
    try:
        connection.request("GET", "/")
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


def bench_half_open(count: int = 1100, limit: int = 1024) -> None:
    """Half-sent requests past the descriptor limit: does it live, how soon does a page load."""
    with served(limit) as (pid, host):
        name, port = host.split(":")
        held = []
        for _ in range(count):
            sock = socket.create_connection((name, int(port)), timeout=10)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: " + host.encode())
            held.append(sock)
        started = time.perf_counter()
        status = page_status(host)
        during = time.perf_counter() - started
        alive = os.path.exists(f"/proc/{pid}")
        for sock in held:
            sock.close()
        gone = time.perf_counter()
        while page_status(host) != 200 and time.perf_counter() - gone < 60:
            time.sleep(0.05)
        loaded = time.perf_counter() - gone
        print(
            f"{count} half-open connections, {limit}-descriptor limit: process alive {alive};"
            f" a page meanwhile got {status} in {during * 1000:.0f} ms;"
            f" a page loads {loaded * 1000:.0f} ms after they go"
        )


def client_frame(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    header = struct.pack("!BB", 0x81, 0x80 | len(payload))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def bench_not_reading(seconds: float = 20.0) -> None:
    """A WebSocket client that sends and never reads: what it costs the server."""
    with served() as (pid, host):
        name, port = host.split(":")
        before = rss_mb(pid)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect((name, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        frame = client_frame('{"type":"command","data":{"name":"pause"}}' + " " * 60)
        started = time.perf_counter()
        peak = before
        sent = 0
        closed_after = None
        while time.perf_counter() - started < seconds:
            try:
                sock.sendall(frame * 50)
                sent += 50
            except OSError:
                closed_after = time.perf_counter() - started
                break
            peak = max(peak, rss_mb(pid))
        sock.close()
        ended = (
            f"closed by the server after {closed_after:.1f} s and {sent} messages"
            if closed_after is not None
            else f"still open after {seconds:.0f} s and {sent} messages"
        )
        print(
            f"a WebSocket client that sends and never reads: RSS {before:.0f} -> peak"
            f" {peak:.0f} MB (+{peak - before:.1f} MB); {ended}"
        )


def bench_plan_check() -> None:
    """The largest legal plans: 256 KiB of unknown keys; twenty embedded scripts."""
    from companion.practice.plan_check import MAX_PLAN_BYTES, check_plan_bytes

    head = 'format = 1\nid = "p"\nversion = 1\ntitle = "T"\nfrom = 2025-01-01\nuntil = 2099-01-01\n'
    lines: list[str] = []
    size = len(head)
    while size < MAX_PLAN_BYTES - 40:
        lines.append(f"unknown_key_{len(lines)} = {len(lines)}\n")
        size += len(lines[-1])
    unknown = (head + "".join(lines)).encode()
    practices = []
    for number in range(20):
        practices.append(
            f'[[practice]]\nid = "s{number}"\ntimes_per_week = 1\n[practice.script]\n'
            f'format = 1\ntitle = "S{number}"\nsummary = "x"\n'
        )
        practices.extend(
            f'[[practice.script.step]]\nkind = "say"\ntext = "Breathe in slowly, {k}."\n'
            for k in range(150)
        )
    embedded = (head + "".join(practices)).encode()[:MAX_PLAN_BYTES]
    for name, data in (("unknown keys", unknown), ("20 embedded scripts", embedded)):
        started = time.process_time()
        result = check_plan_bytes(data, "plan.toml", {})
        spent = time.process_time() - started
        print(
            f"checking a {len(data) // 1024} KiB plan of {name}: {spent:.2f} s CPU"
            f" ({len(result.errors)} problems)"
        )


def main() -> None:
    bench_plan_check()
    bench_fan_out()
    bench_mid_countdown()
    bench_half_open()
    bench_not_reading()


if __name__ == "__main__":
    main()
