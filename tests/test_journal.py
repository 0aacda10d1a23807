"""The practice journal: sessions recorded from milestones, crash recovery, deletion."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from companion.cli import main
from companion.core.effects import Milestone
from companion.core.script import Say, Script, Silence
from companion.practice.journal import Journal, JournalError
from companion.practice.journal_file import (
    DATA_DIR_ENV,
    JOURNAL_FILE,
    MIGRATIONS,
    _migrate_sessions,
)
from companion.practice.recorder import JournalRecorder

T0 = datetime(2025, 3, 4, 19, 0)
FORBIDDEN = (
    "audio",
    "transcript",
    "speech",
    "said",
    "text",
    "word",
    "utterance",
    "record",
    "voice",
)


def _script(script_id: str = "evening", steps: int = 3) -> Script:
    return Script(
        script_id,
        "Evening check-in",
        "A short check-in.",
        tuple(Say(f"line {n}") if n % 2 else Silence(5.0) for n in range(steps)),
    )


def _recorder(data_dir: Path, *scripts: Script) -> JournalRecorder:
    library = {s.id: s for s in scripts}
    return JournalRecorder(data_dir, library.get)


def test_schema_has_no_column_for_audio_transcripts_or_anything_said(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        columns = [f"{t}.{c}" for t in journal.tables() for c in journal.columns(t)]
    assert "sessions.pauses" in columns
    offending = [c for c in columns if any(word in c.lower() for word in FORBIDDEN)]
    assert offending == []


def test_journal_is_in_wal_mode_at_the_latest_schema_version(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        assert journal.schema_version == len(MIGRATIONS)
    db = sqlite3.connect(tmp_path / JOURNAL_FILE)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


def test_an_older_journal_is_migrated_keeping_its_sessions(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / JOURNAL_FILE)
    _migrate_sessions(db)
    db.execute(
        "INSERT INTO sessions (script_id, script_title, started_at, ended_at, ending)"
        " VALUES ('grounding', 'Grounding', ?, ?, 'completed')",
        (T0.astimezone().isoformat(), (T0 + timedelta(minutes=5)).astimezone().isoformat()),
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Journal(tmp_path) as journal:
        assert journal.schema_version == len(MIGRATIONS)
        assert "plans" in journal.tables()
        [session] = journal.sessions()
    assert (session.script_id, session.ending, session.minutes) == ("grounding", "completed", 5.0)


def test_a_journal_from_a_newer_companion_is_refused_in_one_sentence(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / JOURNAL_FILE)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(JournalError, match=r"newer companion \(schema \d+\); update companion"):
        Journal(tmp_path)


def test_recorder_writes_a_completed_session_with_steps_pauses_and_timeouts(
    tmp_path: Path,
) -> None:
    recorder = _recorder(tmp_path, _script("evening", steps=3))
    at = T0
    for milestone in (
        Milestone("started", "evening"),
        Milestone("step", "evening", 0),
        Milestone("paused", "evening", 1),
        Milestone("resumed", "evening", 1),
        Milestone("timeout", "evening", 1),
        Milestone("step", "time-out", 0),  # the break script's steps are not this session's
        Milestone("returned", "evening", 1),
        Milestone("step", "evening", 1),
        Milestone("step", "evening", 1),  # back + repeat: still one step done
        Milestone("step", "evening", 2),
        Milestone("ended", "evening", detail="completed"),
    ):
        at += timedelta(seconds=30)
        recorder.record(milestone, at)
    recorder.close()
    with Journal(tmp_path) as journal:
        [session] = journal.sessions()
    assert session.script_title == "Evening check-in"
    assert (session.steps_completed, session.total_steps) == (3, 3)
    assert (session.pauses, session.timeouts, session.ending) == (1, 1, "completed")
    assert session.minutes == pytest.approx(5.0)


def test_recorder_records_from_the_runner_thread_and_closes_from_another(
    tmp_path: Path,
) -> None:
    recorder = _recorder(tmp_path, _script("evening"))
    runner = threading.Thread(
        target=lambda: recorder.record(Milestone("started", "evening"), T0), name="runner"
    )
    runner.start()
    runner.join(timeout=30)
    recorder.close()
    with Journal(tmp_path) as journal:
        [session] = journal.sessions()
    assert (session.script_title, session.ending) == ("Evening check-in", "interrupted")


def test_a_session_started_over_a_running_one_leaves_the_first_interrupted(
    tmp_path: Path,
) -> None:
    recorder = _recorder(tmp_path, _script("evening"), _script("grounding"))
    recorder.record(Milestone("started", "evening"), T0)
    recorder.record(Milestone("started", "grounding"), T0 + timedelta(minutes=1))
    recorder.record(Milestone("ended", "grounding", detail="stopped"), T0 + timedelta(minutes=2))
    recorder.close()
    with Journal(tmp_path) as journal:
        endings = [(s.script_id, s.ending) for s in journal.sessions()]
    assert endings == [("evening", "interrupted"), ("grounding", "stopped")]


def test_a_journal_that_cannot_be_written_never_stops_a_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the journal folder should be")
    recorder = JournalRecorder(blocked)
    with caplog.at_level(logging.ERROR):
        recorder.record(Milestone("started", "evening"), T0)
        recorder.record(Milestone("ended", "evening", detail="completed"), T0)
    recorder.close()
    assert "could not record" in caplog.text


def test_data_dir_comes_from_the_environment_when_not_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from-env"))
    with Journal() as journal:
        assert journal.path == tmp_path / "from-env" / JOURNAL_FILE
    assert journal.path.exists()


def test_calm_ratings_are_whole_numbers_from_0_to_10(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        session = journal.start_session("evening", "Evening", 3, T0)
        journal.set_calm(session, "a", "before", 3)
        journal.set_calm(session, "b", "after", 10)
        for bad in (11, -1, True):
            with pytest.raises(JournalError, match="0 to 10"):
                journal.set_calm(session, "a", "after", bad)
        with pytest.raises(JournalError, match="no session 999"):
            journal.set_calm(999, "a", "after", 5)
        record = journal.session(session)
    assert record is not None
    assert (record.calm_before_a, record.calm_after_a, record.calm_after_b) == (3, None, 10)


CHILD = textwrap.dedent(
    """
    import sys
    from datetime import datetime
    from pathlib import Path
    from companion.core.effects import Milestone
    from companion.practice.recorder import JournalRecorder
    recorder = JournalRecorder(Path(sys.argv[1]))
    now = datetime.now()
    recorder.record(Milestone("started", "marker-script"), now)
    recorder.record(Milestone("step", "marker-script", 0), now)
    recorder.record(Milestone("paused", "marker-script", 1), now)
    print("recorded", flush=True)
    sys.stdin.read()  # hold the session open until killed
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_session_killed_midway_is_recorded_as_interrupted_not_lost(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "recorded", child.stderr.read()  # type: ignore[union-attr]
        # While the recording process lives, its session is running, not interrupted.
        with Journal(tmp_path) as journal:
            [live] = journal.sessions()
        assert live.ending is None
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert child.returncode == -signal.SIGKILL
    with Journal(tmp_path) as journal:
        [session] = journal.sessions()
    assert (session.script_id, session.ending) == ("marker-script", "interrupted")
    assert (session.steps_completed, session.pauses, session.ended_at) == (1, 1, None)


def _files_hold(folder: Path, marker: bytes) -> list[str]:
    return [p.name for p in folder.iterdir() if p.is_file() and marker in p.read_bytes()]


def test_delete_all_leaves_no_rows_and_no_bytes_of_them_in_any_file(tmp_path: Path) -> None:
    marker = "Marker Zebra Exercise"
    with Journal(tmp_path) as journal:
        for n in range(20):
            session = journal.start_session("zebra", marker, 4, T0 + timedelta(days=n))
            journal.end_session(session, "completed", T0 + timedelta(days=n, minutes=5))
        assert _files_hold(tmp_path, marker.encode()) != []
        summary = journal.delete_all()
        assert journal.sessions() == []
        assert journal.counts() == (0, 0)
    assert summary.sessions == 20
    assert _files_hold(tmp_path, marker.encode()) == []
    assert not (tmp_path / f"{JOURNAL_FILE}-wal").exists()


def test_cli_delete_says_what_it_deleted_and_needs_all_and_yes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Journal(tmp_path) as journal:
        journal.start_session("zebra", "Zebra", 4, T0)
    assert main(["journal", "delete", "--data-dir", str(tmp_path)]) == 1
    assert "Add --all" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", open(os.devnull))  # noqa: SIM115 - not a terminal
    assert main(["journal", "delete", "--all", "--data-dir", str(tmp_path)]) == 1
    sys.stdin.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Add --yes" in err
    assert main(["journal", "delete", "--all", "--yes", "--data-dir", str(tmp_path)]) == 0
    assert "Deleted 1 session and 0 homework plans" in capsys.readouterr().out
    with Journal(tmp_path) as journal:
        assert journal.counts() == (0, 0)


def test_cli_list_json_matches_the_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    with Journal(tmp_path) as journal:
        session = journal.start_session("zebra", "Zebra", 4, T0)
        journal.update_session(session, steps_completed=2, add_pause=True)
        journal.end_session(session, "stopped", T0 + timedelta(minutes=3))
    assert main(["journal", "list", "--json", "--data-dir", str(tmp_path)]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["script"], row["ending"], row["steps_completed"], row["pauses"]) == (
        "zebra",
        "stopped",
        2,
        1,
    )
    assert main(["journal", "list", "--data-dir", str(tmp_path)]) == 0
    assert "Zebra" in capsys.readouterr().out
