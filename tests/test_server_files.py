"""`companion serve` out of file descriptors: hundreds of half-open connections against a
low descriptor limit. The process must live, and answer normally once they are gone."""

from __future__ import annotations

import http.client
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_process import serve_process
from waiting import wait_for

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX descriptor limits")

DESCRIPTOR_LIMIT = 256
CONNECTIONS = 300
"""More than the server process may hold open at once."""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    with serve_process(tmp_path, descriptor_limit=DESCRIPTOR_LIMIT) as served:
        yield served


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
    with serve_process(tmp_path, "--lan") as (process, _):
        assert process.stdout is not None
        line = process.stdout.readline()  # the one after "companion is running at ..."
        found = re.search(rf"open (http://{re.escape(address)}:\d+)/pair\?code=(\w{{6}})\n", line)
        assert found, line
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
