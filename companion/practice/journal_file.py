"""Where the journal lives, its SQLite schema, and the lock a live recorder holds.

The schema is versioned with ``PRAGMA user_version`` and an ordered tuple of
migrations (`Journal` applies them); only ever append one.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

from companion.private_files import open_private

DATA_DIR_ENV = "COMPANION_DATA_DIR"
"""Set this to keep the journal somewhere else (tests, a second couple on one laptop)."""
JOURNAL_FILE = "journal.sqlite3"
LOCK_FILE = "journal.lock"


def resolve_data_dir(explicit: Path | None = None) -> Path:
    """The folder holding the journal: `explicit`, else $COMPANION_DATA_DIR, else the platform's."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(DATA_DIR_ENV)
    if from_env:
        return Path(from_env)
    import platformdirs  # only when needed: keeps `import companion.practice.journal` light

    return Path(platformdirs.user_data_dir("companion"))


# -- schema --------------------------------------------------------------------------------


def _migrate_sessions(db: sqlite3.Connection) -> None:
    # Deliberately no column for audio, transcripts or anything said (a test pins this).
    db.execute(
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            script_id TEXT NOT NULL,
            script_title TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            steps_completed INTEGER NOT NULL DEFAULT 0,
            total_steps INTEGER NOT NULL DEFAULT 0,
            pauses INTEGER NOT NULL DEFAULT 0,
            timeouts INTEGER NOT NULL DEFAULT 0,
            ending TEXT CHECK (ending IN ('completed', 'stopped', 'interrupted')),
            calm_before_a INTEGER CHECK (calm_before_a BETWEEN 0 AND 10),
            calm_before_b INTEGER CHECK (calm_before_b BETWEEN 0 AND 10),
            calm_after_a INTEGER CHECK (calm_after_a BETWEEN 0 AND 10),
            calm_after_b INTEGER CHECK (calm_after_b BETWEEN 0 AND 10)
        )
        """
    )
    db.execute("CREATE INDEX sessions_started ON sessions (started_at)")


def _migrate_plans(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE plans (
            id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            title TEXT NOT NULL,
            starts TEXT NOT NULL,
            until TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            imported_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE practice (
            plan_id TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            script_id TEXT NOT NULL,
            script_title TEXT NOT NULL DEFAULT '',
            times_per_week INTEGER NOT NULL CHECK (times_per_week BETWEEN 1 AND 14),
            script_source TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (plan_id, position)
        )
        """
    )


def _migrate_steps_reached(db: sqlite3.Connection) -> None:
    # How far a session got, however it moved (Next counts): what a therapist reads first.
    db.execute("ALTER TABLE sessions ADD COLUMN steps_reached INTEGER NOT NULL DEFAULT 0")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migrate_sessions,
    _migrate_plans,
    _migrate_steps_reached,
)
"""Applied in order; the schema version is how many have run. Only ever append."""

SCHEMA_VERSION = len(MIGRATIONS)


# -- the file lock that tells a live recorder from a crashed one ---------------------------


class FileLock:
    """An exclusive OS lock on a small file; the OS drops it when the process dies."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        file = os.fdopen(open_private(self._path, "a+"), "a+b")
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            file.close()
            return False
        self._file = file
        return True

    def release(self) -> None:
        if self._file is None:
            return
        # Closing the file drops the lock on every platform.
        self._file.close()
        self._file = None


# -- the journal ---------------------------------------------------------------------------
