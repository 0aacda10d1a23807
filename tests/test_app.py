"""The assembled companion: real library, real runner thread, captions only.

The voice and the microphone are off here (their adapters have their own real-stack
tests); these pin how the parts are wired together.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from waiting import wait_for

from companion.app import Companion
from companion.core.effects import Command, CommandName
from companion.core.script import Names
from companion.library.catalogue import script_info, spoken_lines
from companion.library.loader import default_library_dir, load_library
from companion.options import Options
from companion.voice.speech_out import VoiceStatus


@pytest.fixture
def companion(tmp_path: Path) -> Iterator[Companion]:
    options = Options(
        voice=False,
        listen_engine="off",
        journal=False,
        data_dir=tmp_path,
        names=Names("Sam", "Alex"),
    )
    app = Companion(options)
    app.start()
    yield app
    app.close()


def test_the_companion_starts_with_captions_only_and_says_why(companion: Companion) -> None:
    status = companion.status()
    assert status["voice"] == {
        "on": False,
        "reason": "The voice is off (--no-voice), so the companion shows captions only.",
    }
    assert companion.state()["status"] == "idle"


def test_a_command_from_any_thread_drives_the_session_and_every_page_sees_it(
    companion: Companion,
) -> None:
    page = companion.hub.subscribe()
    companion.submit(Command(CommandName.START, script="slow-breathing"))
    state = wait_for(lambda: companion.state()["status"] == "running" and companion.state())
    assert (state["script"]["id"], state["script"]["title"]) == ("slow-breathing", "Slow breathing")
    companion.submit(Command(CommandName.PAUSE))
    wait_for(lambda: companion.state()["status"] == "paused")
    messages = wait_for(lambda: page.drain())
    assert any(m.type == "state" for m in messages)


def test_names_change_what_is_said(companion: Companion) -> None:
    companion.set_names(Names("Robin", "Kai"))
    companion.submit(Command(CommandName.START, script="speaker-listener"))
    wait_for(lambda: companion.state()["names"] == {"a": "Robin", "b": "Kai"})


def test_lines_rendered_ahead_name_whoever_the_couple_may_choose() -> None:
    library = load_library(default_library_dir())
    lines = spoken_lines(library["apology"], Names("Sam", "Alex"), library.get("time-out"))
    for hurt, other in (("Sam", "Alex"), ("Alex", "Sam")):
        line = (
            f"{hurt}, you speak first. Tell {other} what happened for you, and how it still feels."
        )
        assert line in lines


def test_every_built_in_script_has_a_length_and_lines_to_render_ahead() -> None:
    library = load_library(default_library_dir())
    for script in library.values():
        info = script_info(script)
        assert info["seconds"] > 0, script.id
        assert spoken_lines(script, Names("Sam", "Alex"), library.get("time-out")), script.id


QUICK = """\
format = 1
title = "Quick"
summary = "Two quiet seconds."

[[step]]
kind = "silence"
seconds = 1

[[step]]
kind = "silence"
seconds = 1
"""

PLAN = """\
format = 1
id = "homework"
version = 1
title = "Until next time"
from = 2025-01-01
until = 2099-12-31
note = "Gently does it."

[[practice]]
id = "our-evening"
times_per_week = 2

[practice.script]
format = 1
title = "Our evening"
summary = "A short check-in."

