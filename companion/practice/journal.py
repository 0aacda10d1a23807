"""The local practice journal: what was practised, never what was said.

One SQLite file (standard library, WAL mode) in the user's data folder. The schema is
versioned with ``PRAGMA user_version`` and an ordered tuple of migrations. Sessions are
written at "started" and updated at every milestone, so a crash leaves a row that the
next opening marks as interrupted.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from companion.core.errors import CompanionError
from companion.practice.homework import Plan, Practice
from companion.practice.journal_file import (
    JOURNAL_FILE,
    LOCK_FILE,
    MIGRATIONS,
    SCHEMA_VERSION,
    FileLock,
    resolve_data_dir,
)
from companion.private_files import private_file, private_folder

logger = logging.getLogger(__name__)

Ending = Literal["completed", "stopped", "interrupted"]
Moment = Literal["before", "after"]
Partner = Literal["a", "b"]
PlanImport = Literal["added", "replaced", "unchanged"]


class JournalError(CompanionError):
    """The journal cannot be opened or changed as asked."""


# -- records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRecord:
    """One practice session as the journal holds it."""

    id: int
    script_id: str
    script_title: str
    started_at: datetime
    ended_at: datetime | None
    steps_completed: int
    """Steps that ran to their end (a step skipped with Next is not counted)."""
    total_steps: int
    pauses: int
    timeouts: int
    """Time-outs called during this session (a time-out on its own is a session of its own)."""
    ending: Ending | None
    """None only while the session is still running."""
    calm_before_a: int | None = None
    calm_before_b: int | None = None
    calm_after_a: int | None = None
    calm_after_b: int | None = None
    steps_reached: int = 0
    """The furthest step the session got to, counting from 1; all of them when completed."""

    @property
    def minutes(self) -> float | None:
        """How long it lasted, in minutes; None while running."""
        if self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.started_at).total_seconds() / 60.0)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data, times as ISO 8601 strings."""
        return {
            "id": self.id,
            "script": self.script_id,
            "title": self.script_title,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "minutes": None if self.minutes is None else round(self.minutes, 1),
            "steps_reached": self.steps_reached,
            "steps_completed": self.steps_completed,
            "total_steps": self.total_steps,
            "pauses": self.pauses,
            "timeouts": self.timeouts,
            "ending": self.ending,
            "calm": {
                "a": {"before": self.calm_before_a, "after": self.calm_after_a},
                "b": {"before": self.calm_before_b, "after": self.calm_after_b},
            },
        }


