"""What the page drives: the one interface between the web face and the companion."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from companion.core.effects import Command
from companion.core.script import Names
from companion.webapp.hub import Hub


class Controller(Protocol):
    """What the page drives: the companion's session, behind a queue."""

    hub: Hub

    def submit(self, command: Command) -> None:
        """Queue a command for the runner thread; never blocks."""
        ...

    def set_names(self, names: Names) -> None:
        """Queue new partner names; never blocks."""
        ...

    def set_signal(self, phrase: str) -> None:
        """Listen for the couple's own break word ("" for none); never blocks.

        Whether it can be recognised reaches every page in the status."""
        ...

    def scripts(self) -> list[dict[str, object]]:
        """The library as ScriptInfo dicts (docs/protocol.md)."""
        ...

    def status(self) -> dict[str, object]:
        """Voice and listening availability as a Status dict."""
        ...

    def state(self) -> dict[str, object]:
        """The latest State dict."""
        ...

    def audio_file(self, key: str) -> Path | None:
        """A rendered line's WAV by its key (`sound` messages name it), or None."""
        ...
