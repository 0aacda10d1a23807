"""`companion serve` started as a person starts it, in a process of its own (tests, benches)."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RUNNING_AT = re.compile(r"companion is running at http://(127\.0\.0\.1:\d+)/ ")
"""The first line `companion serve` prints; the group is the address."""


@contextmanager
def serve_process(
    data_dir: Path, *options: str, descriptor_limit: int | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`companion serve OPTIONS` with captions only, no microphone and no browser, on a free
    port: the process and the address its first line gives ("127.0.0.1:PORT"). Its later
    lines wait in `process.stdout`; it is ended on leaving."""

    def limit_descriptors() -> None:
        assert descriptor_limit is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, (descriptor_limit, descriptor_limit))

    command = [sys.executable, "-m", "companion.cli", "serve", *options, "--no-voice"]
    command += ["--engine", "off", "--no-browser", "--port", "0", "--data-dir", str(data_dir)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=None if descriptor_limit is None else limit_descriptors,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    try:
        first = process.stdout.readline()
        found = RUNNING_AT.match(first)
        assert found, first
        yield process, found[1]
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()
