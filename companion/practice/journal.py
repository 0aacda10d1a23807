"""The local practice journal: what was practised, never what was said.

One SQLite file (standard library, WAL mode) in the user's data folder. The schema is
versioned with ``PRAGMA user_version`` and an ordered tuple of migrations. Sessions are
written at "started" and updated at every milestone, so a crash leaves a row that the
next opening marks as interrupted.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Literal, get_args

from companion.core.effects import Milestone
from companion.core.errors import CompanionError
from companion.core.script import Script
from companion.practice.homework import Plan, Practice
from companion.private_files import open_private, private_file, private_folder

logger = logging.getLogger(__name__)

DATA_DIR_ENV = "COMPANION_DATA_DIR"
"""Set this to keep the journal somewhere else (tests, a second couple on one laptop)."""
JOURNAL_FILE = "journal.sqlite3"
LOCK_FILE = "journal.lock"

Ending = Literal["completed", "stopped", "interrupted"]
Moment = Literal["before", "after"]
Partner = Literal["a", "b"]
PlanImport = Literal["added", "replaced", "unchanged"]


class JournalError(CompanionError):
    """The journal cannot be opened or changed as asked."""


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


# -- the file lock that tells a live recorder from a crashed one ---------------------------


class _FileLock:
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
            lock = _FileLock(self.data_dir / LOCK_FILE)
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


# -- the recorder the runner calls ---------------------------------------------------------


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
        self._lock: _FileLock | None = None
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
            lock = _FileLock(journal.data_dir / LOCK_FILE)
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