[[practice.script.step]]
kind = "say"
text = "How was your day, {a}?"
"""


@pytest.fixture
def journaled(tmp_path: Path) -> Iterator[Companion]:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "quick.toml").write_text(QUICK)
    options = Options(
        scripts_dir=scripts, voice=False, listen_engine="off", data_dir=tmp_path / "data"
    )
    app = Companion(options)
    app.start()
    yield app
    app.close()


def test_a_finished_session_is_in_the_journal_as_completed(journaled: Companion) -> None:
    journaled.submit(Command(CommandName.START, script="quick"))
    wait_for(lambda: journaled.state()["ended"] == "completed")

    def recorded() -> Any:
        with journaled.open_journal() as journal:
            return journal.sessions()

    [session] = wait_for(recorded)
    assert (session.script_id, session.ending, session.steps_completed) == ("quick", "completed", 2)


def test_a_plan_posted_to_the_page_adds_its_script_to_the_library(journaled: Companion) -> None:
    from companion.webapp.site import build_web_app

    client = build_web_app(journaled, {"localhost:80"}).test_client()
    response = client.post(
        "/api/homework?name=plan.toml", data=PLAN, headers={"Host": "localhost:80"}
    )
    assert response.status_code == 201, response.get_json()
    wait_for(lambda: any(s["id"] == "our-evening" for s in journaled.scripts()))
    journaled.submit(Command(CommandName.START, script="our-evening"))
    wait_for(lambda: journaled.state()["caption"] == "How was your day, Partner A?")
    journaled.submit(Command(CommandName.STOP))

    def recorded() -> Any:
        with journaled.open_journal() as journal:
            return [s for s in journal.sessions() if s.ending]

    [session] = wait_for(recorded)
    assert (session.script_title, session.total_steps) == ("Our evening", 1)


def test_the_therapist_report_uses_the_couples_names(journaled: Companion) -> None:
    from companion.webapp.site import build_web_app

    journaled.set_names(Names("Robin", "Kai"))
    journaled.submit(Command(CommandName.START, script="quick"))
    wait_for(lambda: journaled.state()["ended"] == "completed")
    client = build_web_app(journaled, {"localhost:80"}).test_client()
    report = client.get("/api/journal/export?format=html", headers={"Host": "localhost:80"})
    assert report.status_code == 200
    assert "Robin" in report.get_data(as_text=True)


def test_a_heard_command_drives_the_session_and_every_page_sees_what_was_heard(
    companion: Companion,
) -> None:
    from companion.listening.heard import Heard

    page = companion.hub.subscribe()
    companion.submit(Command(CommandName.START, script="slow-breathing"))
    wait_for(lambda: companion.state()["status"] == "running")
    # Stands in for the recogniser thread, which calls this when a command is accepted.
    companion._on_heard(Heard("pause please", CommandName.PAUSE, 1.0, 0.9))
    wait_for(lambda: companion.state()["status"] == "paused")
    heard = [m.data for m in page.drain() if m.type == "heard"]
    assert heard == [{"text": "pause please", "command": "pause", "action": "paused"}]


class SpeechLog:
    """Stands in for the voice: notes what it was asked, in order, and from which thread."""

    can_render = False
    """Renders nothing for pages: only what the computer itself plays is noted."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.threads: set[str] = set()

    def underruns(self) -> int:
        return 0

    def handle(self, effect: object) -> None:
        self.asked.append(type(effect).__name__)
        self.threads.add(threading.current_thread().name)

    def seconds(self, text: str) -> float:
        return 2.0

    def status(self) -> VoiceStatus:
        return VoiceStatus(True, "")

    def last_sound_end(self) -> float:
        return 0.0

    def close(self) -> None:
        pass


def test_a_spoken_pause_holds_the_voice_through_the_runner_and_releases_it_after_the_pause(
    companion: Companion,
) -> None:
    from companion.listening.heard import Heard

    companion.submit(Command(CommandName.START, script="slow-breathing"))
    wait_for(lambda: companion.state()["status"] == "running")
    speech = SpeechLog()
    companion.speech = speech  # type: ignore[assignment]
    # The recogniser thread's calls for one utterance: held, decided, released.
    companion._on_hold(True)
    companion._on_heard(Heard("pause", CommandName.PAUSE, 1.0, 0.9))
    companion._on_hold(False)
    wait_for(lambda: "ReleaseSound" in speech.asked)
    assert companion.state()["status"] == "paused"
    # One driver: every call reached the voice from the runner, in the order sent. Held
    # before the pause acted, released only after its StopSound: the held line never
    # plays on for a moment.
    assert speech.threads == {"companion-runner"}
    stops = [asked for asked in speech.asked if asked.endswith("Sound")]
    assert stops == ["HoldSound", "StopSound", "ReleaseSound"]


