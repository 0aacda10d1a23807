"""The data folder and its files are the couple's alone: the folder 0700, its files 0600.

The journal and the settings say when a couple practised, how calm they felt and their
break word; nobody else on the machine needs to read them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> None:
    """Create `path` (with its parents) if missing, and let only its owner in."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    _tighten(path, FOLDER_MODE)


def private_file(path: Path) -> None:
    """Create `path` if missing, readable and writable by its owner only."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE))
    _tighten(path, FILE_MODE)


def open_private(path: Path, mode: str) -> int:
    """A file descriptor for `path`, created owner-only if new (for `os.fdopen`)."""
    flags = {"a": os.O_WRONLY | os.O_CREAT | os.O_APPEND, "a+": os.O_RDWR | os.O_CREAT}[mode]
    descriptor = os.open(path, flags, FILE_MODE)
    _tighten(path, FILE_MODE)
    return descriptor


def _tighten(path: Path, allowed: int) -> None:
    """Take away any permission beyond `allowed` (an older version, or a looser umask)."""
    if os.name != "posix":
        return  # on Windows the user profile's ACLs already keep others out
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~allowed:
        os.chmod(path, current & allowed)
