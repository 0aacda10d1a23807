"""Settings chosen on the page are remembered in the data folder from one run to the next.

Real files in a temporary data folder; the companion runs captions only with the mic off
(what the page shows then is pinned here; the real model's answers in test_signal_word).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from waiting import wait_for

from companion.app import Companion
from companion.options import Options
from companion.practice.settings import SETTINGS_FILE, Settings, load_settings, save_settings


@contextmanager
def running(data_dir: Path, signal_phrase: str = "") -> Iterator[Companion]:
    companion = Companion(
        Options(
            voice=False,
            listen_engine="off",
            journal=False,
            data_dir=data_dir,
            signal_phrase=signal_phrase,
        )
    )
    companion.start()
    try:
        yield companion
    finally:
        companion.close()


def signal_of(companion: Companion) -> Any:
    return companion.status()["signal"]


def test_saved_settings_load_back_and_leave_no_temporary_file(tmp_path: Path) -> None:
    save_settings(tmp_path / "new", Settings(signal_phrase="red light"))
    assert load_settings(tmp_path / "new") == Settings(signal_phrase="red light")
    assert [p.name for p in (tmp_path / "new").iterdir()] == [SETTINGS_FILE]


def test_with_no_settings_file_the_defaults_hold(tmp_path: Path) -> None:
    assert load_settings(tmp_path) == Settings()


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe\x00garbage",
        b'["pineapple"]',
        b'{"signal_phrase": 42}',
        b'{"signal_phrase": "pine4pple"}',
    ],
)
def test_an_unusable_settings_file_is_ignored_with_a_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / SETTINGS_FILE).write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="companion.practice.settings"):
        assert load_settings(tmp_path) == Settings()
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "ignoring the settings in" in caplog.text


def test_a_signal_word_set_on_the_page_is_used_on_the_next_start(tmp_path: Path) -> None:
    with running(tmp_path) as companion:
        companion.set_signal("pineapple")
    stored = json.loads((tmp_path / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert stored["signal_phrase"] == "pineapple"
    with running(tmp_path) as companion:
        assert signal_of(companion) == {
            "phrase": "pineapple",
            "note": "Listening is off, so the word cannot be checked now.",
        }


def test_the_latest_of_several_quick_changes_is_the_one_remembered(tmp_path: Path) -> None:
    with running(tmp_path) as companion:
        for phrase in ("apple", "mango", "", "red light"):
            companion.set_signal(phrase)
    assert load_settings(tmp_path) == Settings(signal_phrase="red light")


def test_signal_on_the_command_line_wins_over_the_remembered_word_for_that_run(
    tmp_path: Path,
) -> None:
    save_settings(tmp_path, Settings(signal_phrase="pineapple"))
    with running(tmp_path, signal_phrase="mango") as companion:
        assert signal_of(companion)["phrase"] == "mango"
    # Given only for that run: the word set on the page is still the remembered one.
    assert load_settings(tmp_path) == Settings(signal_phrase="pineapple")


def test_a_corrupt_settings_file_does_not_stop_the_companion(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / SETTINGS_FILE).write_text("{half a file", encoding="utf-8")
    with caplog.at_level(logging.WARNING), running(tmp_path) as companion:
        assert signal_of(companion) == {"phrase": "", "note": ""}
        assert companion.state()["status"] == "idle"
    assert "ignoring the settings in" in caplog.text


def test_a_new_signal_word_reaches_every_page_in_the_status(tmp_path: Path) -> None:
    with running(tmp_path) as companion:
        page = companion.hub.subscribe()
        page.drain()
        companion.set_signal("pineapple")
        published = [m.data for m in page.drain() if m.type == "status"]
    assert published[-1]["signal"] == {
        "phrase": "pineapple",
        "note": "Listening is off, so the word cannot be checked now.",
    }


def published_signal(companion: Companion) -> Any:
    """The signal part of the status every page was last sent."""
    return (companion.hub.latest("status") or {}).get("signal")


def test_the_page_learns_from_the_real_model_whether_the_remembered_word_can_be_heard(
    tmp_path: Path,
) -> None:
    save_settings(tmp_path, Settings(signal_phrase="pineapple"))
    companion = Companion(
        Options(voice=False, listen_engine="pocketsphinx", journal=False, data_dir=tmp_path)
    )
    companion.start()
    try:
        # Published as soon as the listener has checked: no command needs to be heard first.
        wait_for(
            lambda: (
                published_signal(companion)
                == {"phrase": "pineapple", "note": "“pineapple” can be recognised."}
            )
        )
        companion.set_signal("xyzzyq")
        wait_for(lambda: "“xyzzyq” cannot be recognised" in published_signal(companion)["note"])
    finally:
        companion.close()
