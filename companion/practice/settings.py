"""Settings chosen on the page, remembered in the data folder from one run to the next.

One small JSON file, replaced whole (written beside it, then renamed over it), so a crash
never leaves half a file. A file that cannot be read or makes no sense is ignored with a
warning in the log: the companion then starts with its defaults, never with a traceback.
Settings are choices, never anything said in the room.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from companion.listening.commands_vocab import SignalPhraseError, clean_signal_phrase
from companion.private_files import open_private, private_folder

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
VERSION = 1


@dataclass(frozen=True)
class Settings:
    """What the couple chose on the page."""

    signal_phrase: str = ""
    """Their own word or phrase for a time-out ("" for none)."""


def load_settings(data_dir: Path) -> Settings:
    """The settings remembered in `data_dir`; the defaults if none are, or they are unusable."""
    path = data_dir / SETTINGS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError, ValueError) as error:
        log.warning("ignoring the settings in %s: cannot read them (%s)", path, error)
        return Settings()
    phrase = data.get("signal_phrase", "") if isinstance(data, dict) else None
    if not isinstance(phrase, str):
        log.warning("ignoring the settings in %s: signal_phrase is not text", path)
        return Settings()
    try:
        return Settings(signal_phrase=clean_signal_phrase(phrase))
    except SignalPhraseError as error:
        log.warning("ignoring the settings in %s: %s", path, error)
        return Settings()


def save_settings(data_dir: Path, settings: Settings) -> None:
    """Write `settings` to `data_dir` atomically; raises OSError if the folder is unwritable."""
    private_folder(data_dir)
    path = data_dir / SETTINGS_FILE
    temp = path.with_name(f".{SETTINGS_FILE}.{os.getpid()}.tmp")
    text = json.dumps({"version": VERSION, "signal_phrase": settings.signal_phrase}, indent=2)
    try:
        temp.unlink(missing_ok=True)  # a leftover from a crash may have been made looser
        with os.fdopen(open_private(temp, "a"), "w", encoding="utf-8") as file:
            file.write(text + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
