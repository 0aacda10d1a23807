"""What the person at the terminal is told: each change of the voice and of listening, once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping


class TerminalNews:
    """Says a line when the voice or listening changes (loading, on, off and why); any thread."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._said: dict[str, str] = {}
        """The last line the terminal got about the voice and listening: each change once."""
        self._lock = threading.Lock()

    def tell(self, status: Mapping[str, object]) -> None:
        """Say each part of `status` (a Status dict) that changed since it was last said."""
        for part in ("voice", "listening"):
            info = status[part]
            assert isinstance(info, dict)
            if info.get("on"):
                engine = info.get("engine")
                line = f"{part}: on ({engine})." if engine else f"{part}: on."
            else:
                line = f"{part}: off. {info.get('reason', '')}"
            with self._lock:
                if line == self._said.get(part):
                    continue
                self._said[part] = line
            self._say(line)
