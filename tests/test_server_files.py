"""`companion serve` out of file descriptors: hundreds of half-open connections against a
low descriptor limit. The process must live, and answer normally once they are gone."""

from __future__ import annotations

import http.client
import os
import re
import resource
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from waiting import wait_for

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX descriptor limits")

DESCRIPTOR_LIMIT = 256
CONNECTIONS = 300
"""More than the server process may hold open at once."""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (DESCRIPTOR_LIMIT, DESCRIPTOR_LIMIT))

    command = [sys.executable, "-m", "companion.cli", "serve", "--no-voice", "--engine", "off"]
    command += ["--no-browser", "--port", "0", "--data-dir", str(tmp_path)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=low_limit,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"http://(127\.0\.0\.1:\d+)/", line)
    assert found, line
    try:
        yield process, found[1]
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()


def page_loads(host: str) -> bool:
    connection = http.client.HTTPConnection(host, timeout=10)
    try:
        connection.request("GET", "/")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def test_hundreds_of_half_open_connections_past_the_descriptor_limit_do_not_end_it(
    server: tuple[subprocess.Popen[str], str],
) -> None:
    process, host = server
    name, port = host.split(":")
    held: list[socket.socket] = []
    try:
        for _ in range(CONNECTIONS):
            sock = socket.create_connection((name, int(port)), timeout=10)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: " + host.encode())  # and never more
            held.append(sock)
        assert process.poll() is None
    finally:
        for sock in held:
            sock.close()
    wait_for(lambda: page_loads(host))
    assert process.poll() is None


def test_serve_with_lan_prints_a_pairing_link_that_pairs_once(tmp_path: Path) -> None:
    from companion.webapp.pairing import COOKIE, lan_address

    address = lan_address()
    if address is None:
        pytest.skip("this machine has no LAN address")
    command = [sys.executable, "-m", "companion.cli", "serve", "--lan", "--no-voice"]
    command += ["--engine", "off", "--no-browser", "--port", "0", "--data-dir", str(tmp_path)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    try:
        first, second = process.stdout.readline(), process.stdout.readline()
        assert re.match(r"companion is running at http://127\.0\.0\.1:\d+/ ", first), first
        found = re.search(rf"open (http://{re.escape(address)}:\d+)/pair\?code=(\w{{6}})\n", second)
        assert found, second
        base, code = found[1], found[2]
        host = base.removeprefix("http://")
        for expected in (200, 403):  # the code works once
            connection = http.client.HTTPConnection(host, timeout=10)
            connection.request("GET", f"/pair?code={code}")
            response = connection.getresponse()
            response.read()
            connection.close()
            assert response.status == expected
            if expected == 200:
                assert f"{COOKIE}=" in (response.getheader("Set-Cookie") or "")
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()
