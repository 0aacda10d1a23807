"""The data folder is its owner's alone: the folder 0700, the journal, its lock and WAL
files and the settings 0600, even under a permissive umask or left looser by an old version."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from companion.core.effects import Milestone
from companion.core.script import Say, Script
from companion.practice.journal import Journal
from companion.practice.journal_file import JOURNAL_FILE, LOCK_FILE
from companion.practice.recorder import JournalRecorder
from companion.practice.settings import SETTINGS_FILE, Settings, save_settings

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")

SCRIPT = Script("quick", "Quick", "", (Say("Hello."),))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """As on many desktops: new files world-readable unless the program says otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_data_folder_and_everything_in_it_is_private(tmp_path: Path) -> None:
    data = tmp_path / "companion"
    recorder = JournalRecorder(data, {"quick": SCRIPT}.get)
    recorder.record(Milestone("started", "quick"), datetime(2025, 3, 4, 19, 0))
    recorder.close()
    save_settings(data, Settings(signal_phrase="pineapple"))
    assert mode(data) == 0o700
    files = sorted(p.name for p in data.iterdir())
    assert JOURNAL_FILE in files and LOCK_FILE in files and SETTINGS_FILE in files
    assert {name: mode(data / name) for name in files} == dict.fromkeys(files, 0o600)


def test_a_folder_and_journal_left_readable_by_an_older_version_are_made_private(
    tmp_path: Path,
) -> None:
    data = tmp_path / "companion"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    journal = data / JOURNAL_FILE
    with Journal(data):
        pass
    os.chmod(journal, 0o644)
    (data / SETTINGS_FILE).write_text('{"version": 1, "signal_phrase": ""}')
    os.chmod(data / SETTINGS_FILE, 0o644)
    with Journal(data):
        pass
    save_settings(data, Settings(signal_phrase="tangerine"))
    assert (mode(data), mode(journal), mode(data / SETTINGS_FILE)) == (0o700, 0o600, 0o600)
