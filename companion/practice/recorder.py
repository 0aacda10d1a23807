"""The engine's milestones into journal rows, as a session runs."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from companion.core.effects import Milestone
from companion.core.errors import CompanionError
from companion.core.script import Script
from companion.practice.journal import Ending, Journal
from companion.practice.journal_file import LOCK_FILE, FileLock

logger = logging.getLogger(__name__)

ScriptLookup = Callable[[str], Script | None]


class JournalRecorder:
    """Turns the engine's `Milestone` effects into journal rows, one commit each.

    Built anywhere, used from one thread: the connection opens on the first `record`.
    A journal that cannot be written is logged, never allowed to stop a session.
    """

    def __init__(self, data_dir: Path | None = None, scripts: ScriptLookup | None = None) -> None:
        self._data_dir = data_dir
        self._scripts = scripts
        self._journal: Journal | None = None
        self._lock: FileLock | None = None
        self._session: int | None = None
        self._script = ""
        self._done: set[int] = set()
        self._failed = False

    @property
    def session_id(self) -> int | None:
        """The id of the session being recorded, if one is running."""
        return self._session

    def record(self, milestone: Milestone, at: datetime | None = None) -> None:
        """Write one milestone (at `at`, default now): about a millisecond; errors only logged."""
        try:
            self._record(milestone, datetime.now().astimezone() if at is None else at)
        except (sqlite3.Error, OSError, CompanionError) as error:
            if not self._failed:
                logger.error("the journal could not record this session: %s", error)
            self._failed = True

    def _open(self) -> Journal:
        if self._journal is None:
            # The runner thread records; whoever shuts the app down may close.
            journal = Journal(self._data_dir, recover=False, any_thread=True)
            lock = FileLock(journal.data_dir / LOCK_FILE)
            if lock.try_acquire():
                self._lock = lock
            else:
                logger.warning("another companion is recording to %s", journal.path)
            # Sessions left open now are from a process that died; ours has not started.
            journal.mark_interrupted()
            self._journal = journal
        return self._journal

    def _record(self, milestone: Milestone, at: datetime) -> None:
        journal = self._open()
        if milestone.kind == "started":
            if self._session is not None:
                journal.end_session(self._session, "interrupted", at)
            script = self._scripts(milestone.script) if self._scripts else None
            title = script.title if script else milestone.script
            total = len(script.steps) if script else 0
            self._session = journal.start_session(milestone.script, title, total, at)
            self._script = milestone.script
            self._done = set()
            return
        if self._session is None:
            return
        if milestone.kind == "reached" and milestone.script == self._script:
            journal.update_session(self._session, reached=milestone.step + 1)
        elif milestone.kind == "step" and milestone.script == self._script:
            self._done.add(milestone.step)
            journal.update_session(self._session, steps_completed=len(self._done))
        elif milestone.kind == "paused":
            journal.update_session(self._session, add_pause=True)
        elif milestone.kind == "timeout":
            journal.update_session(self._session, add_timeout=True)
        elif milestone.kind == "ended":
            ending: Ending = "completed" if milestone.detail == "completed" else "stopped"
            journal.end_session(self._session, ending, at)
            self._session = None

    def close(self) -> None:
        """Close the connection and let go of the lock (a running session stays open)."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None