class RenderingSpeechLog(SpeechLog):
    """A voice that has rendered every line: pages that play the guidance are told too."""

    can_render = True

    def audio_key(self, text: str) -> str:
        return "0" * 32


def test_pages_that_play_the_guidance_hold_and_release_with_the_computer(
    companion: Companion,
) -> None:
    from companion.listening.heard import Heard

    companion.submit(Command(CommandName.START, script="slow-breathing"))
    wait_for(lambda: companion.state()["status"] == "running")
    companion.speech = RenderingSpeechLog()  # type: ignore[assignment]
    page = companion.hub.subscribe()
    companion._on_hold(True)
    companion._on_heard(Heard("pause", CommandName.PAUSE, 1.0, 0.9))
    companion._on_hold(False)
    sounds: list[str] = []

    def released() -> bool:
        sounds.extend(str(m.data["action"]) for m in page.drain() if m.type == "sound")
        return "release" in sounds

    wait_for(released)
    # Lines and cues the session plays meanwhile aside: held, silenced by the pause, released.
    held = [action for action in sounds if action in ("hold", "stop", "release")]
    assert held == ["hold", "stop", "release"]


# -- a time-out with any library ---------------------------------------------


def companion_with(scripts: Path, tmp_path: Path) -> Companion:
    options = Options(
        scripts_dir=scripts, voice=False, listen_engine="off", journal=False, data_dir=tmp_path
    )
    return Companion(options)


def test_a_library_with_no_time_out_of_its_own_still_takes_a_break(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "quick.toml").write_text(QUICK)
    app = companion_with(scripts, tmp_path)
    app.start()
    try:
        assert app.status()["timeout"] == {"on": True, "reason": ""}
        app.submit(Command(CommandName.TIMEOUT))
        state = wait_for(lambda: app.state()["on_break"] and app.state())
        assert state["script"]["id"] == "time-out"
    finally:
        app.close()


def test_a_broken_time_out_in_the_library_gives_way_to_the_built_in_one_and_says_so(
    tmp_path: Path,
) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "time-out.toml").write_text('format = 1\ntitle = "Ours"\n[[step]]\nkind = "nap"\n')
    app = companion_with(scripts, tmp_path)
    timeout = app.status()["timeout"]
    assert timeout == {
        "on": True,
        "reason": f"{scripts / 'time-out.toml'} has problems, so time-outs use the built-in break.",
    }
    assert app.library["time-out"].title == "Time-out"


def test_with_no_break_script_anywhere_every_page_is_told_why_a_time_out_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import companion.library.catalogue as catalogue

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(catalogue, "default_library_dir", lambda: empty)
    app = companion_with(empty, tmp_path)
    app.start()
    try:
        timeout = app.status()["timeout"]
        assert isinstance(timeout, dict)
        assert timeout["on"] is False
        assert timeout["reason"].startswith("Time-out is off: no break script could be loaded")
        page = app.hub.subscribe()
        app.submit(Command(CommandName.TIMEOUT))
        notices = wait_for(lambda: [m.data for m in page.drain() if m.type == "notice"])
        assert notices == [
            {"message": "A time-out cannot run: there is no break script (time-out.toml)."}
        ]
    finally:
        app.close()


def test_next_heard_during_a_break_is_shown_as_refused_and_every_page_is_told_why(
    companion: Companion,
) -> None:
    from companion.listening.heard import Heard

    page = companion.hub.subscribe()
    companion.submit(Command(CommandName.TIMEOUT))
    wait_for(lambda: companion.state()["on_break"])
    companion._on_heard(Heard("next", CommandName.NEXT, 1.0, 0.9))
    seen: list[Any] = []

    def both_arrived() -> bool:
        seen.extend(page.drain())
        return {"heard", "notice"} <= {m.type for m in seen}

    wait_for(both_arrived)
    by_type = {m.type: m.data for m in seen if m.type in ("heard", "notice")}
    assert by_type["heard"]["action"] == "not during a break"
    assert by_type["notice"]["message"].startswith("During a break only Pause")
    assert cast(dict[str, Any], companion.state()["script"])["id"] == "time-out"