@dataclass(frozen=True)
class DeleteSummary:
    """What `Journal.delete_all` removed."""

    sessions: int
    plans: int
    path: Path

    def __str__(self) -> str:
        return (
            f"Deleted {_count(self.sessions, 'session')} and {_count(self.plans, 'homework plan')}"
            f" from {self.path}, and wiped the freed space in the file."
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def local_time(at: datetime) -> datetime:
    """`at` as an aware local time; naive times are taken as local already."""
    return at.astimezone()


class Journal:
    """An open journal file: sessions, calm ratings and homework plans."""

    def __init__(
        self, data_dir: Path | None = None, *, recover: bool = True, any_thread: bool = False
    ) -> None:
        """Open (creating and migrating as needed); `any_thread` allows a hand-over between
        threads, never simultaneous use."""
        self.data_dir = resolve_data_dir(data_dir)
        self.path = self.data_dir / JOURNAL_FILE
        try:
            private_folder(self.data_dir)
            private_file(self.path)  # before SQLite creates it: its -wal and -shm follow suit
        except OSError as error:
            raise JournalError(
                f"Cannot create the journal folder {self.data_dir} ({error.strerror}); "
                "choose another with --data-dir."
            ) from error
        self._db = self._connect(any_thread)
        if recover:
            lock = FileLock(self.data_dir / LOCK_FILE)
            # A running recorder holds the lock: its open session is live, not interrupted.
            if lock.try_acquire():
                try:
                    self.mark_interrupted()
                finally:
                    lock.release()

    def _connect(self, any_thread: bool) -> sqlite3.Connection:
        try:
            # Autocommit mode: transactions are explicit, so each milestone is its own commit.
            db = sqlite3.connect(
                self.path, isolation_level=None, timeout=10.0, check_same_thread=not any_thread
            )
        except sqlite3.Error as error:
            raise JournalError(
                f"Cannot open the journal {self.path} ({error}); check the folder's permissions."
            ) from error
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit survives a power cut, so a started session is never lost.
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA secure_delete = ON")
            self._migrate(db)
        except sqlite3.DatabaseError as error:
            db.close()
            raise JournalError(
                f"{self.path} is not a companion journal that this version can read ({error}); "
                "move it away or use another --data-dir."
            ) from error
        except JournalError:
            db.close()
            raise
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"The journal {self.path} was written by a newer companion (schema {version}); "
                "update companion to read it."
            )
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            with _transaction(db):
                migration(db)
                db.execute(f"PRAGMA user_version = {number}")
            logger.info("journal schema migrated to version %d", number)

    def close(self) -> None:
        """Close the connection; the journal stays on disk."""
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def columns(self, table: str) -> list[str]:
        """The column names of one table (for tests and for the curious)."""
        return [row[1] for row in self._db.execute(f"PRAGMA table_info({table})")]

    def tables(self) -> list[str]:
        """The names of all tables in the file."""
        rows = self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return sorted(row[0] for row in rows)

    # -- sessions --------------------------------------------------------------------------

    def start_session(
        self, script_id: str, script_title: str, total_steps: int, at: datetime
    ) -> int:
        """Write a new running session and return its id."""
        with _transaction(self._db):
            cursor = self._db.execute(
                "INSERT INTO sessions (script_id, script_title, started_at, total_steps)"
                " VALUES (?, ?, ?, ?)",
                (script_id, script_title, local_time(at).isoformat(), total_steps),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def update_session(
        self,
        session_id: int,
        *,
        steps_completed: int | None = None,
        add_pause: bool = False,
        add_timeout: bool = False,
        reached: int | None = None,
    ) -> None:
        """Record progress of a running session (one commit); `reached` only ever grows."""
        with _transaction(self._db):
            self._db.execute(
                "UPDATE sessions SET steps_completed = COALESCE(?, steps_completed),"
                " pauses = pauses + ?, timeouts = timeouts + ?,"
                " steps_reached = MAX(steps_reached, COALESCE(?, 0)) WHERE id = ?",
                (steps_completed, int(add_pause), int(add_timeout), reached, session_id),
            )

    def end_session(self, session_id: int, ending: Ending, at: datetime) -> None:
        """Record how and when a session ended."""
        with _transaction(self._db):
            self._db.execute(
                "UPDATE sessions SET ended_at = ?, ending = ? WHERE id = ? AND ending IS NULL",
                (local_time(at).isoformat(), ending, session_id),
            )

    def mark_interrupted(self) -> int:
        """Mark every session that never ended as interrupted; return how many."""
        with _transaction(self._db):
            cursor = self._db.execute(
                "UPDATE sessions SET ending = 'interrupted' WHERE ending IS NULL"
            )
        if cursor.rowcount:
            logger.warning("%d session(s) were interrupted and are recorded so", cursor.rowcount)
        return cursor.rowcount

    def set_calm(
        self, session_id: int, partner: Partner, moment: Moment, value: int | None
    ) -> None:
        """Set (or clear, with None) one partner's 0-10 calm rating before or after a session."""
        if partner not in get_args(Partner) or moment not in get_args(Moment):
            raise JournalError("A calm rating is for partner a or b, before or after a session.")
        if value is not None and (isinstance(value, bool) or not 0 <= value <= 10):
            raise JournalError("A calm rating is a whole number from 0 to 10.")
        with _transaction(self._db):
            cursor = self._db.execute(
                f"UPDATE sessions SET calm_{moment}_{partner} = ? WHERE id = ?",
                (value, session_id),
            )
        if cursor.rowcount == 0:
            raise JournalError(f"There is no session {session_id} in the journal.")

    def sessions(self, since: date | None = None) -> list[SessionRecord]:
        """All sessions, oldest first, optionally only those started on or after `since`."""
        rows = self._db.execute("SELECT * FROM sessions ORDER BY started_at, id").fetchall()
        records = [_session(row) for row in rows]
        if since is not None:
            records = [r for r in records if r.started_at.date() >= since]
        return records

    def session(self, session_id: int) -> SessionRecord | None:
        """One session by id."""
        row = self._db.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else _session(row)

    # -- homework plans --------------------------------------------------------------------

    def save_plan(self, plan: Plan, at: datetime) -> PlanImport:
        """Store a validated plan: once per id+version; a newer version replaces the older."""
        with _transaction(self._db):
            row = self._db.execute("SELECT version FROM plans WHERE id = ?", (plan.id,)).fetchone()
            if row is not None and row[0] == plan.version:
                return "unchanged"
            if row is not None and row[0] > plan.version:
                raise JournalError(
                    f"A newer version ({row[0]}) of the plan {plan.id!r} is already imported; "
                    f"this file is version {plan.version}."
                )
            self._db.execute("DELETE FROM plans WHERE id = ?", (plan.id,))
            self._db.execute(
                "INSERT INTO plans (id, version, title, starts, until, note, imported_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    plan.id,
                    plan.version,
                    plan.title,
                    plan.starts.isoformat(),
                    plan.until.isoformat(),
                    plan.note,
                    local_time(at).isoformat(),
                ),
            )
            self._db.executemany(
                "INSERT INTO practice (plan_id, position, script_id, script_title,"
                " times_per_week, script_source) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (plan.id, n, p.script_id, p.title, p.times_per_week, p.source)
                    for n, p in enumerate(plan.practice)
                ],
            )
        return "added" if row is None else "replaced"

    def plans(self) -> list[Plan]:
        """Every stored plan, by start date."""
        practice: dict[str, list[Practice]] = {}
        for row in self._db.execute("SELECT * FROM practice ORDER BY plan_id, position"):
            practice.setdefault(row["plan_id"], []).append(
                Practice(
                    script_id=row["script_id"],
                    times_per_week=row["times_per_week"],
                    title=row["script_title"],
                    source=row["script_source"],
                )
            )
        return [
            Plan(
                id=row["id"],
                version=row["version"],
                title=row["title"],
                starts=date.fromisoformat(row["starts"]),
                until=date.fromisoformat(row["until"]),
                note=row["note"],
                practice=tuple(practice.get(row["id"], ())),
            )
            for row in self._db.execute("SELECT * FROM plans ORDER BY starts, id")
        ]

    # -- deleting --------------------------------------------------------------------------

    def counts(self) -> tuple[int, int]:
        """How many sessions and plans the journal holds."""
        sessions = self._db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
        plans = self._db.execute("SELECT COUNT(*) FROM plans").fetchone()[0]
        return int(sessions), int(plans)

    def delete_all(self) -> DeleteSummary:
        """Delete every session and plan and wipe their bytes from the file (and its WAL)."""
        sessions, plans = self.counts()
        with _transaction(self._db):
            self._db.execute("DELETE FROM practice")
            self._db.execute("DELETE FROM plans")
            self._db.execute("DELETE FROM sessions")
        # secure_delete zeroed the freed pages; the checkpoint moves that into the main file,
        # TRUNCATE empties the WAL, and VACUUM rebuilds the file without free pages.
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.execute("VACUUM")
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # Leaving WAL mode removes the -wal file; it only succeeds with no other connection.
        mode = self._db.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        if mode != "delete":
            logger.info("journal is open elsewhere; its WAL file stays (now empty)")
        self._db.execute("PRAGMA journal_mode = WAL")
        return DeleteSummary(sessions, plans, self.path)


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _session(row: sqlite3.Row) -> SessionRecord:
    # A completed session reached its last step; sessions from before steps were counted
    # on entry (schema 2) know at least the steps that ran to their end.
    reached = max(row["steps_reached"], row["steps_completed"])
    if row["ending"] == "completed":
        reached = row["total_steps"]
    return SessionRecord(
        id=row["id"],
        script_id=row["script_id"],
        script_title=row["script_title"],
        started_at=datetime.fromisoformat(row["started_at"]),
        ended_at=datetime.fromisoformat(row["ended_at"]) if row["ended_at"] else None,
        steps_completed=row["steps_completed"],
        total_steps=row["total_steps"],
        pauses=row["pauses"],
        timeouts=row["timeouts"],
        ending=row["ending"],
        calm_before_a=row["calm_before_a"],
        calm_before_b=row["calm_before_b"],
        calm_after_a=row["calm_after_a"],
        calm_after_b=row["calm_after_b"],
        steps_reached=min(reached, row["total_steps"]) if row["total_steps"] else reached,
    )
