"""How a companion runs: one frozen set of options, from the command line or a test."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from companion.core.phase import DEFAULT_RATE
from companion.core.script import Names
from companion.library.loader import default_library_dir


@dataclass(frozen=True)
class Options:
    """How this companion runs; built from the command line or by tests."""

    scripts_dir: Path = field(default_factory=default_library_dir)
    names: Names = field(default_factory=Names)
    voice: bool = True
    """False: captions only, no text-to-speech and no sound device."""
    voice_name: str = ""
    rate: int = DEFAULT_RATE
    """Words per minute."""
    volume: float = 0.9
    listen_engine: Literal["auto", "vosk", "pocketsphinx", "off"] = "auto"
    """"auto" (vosk if a model is installed, else pocketsphinx), "vosk", "pocketsphinx" or "off"."""
    signal_phrase: str = ""
    """The couple's own word or phrase for a time-out, heard besides the built-in ones.

    Given (`--signal`), it wins for this run over the one last set on the page."""
    data_dir: Path | None = None
    cache_dir: Path | None = None
    journal: bool = True
    input_device: int | str | None = None
    """The microphone: a PortAudio device (index or name part) or a sound server's source."""
    output_device: int | str | None = None
    """The speakers: a PortAudio device (index or name part) or a sound server's sink."""
