"""The runner: a script's lines render off its thread, so Stop acts at once while preparing;
the listener's holds reach the voice at once, and its releases behind what it decided."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from waiting import wait_for

from companion.core.clock import FakeClock
from companion.core.effects import (
    Command,
    CommandName,
    Effect,
    HoldSound,
    HoldVoice,
    Milestone,
    ReleaseSound,
    ReleaseVoice,
    StopSound,
)
from companion.core.engine import Engine
from companion.core.script import Script, Silence
from companion.library.loader import default_library_dir, load_library
from companion.runner import Runner


@dataclass
class SlowVoice:
    """A voice whose rendering waits until the test lets it go on."""

    gate: threading.Event = field(default_factory=threading.Event)
    returned: threading.Event = field(default_factory=threading.Event)
    cancelled: bool = False

    def prepare(self, script: Script, progress: Callable[[int, int], None]) -> None:
        try:
            progress(1, 3)
            assert self.gate.wait(30)
            progress(3, 3)
        except Exception:
            self.cancelled = True
            raise
        finally:
            self.returned.set()


@dataclass
class Rig:
    runner: Runner
    voice: SlowVoice
    effects: list[Effect]

    def state(self) -> dict[str, Any]:
        return self.runner.state()

    def settle(self) -> None:
        """Wait until the runner has acted on everything sent so far."""
        done = threading.Event()
        self.runner.call(lambda engine: done.set())
        assert done.wait(10)


@pytest.fixture
def rig() -> Iterator[Rig]:
    library = dict(load_library(default_library_dir()))
    clock = FakeClock(1000.0)
    voice = SlowVoice()
    effects: list[Effect] = []
    runner = Runner(
        Engine(library, break_script_id="time-out"),
        clock,
        on_effects=effects.extend,
        on_state=lambda state, at: None,
        prepare=voice.prepare,
    )
    runner.start()
    yield Rig(runner, voice, effects)
    voice.gate.set()
    runner.close()


def start(rig: Rig) -> None:
    rig.runner.submit(Command(CommandName.START, script="slow-breathing"))
    wait_for(lambda: rig.state().get("progress") == {"done": 1, "total": 3})


def test_while_lines_render_the_state_says_preparing_and_how_far(rig: Rig) -> None:
    start(rig)
    state = rig.state()
    assert state["status"] == "preparing"
    assert state["script"]["id"] == "slow-breathing"
    rig.voice.gate.set()
    wait_for(lambda: rig.state()["status"] == "running")


def test_stop_while_preparing_acts_at_once_and_the_script_never_starts(rig: Rig) -> None:
    start(rig)
    rig.runner.submit(Command(CommandName.STOP))
    # The rendering is still held at the gate: the runner did not wait for it.
    wait_for(lambda: rig.state()["status"] == "idle")
    assert not rig.voice.returned.is_set()
    rig.voice.gate.set()
    assert rig.voice.returned.wait(10)
    rig.settle()
    assert rig.voice.cancelled  # it stopped at its next line instead of rendering on
    assert rig.state()["status"] == "idle"
    assert rig.effects == []


def test_commands_sent_while_preparing_act_in_order_once_the_script_runs(rig: Rig) -> None:
    start(rig)
    # In the inbox before the preparation can say it is done (that waits for the gate).
    rig.runner.submit(Command(CommandName.PAUSE))
    rig.voice.gate.set()
    wait_for(lambda: rig.state()["status"] == "paused")


def test_another_start_while_preparing_replaces_the_first(rig: Rig) -> None:
    start(rig)
    rig.runner.submit(Command(CommandName.START, script="box-breathing"))
    wait_for(lambda: rig.state().get("script", {}).get("id") == "box-breathing")
    rig.voice.gate.set()
    wait_for(lambda: rig.state()["status"] == "running")
    assert rig.state()["script"]["id"] == "box-breathing"


# -- the listener's holds ------------------------------------------------------


def test_a_hold_wakes_the_runner_from_a_long_wait_and_reaches_the_voice_at_once() -> None:
    hour = Script("hour", "An hour of quiet", "", (Silence(3600),))
    effects: list[Effect] = []
    states: list[dict[str, Any]] = []
    runner = Runner(
        Engine({"hour": hour}),
        FakeClock(0.0),  # never moves: the runner waits an hour for its next deadline
        on_effects=effects.extend,
        on_state=lambda state, at: states.append(state),
    )
    runner.start()
    try:
        runner.submit(Command(CommandName.START, script="hour"))
        wait_for(lambda: runner.state()["status"] == "running")
        published = len(states)
        runner.submit(HoldVoice())
        wait_for(lambda: HoldSound() in effects)
        runner.submit(ReleaseVoice())
        wait_for(lambda: ReleaseSound() in effects)
        # Only what plays changed: no new state is sent to the pages for either.
        assert len(states) == published
    finally:
        runner.close()


def test_the_release_reaches_the_voice_after_the_command_the_listener_decided(rig: Rig) -> None:
    start(rig)
    rig.voice.gate.set()
    wait_for(lambda: rig.state()["status"] == "running")
    rig.runner.submit(HoldVoice())
    rig.runner.submit(Command(CommandName.PAUSE, source="voice"))
    rig.runner.submit(ReleaseVoice())
    rig.settle()
    assert rig.effects[-4:] == [
        HoldSound(),
        StopSound(),
        Milestone("paused", "slow-breathing", 0),
        ReleaseSound(),
    ]


def test_while_a_start_is_prepared_a_hold_acts_at_once_and_its_release_waits_in_order(
    rig: Rig,
) -> None:
    start(rig)
    rig.voice.gate.set()
    wait_for(lambda: rig.state()["status"] == "running")
    rig.voice.gate.clear()
    rig.runner.submit(Command(CommandName.START, script="box-breathing"))
    wait_for(lambda: rig.state()["status"] == "preparing")
    # The slow-breathing session still sounds while box-breathing is prepared: hold it now.
    rig.runner.submit(HoldVoice())
    wait_for(lambda: HoldSound() in rig.effects)
    assert rig.state()["status"] == "preparing"
    rig.runner.submit(Command(CommandName.PAUSE, source="voice"))
    rig.runner.submit(ReleaseVoice())
    rig.voice.gate.set()
    wait_for(lambda: ReleaseSound() in rig.effects)
    # The pause, as any command sent while preparing, acts on the new session; the release
    # comes after it, not before.
    assert rig.effects[-3:] == [
        StopSound(),
        Milestone("paused", "box-breathing", 0),
        ReleaseSound(),
    ]
