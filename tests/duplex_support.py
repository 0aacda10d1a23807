"""The real `companion serve` on the full-duplex rig (tests/pulse_rig.py), driven as the
page drives it: the JSON API for commands and state, the WebSocket for what it says."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pulse_rig import PulseRig
from websockets.sync.client import connect

SERVE = "import sys; from companion.cli import main; sys.exit(main())"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServedCompanion:
    """`companion serve` in a child process, voice and listening both on, default engine."""

    def __init__(self, rig: PulseRig, root: Path, cache: Path, *extra: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "companion.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SERVE,
                "-v",
                "serve",
                "--no-browser",
                "--port",
                str(self.port),
                "--data-dir",
                str(root / "data"),
                "--input-device",
                "echo-cancel-source" if rig.system_aec else "air.monitor",
                "--output-device",
                "echo-cancel-sink" if rig.system_aec else "speaker",
                *extra,
            ],
            env=rig.env(XDG_CACHE_HOME=str(cache)),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._socket: Any = None
        self.reader_error = ""

    def wait_ready(self, timeout: float = 120.0) -> dict[str, Any]:
        """Wait until the voice and listening are both on; returns the status."""
        status = self.wait_until(
            lambda: (s := self.status())["voice"]["on"] and s["listening"]["on"] and s,
            timeout,
        )
        threading.Thread(target=self._receive, name="ws-reader", daemon=True).start()
        self.wait_until(lambda: self.received("hello"), timeout=10)
        return dict(status)

    def _receive(self) -> None:
        """The page's side of /ws: keeps every message with the time it arrived."""
        try:
            with connect(f"ws://127.0.0.1:{self.port}/ws", open_timeout=10) as socket:
                self._socket = socket
                for raw in socket:
                    with self._lock:
                        self.messages.append((time.monotonic(), json.loads(raw)))
        except Exception as error:  # closed with the companion, or a bug to show
            self.reader_error = repr(error)

    def received(self, kind: str, since: float = 0.0) -> list[tuple[float, dict[str, Any]]]:
        """(arrival time, data) of every WebSocket message of `kind` since `since`."""
        with self._lock:
            return [(at, m["data"]) for at, m in self.messages if m["type"] == kind and at >= since]

    def wait_message(
        self, kind: str, since: float, matches: Callable[[dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any]:
        """The first WebSocket message of `kind` since `since` that `matches` (waits for it)."""

        def found() -> dict[str, Any] | None:
            return next((d for _, d in self.received(kind, since) if matches(d)), None)

        return dict(self.wait_until(found, timeout))

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=10) as answer:
            return json.load(answer)

    def status(self) -> dict[str, Any]:
        try:
            return dict(self.get("/api/status"))
        except OSError:
            return {"voice": {"on": False}, "listening": {"on": False}}

    def state(self) -> dict[str, Any]:
        return dict(self.get("/api/state"))

    def command(self, name: str, **data: Any) -> None:
        request = urllib.request.Request(
            self.base + "/api/command",
            data=json.dumps({"name": name, **data}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def wait_until(self, condition: Callable[[], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"companion exited:\n{self.log()}")
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out; last state {self.state()}; last status {self.status()};"
                    " WebSocket reader: "
                    f"{self.reader_error or 'running'}\n{self.log()}"
                )
            time.sleep(0.05)

    def _lines(self) -> list[str]:
        """Its log's lines without the requests the tests themselves make."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if "webapp.server" not in line and "werkzeug" not in line]

    def log(self) -> str:
        return "\n".join(self._lines())[-4000:]

    def log_lines(self, containing: str, before: int = 12) -> str:
        """Each line of its log that contains `containing`, with the `before` lines leading
        up to it: why it did what a test did not expect."""
        lines = self._lines()
        shown: list[str] = []
        for i, line in enumerate(lines):
            if containing in line:
                shown += [*lines[max(0, i - before) : i + 1], "..."]
        return "\n".join(shown)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()
