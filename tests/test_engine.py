"""The session engine, specified as tables of (time, event) -> effects and state.

No threads, no sleeps: time is a number we pass in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.core.effects import (
    Command,
    CommandName,
    Cue,
    Effect,
    HoldSound,
    HoldVoice,
    Milestone,
    Notice,
    ReleaseSound,
    ReleaseVoice,
    Speak,
    StopSound,
)
from companion.core.engine import (
    EARLY_RETURN_NOTICE,
    LIMIT_NOTICE,
    ON_BREAK_NOTICE,
    Engine,
    Event,
    Tick,
)
from companion.core.phase import BREAK_LIMIT_MINUTES, LINE_GAP_SECONDS
from companion.core.preview import preview
from companion.core.script import Break, Breathe, Names, Ready, Role, Say, Script, Silence, Turn
from companion.core.state import aged_snapshot


def fixed_speech(text: str) -> float:
    """Every line takes 2 s to say: keeps the tables readable."""
    return 2.0


SAY = 2.0 + LINE_GAP_SECONDS

BREATHING = Script(
    "breathing",
    "Breathing",
    "",
    (
        Say("Let's breathe."),
        Breathe(inhale=4, exhale=6, cycles=2, countdown=0),
        Say("Well done."),
    ),
)
TURNS = Script(
    "turns",
    "Turns",
    "",
    (
        Ready("{b}, are you ready to listen?", who="b"),
        Turn(first="a", floor_seconds=90, paraphrase_seconds=45, warning_seconds=15, rounds=1),
    ),
)
TIME_OUT = Script(
    "time-out",
    "Time-out",
    "",
    (
        Say("Let's take a break."),
        Break(
            minutes=20,
            soothing=("Breathe slowly.",),
            soothe_gap=30,
            callback="It's time to come back.",
            more_minutes=10,
        ),
        Say("Welcome back."),
    ),
)
QUIET = Script("quiet", "Quiet", "", (Silence(10), Silence(10), Silence(10)))
HURT = Script(
    "hurt",
    "Hurt heard first",
    "",
    (
        Role("Who was hurt?", role="hurt", other="partner"),
        Say("{hurt}, you speak first. {partner}, you listen."),
        Ready(
            "{hurt}, say ready when you have said it all.",
            who="hurt",
            reminder="Take your time.",
            reminder_seconds=120,
        ),
        Turn(
            first="partner",
            floor_seconds=60,
            paraphrase_seconds=30,
            warning_seconds=0,
            check_seconds=20,
            check_prompt="{speaker}, did {listener} get it? Is there more?",
        ),
    ),
)
LIBRARY = {s.id: s for s in (BREATHING, TURNS, TIME_OUT, QUIET, HURT)}


def new_engine() -> Engine:
    return Engine(LIBRARY, names=Names("Sam", "Alex"), speech_seconds=fixed_speech)


def cmd(name: str, **kw: Any) -> Command:
    return Command(CommandName(name), source="test", **kw)


@dataclass
class Run:
    """Drive an engine through (time, event) pairs, keeping every effect."""

    engine: Engine
    effects: list[tuple[float, Effect]]

    def at(self, now: float, event: Event) -> list[Effect]:
        out = self.engine.handle(event, now)
        self.effects.extend((now, e) for e in out)
        return out

    def state(self, now: float) -> dict[str, Any]:
        return self.engine.snapshot(now)


def run() -> Run:
    return Run(new_engine(), [])


# -- starting and speaking --------------------------------------------------


def test_start_speaks_the_first_line_with_its_caption_and_journals_the_start() -> None:
    r = run()
    assert r.at(0, cmd("start", script="breathing")) == [
        Milestone("started", "breathing"),
        Milestone("reached", "breathing", 0),
        Speak("Let's breathe.", "Let's breathe."),
    ]
    assert r.state(0)["status"] == "running"
    assert r.state(0)["caption"] == "Let's breathe."


def test_a_spoken_line_lasts_its_speech_plus_a_calm_gap_then_breathing_begins() -> None:
    r = run()
    r.at(0, cmd("start", script="breathing"))
    assert r.engine.next_deadline() == SAY
    assert r.at(SAY, Tick()) == [
        Milestone("step", "breathing", 0),
        Milestone("reached", "breathing", 1),
        Cue("inhale", "in"),
    ]
    assert r.state(SAY + 1)["breath"]["name"] == "inhale"
    assert r.state(SAY + 1)["breath"]["remaining"] == pytest.approx(3.0)


def test_unknown_script_starts_nothing() -> None:
    r = run()
    assert r.at(0, cmd("start", script="nope")) == []
    assert r.state(0)["status"] == "idle"


# -- pause and resume -------------------------------------------------------

PAUSE_TABLE = [
    # (pause at, resume at, expected remaining of the inhale right after resume)
    (SAY + 1.0, SAY + 100.0, 3.0),
    (SAY + 3.5, SAY + 3.6, 0.5),
    (SAY + 0.0, SAY + 7.0, 4.0),
]


@pytest.mark.parametrize(("pause_at", "resume_at", "left"), PAUSE_TABLE)
def test_pause_freezes_the_timer_exactly_and_resume_continues_where_it_was(
    pause_at: float, resume_at: float, left: float
) -> None:
    r = run()
    r.at(0, cmd("start", script="breathing"))
    r.at(SAY, Tick())
    assert StopSound() in r.at(pause_at, cmd("pause"))
    assert r.engine.next_deadline() is None
    assert r.state(resume_at)["status"] == "paused"
    assert r.state(resume_at)["breath"]["remaining"] == pytest.approx(left)
    r.at(resume_at, cmd("resume"))
    assert r.state(resume_at)["breath"]["remaining"] == pytest.approx(left)
    assert r.engine.next_deadline() == pytest.approx(resume_at + left)


def test_resume_restarts_the_interrupted_line_from_its_beginning() -> None:
    r = run()
    r.at(0, cmd("start", script="breathing"))
    r.at(1.5, cmd("pause"))
    effects = r.at(30, cmd("resume"))
    assert Speak("Let's breathe.", "Let's breathe.") in effects
    assert r.engine.next_deadline() == pytest.approx(30 + SAY)


def test_pause_and_resume_are_ignored_when_they_make_no_sense() -> None:
    r = run()
    assert r.at(0, cmd("pause")) == []
    r.at(0, cmd("start", script="quiet"))
    assert r.at(1, cmd("resume")) == []
    r.at(2, cmd("pause"))
    assert r.at(3, cmd("pause")) == []


# -- holding the voice while the listener decides ---------------------------


def test_a_hold_silences_the_voice_in_place_and_its_release_plays_on() -> None:
    r = run()
    r.at(0, cmd("start", script="breathing"))
    before = r.state(1)
    assert r.at(1, HoldVoice()) == [HoldSound()]
    # Only what plays is held: the session, its timers and what pages see go on unchanged.
    assert r.state(1) == before
    assert r.engine.next_deadline() == pytest.approx(SAY)
    assert r.at(1.3, ReleaseVoice()) == [ReleaseSound()]


def test_a_hold_while_nothing_of_the_session_sounds_does_nothing_nor_does_its_release() -> None:
    r = run()
    assert r.at(0, HoldVoice()) == []  # idle
    assert r.at(0.2, ReleaseVoice()) == []
    r.at(1, cmd("start", script="breathing"))
    r.at(2, cmd("pause"))
    assert r.at(3, HoldVoice()) == []  # paused: the voice is silent already
    assert r.at(3.2, ReleaseVoice()) == []


def test_a_release_after_the_pause_it_decided_plays_nothing_on() -> None:
    r = run()
    r.at(0, cmd("start", script="breathing"))
    assert r.at(1, HoldVoice()) == [HoldSound()]
    assert r.at(1.3, cmd("pause")) == [StopSound(), Milestone("paused", "breathing", 0)]
    # The pause's StopSound dropped the held line: the release ends the hold, says nothing.
    assert r.at(1.4, ReleaseVoice()) == [ReleaseSound()]
    assert r.state(1.4)["status"] == "paused"
    assert Speak("Let's breathe.", "Let's breathe.") in r.at(5, cmd("resume"))


def test_a_second_hold_or_release_in_a_row_changes_nothing() -> None:
    r = run()
    r.at(0, cmd("start", script="breathing"))
    assert r.at(1, HoldVoice()) == [HoldSound()]
    assert r.at(1.1, HoldVoice()) == []
    assert r.at(1.2, ReleaseVoice()) == [ReleaseSound()]
    assert r.at(1.3, ReleaseVoice()) == []


def test_a_hold_is_released_after_a_stop_or_a_new_start_it_decided() -> None:
    # Whatever the utterance turned out to be, the voice is never left held.
    r = run()
    r.at(0, cmd("start", script="breathing"))
    r.at(1, HoldVoice())
    r.at(1.3, cmd("stop"))
    assert r.at(1.4, ReleaseVoice()) == [ReleaseSound()]
    r.at(2, cmd("start", script="breathing"))
    r.at(3, HoldVoice())
    r.at(3.3, cmd("start", script="quiet"))
    assert r.at(3.4, ReleaseVoice()) == [ReleaseSound()]


# -- moving through steps ---------------------------------------------------


def test_next_skips_to_the_next_step_and_silences_the_voice() -> None:
    r = run()
    r.at(0, cmd("start", script="quiet"))
    assert r.at(3, cmd("next"))[:2] == [StopSound(), Milestone("reached", "quiet", 1)]
    assert r.state(3)["step"]["index"] == 1
    assert r.engine.next_deadline() == 13


def test_back_returns_to_the_previous_step_and_never_before_the_first() -> None:
    r = run()
    r.at(0, cmd("start", script="quiet"))
    r.at(10, Tick())
    r.at(12, cmd("back"))
    assert r.state(12)["step"]["index"] == 0
    r.at(13, cmd("back"))
    assert r.state(13)["step"]["index"] == 0
    assert r.engine.next_deadline() == 23


def test_repeat_says_the_current_line_again_from_its_start() -> None:
    r = run()
    r.at(0, cmd("start", script="breathing"))
    assert r.at(2.5, cmd("repeat")) == [StopSound(), Speak("Let's breathe.", "Let's breathe.")]
    assert r.engine.next_deadline() == pytest.approx(2.5 + SAY)


def test_next_while_paused_moves_on_and_runs_again() -> None:
    r = run()
    r.at(0, cmd("start", script="quiet"))
    r.at(1, cmd("pause"))
    r.at(5, cmd("next"))
    assert r.state(5)["status"] == "running"
    assert r.engine.next_deadline() == 15


def test_the_last_step_ends_the_session_as_completed_with_a_clear_end_cue() -> None:
    r = run()
    r.at(0, cmd("start", script="quiet"))
    effects = r.at(30, Tick())
    assert effects[-2:] == [Cue("end"), Milestone("ended", "quiet", detail="completed")]
    assert r.state(30)["status"] == "ended"
    assert r.state(30)["ended"] == "completed"


def test_stop_ends_at_once_from_anywhere() -> None:
    r = run()
    r.at(0, cmd("start", script="quiet"))
    assert r.at(4, cmd("stop")) == [StopSound(), Milestone("ended", "quiet", detail="stopped")]
    assert r.engine.next_deadline() is None
    assert r.state(4)["ended"] == "stopped"


def test_a_stopped_session_can_go_on_from_the_step_it_stopped_in() -> None:
    # A "pause" misheard as "stop" must not cost the couple their place.
    r = run()
    r.at(0, cmd("start", script="quiet"))
    r.at(15, Tick())  # the second of three 10 s silences
    r.at(16, cmd("stop"))
    assert r.state(16)["stopped_at"] == {"id": "quiet", "title": "Quiet", "index": 1, "count": 3}
    assert r.at(20, cmd("start", script="quiet", step=1))[0] == Milestone("started", "quiet")
    assert r.state(20)["step"]["index"] == 1
    assert r.state(20)["stopped_at"] is None
    r.at(40, Tick())
    assert r.state(40)["ended"] == "completed"


def test_a_stop_in_a_time_out_goes_on_from_the_step_the_time_out_interrupted() -> None:
    r = run()
    r.at(0, cmd("start", script="quiet"))
    r.at(25, Tick())
    r.at(26, cmd("timeout"))
    r.at(27, cmd("stop"))
    assert r.state(27)["stopped_at"] == {"id": "quiet", "title": "Quiet", "index": 2, "count": 3}


def test_there_is_nothing_to_go_on_from_after_the_first_step_or_a_finished_session() -> None:
    r = run()
    r.at(0, cmd("start", script="quiet"))
    r.at(4, cmd("stop"))
    assert r.state(4)["stopped_at"] is None  # starting again is the same
    r.at(5, cmd("start", script="quiet"))
    r.at(35, Tick())
    assert r.state(35)["ended"] == "completed"
    assert r.state(35)["stopped_at"] is None


def test_a_start_step_past_the_end_begins_at_the_last_step() -> None:
    r = run()
    r.at(0, cmd("start", script="quiet", step=99))
    assert r.state(0)["step"]["index"] == 2


def test_starting_another_script_stops_the_running_one_first() -> None:
    r = run()
    r.at(0, cmd("start", script="quiet"))
    effects = r.at(1, cmd("start", script="breathing"))
    assert effects[0] == Milestone("ended", "quiet", detail="stopped")
    assert effects[1] == Milestone("started", "breathing")


# -- breathing --------------------------------------------------------------


def test_breathing_cues_sound_different_and_the_exhale_is_longer() -> None:
    timeline = preview(BREATHING, speech_seconds=fixed_speech)
    phases = [(e.kind, e.seconds, e.text) for e in timeline if e.step == 1]
    assert phases == [
        ("inhale", 4.0, "in"),
        ("exhale", 6.0, "out"),
        ("inhale", 4.0, "in"),
        ("exhale", 6.0, "out"),
        ("end", 1.5, ""),
    ]


def test_slower_lengthens_the_next_breath_and_faster_shortens_it() -> None:
    r = run()
    r.at(0, cmd("start", script="breathing"))
    r.at(SAY, Tick())  # inhale 4 s
    r.at(SAY + 1, cmd("slower"))
    r.at(SAY + 4, Tick())  # exhale starts at the slower pace
    assert r.state(SAY + 4)["breath"]["seconds"] == pytest.approx(6.6)
    assert r.state(SAY + 4)["breath"]["per_minute"] == pytest.approx(60 / 11, abs=0.01)
    r.at(SAY + 5, cmd("faster"))
    r.at(SAY + 5, cmd("faster"))
    assert r.engine.pace == pytest.approx(1 / 1.1)


def test_spoken_cues_fall_silent_after_three_cycles_so_the_guide_does_not_talk_all_the_time() -> (
    None
):
    script = Script("b", "B", "", (Breathe(inhale=4, exhale=6, cycles=5, countdown=0),))
    words = [e.text for e in preview(script) if e.kind == "inhale"]
    assert words == ["in", "in", "in", "", ""]


def test_breathing_by_minutes_finishes_the_last_cycle() -> None:
    script = Script("b", "B", "", (Breathe(inhale=4, exhale=6, minutes=1, countdown=3),))
    timeline = preview(script)
    assert [e.text for e in timeline if e.kind == "countdown"] == ["three", "two", "one"]
    assert len([e for e in timeline if e.kind == "inhale"]) == 6
    assert timeline[-1].kind == "end"


# -- ready gates ------------------------------------------------------------


def test_a_ready_gate_waits_for_the_named_partner() -> None:
    r = run()
    r.at(0, cmd("start", script="turns"))
    assert r.engine.next_deadline() is None
    state = r.state(500)
    assert state["status"] == "waiting"
    assert state["waiting"] == {
        "for": "ready",
        "who": "b",
        "ready": [],
        "prompt": "Alex, are you ready to listen?",
    }
    assert r.at(501, cmd("ready", partner="a")) == []
    r.at(502, cmd("ready", partner="b"))
    assert r.state(502)["floor"]["speaker"] == "Sam"


def test_ready_said_aloud_opens_any_gate() -> None:
    r = run()
    r.at(0, cmd("start", script="turns"))
    r.at(10, cmd("ready"))
    assert r.state(10)["phase"]["kind"] == "floor"


# -- speaker-listener turns -------------------------------------------------


def test_the_floor_alternates_with_the_configured_times_and_a_gentle_warning() -> None:
    timeline = [e for e in preview(TURNS, Names("Sam", "Alex"), fixed_speech) if e.step == 1]
    assert [(e.kind, e.seconds) for e in timeline] == [
        ("floor", 90),
        ("warning", 0),
        ("paraphrase", 45),
        ("floor", 90),
        ("warning", 0),
        ("paraphrase", 45),
    ]
    floor_a, warn_a, _, floor_b, _, _ = timeline
    assert warn_a.at - floor_a.at == 75
    assert floor_b.at - floor_a.at == 135


def test_the_page_sees_who_has_the_floor_and_when_the_warning_is_on() -> None:
    r = run()
    r.at(0, cmd("start", script="turns"))
    r.at(1, cmd("ready"))
    assert r.state(2)["floor"] == {
        "speaker": "Sam",
        "listener": "Alex",
        "stage": "floor",
        "seconds": 90,
        "remaining": 89,
        "round": 1,
        "rounds": 1,
        "warning": False,
    }
    assert Cue("warning") in r.at(76, Tick())
    assert r.state(80)["floor"]["warning"] is True
    r.at(91, Tick())
    assert r.state(91)["floor"]["stage"] == "paraphrase"
    assert r.state(91)["floor"]["speaker"] == "Sam"


# -- time-out ---------------------------------------------------------------


def test_time_out_from_the_middle_of_a_turn_runs_the_break_and_offers_to_come_back() -> None:
    r = run()
    r.at(0, cmd("start", script="turns"))
    r.at(1, cmd("ready"))
    effects = r.at(30, cmd("timeout"))
    assert effects[:2] == [StopSound(), Milestone("timeout", "turns", 1)]
    assert r.state(30)["timeout"] == {"return_step": 1, "title": "Turns"}
    r.at(30 + SAY, Tick())
    assert r.state(30 + SAY)["break"]["seconds"] == 1200
    end_of_break = 30 + SAY + 1200
    r.at(end_of_break + SAY, Tick())
    waiting = r.state(end_of_break + SAY)["waiting"]
    assert waiting["for"] == "return"
    assert waiting["prompt"] == "It's time to come back."
    back = end_of_break + SAY + 5
    # Coming back runs the rest of the break script first (re-entry), then the step.
    assert r.at(back, cmd("return")) == [
        Milestone("reached", "time-out", 2),
        Speak("Welcome back.", "Welcome back."),
    ]
    assert r.state(back)["timeout"] is not None
    effects = r.at(back + SAY, Tick())
    assert Milestone("returned", "turns", 1) in effects
    state = r.state(back + SAY)
    assert state["timeout"] is None
    assert state["step"]["index"] == 1
    assert state["floor"]["remaining"] == 90  # the exact step, from its start


def test_we_need_more_time_sets_a_new_return_time() -> None:
    r = run()
    r.at(0, cmd("timeout"))
    r.at(SAY, Tick())
    r.at(SAY + 1200 + SAY, Tick())
    r.at(2000, cmd("more_time"))
    assert r.state(2000)["break"]["seconds"] == 600
    r.at(2600, Tick())
    r.at(2600 + SAY, Tick())
    assert r.state(2600 + SAY)["waiting"]["for"] == "return"


def test_the_agreed_break_length_is_never_below_the_scripts_minimum() -> None:
    r = run()
    r.at(0, cmd("timeout", minutes=45))
    r.at(SAY, Tick())
    assert r.state(SAY)["break"]["seconds"] == 45 * 60
    r2 = run()
    r2.at(0, cmd("timeout", minutes=5))
    r2.at(SAY, Tick())
    assert r2.state(SAY)["break"]["seconds"] == 20 * 60


def test_soothing_prompts_are_spoken_during_the_break() -> None:
    r = run()
    r.at(0, cmd("timeout"))
    assert Speak("Breathe slowly.", "Breathe slowly.") in r.at(SAY, Tick())


def test_time_out_during_a_time_out_changes_nothing() -> None:
    r = run()
    r.at(0, cmd("timeout"))
    assert r.at(1, cmd("timeout")) == []


def test_stop_during_a_time_out_ends_everything() -> None:
    r = run()
    r.at(0, cmd("start", script="quiet"))
    r.at(1, cmd("timeout"))
    r.at(2, cmd("stop"))
    assert r.state(2)["status"] == "ended"
    assert r.state(2)["timeout"] is None


def announced_engine() -> Engine:
    """A time-out whose break says aloud when the couple will come back."""
    announced = Script(
        "time-out",
        "Time-out",
        "",
        (
            Break(
                minutes=20,
                announce="We will come back together in {minutes} minutes.",
                callback="It's time to come back.",
                last_callback="Please come back, even just to agree when to talk.",
                more_minutes=20,
            ),
            Say("Three slow breaths before you talk again."),
        ),
    )
    return Engine({**LIBRARY, "time-out": announced}, speech_seconds=fixed_speech)


@pytest.mark.parametrize(("asked", "said"), [(0, "20"), (45, "45")])
def test_the_break_says_aloud_when_the_couple_will_come_back(asked: float, said: str) -> None:
    engine = announced_engine()
    assert engine.handle(cmd("timeout", minutes=asked), 0)[-1] == Speak(
        f"We will come back together in {said} minutes.",
        f"We will come back together in {said} minutes.",
    )


def test_more_time_says_the_new_return_time_and_a_break_stops_short_of_a_day() -> None:
    engine = announced_engine()
    engine.handle(cmd("timeout", minutes=1400), 0)
    engine.handle(Tick(), 1400 * 60 + SAY)  # the break is over: the callback, then the choice
    assert engine.snapshot(1400 * 60 + SAY)["waiting"]["more_minutes"] == 20
    effects = engine.handle(cmd("more_time"), 84_100)
    effects += engine.handle(Tick(), 84_100)
    line = "We will come back together in 20 minutes."
    assert Speak(line, line) in effects
    engine.handle(Tick(), 84_100 + 1200 + SAY)
    # 1400 + 20 minutes: 19 more would make a day, less one minute.
    assert engine.snapshot(84_100 + 1200 + SAY)["waiting"]["more_minutes"] == 19
    engine.handle(cmd("more_time"), 90_000)
    assert engine.snapshot(90_000)["break"]["seconds"] == 19 * 60
    last = engine.handle(Tick(), 90_000 + 19 * 60)
    line = "Please come back, even just to agree when to talk."
    assert Speak(line, line) in last  # no longer "even if only to ask for more time"
    engine.handle(Tick(), 90_000 + 19 * 60 + SAY)
    assert engine.snapshot(90_000 + 19 * 60 + SAY)["waiting"]["more_minutes"] == 0
    assert engine.handle(cmd("more_time"), 92_000) == [Notice(LIMIT_NOTICE)]
    assert engine.snapshot(92_000)["waiting"]["for"] == "return"


def test_coming_back_from_a_break_runs_the_re_entry_step_first() -> None:
    engine = announced_engine()
    engine.handle(cmd("start", script="quiet"), 0)
    engine.handle(cmd("timeout"), 5)
    engine.handle(Tick(), 5 + 1200 + SAY)
    assert engine.handle(cmd("return"), 2000) == [
        Milestone("reached", "time-out", 1),
        Speak(
            "Three slow breaths before you talk again.",
            "Three slow breaths before you talk again.",
        ),
    ]
    assert engine.snapshot(2000)["timeout"] is not None
    back = engine.handle(Tick(), 2000 + SAY)
    assert Milestone("returned", "quiet", 0) in back
    assert engine.snapshot(2000 + SAY)["step"]["index"] == 0


# -- roles chosen, not assumed ----------------------------------------------

ROLE_TABLE = [
    # (how the role is answered, who was hurt, the line that follows)
    (cmd("ready", partner="a"), "Sam", "Sam, you speak first. Alex, you listen."),
    (cmd("ready", partner="b"), "Alex", "Alex, you speak first. Sam, you listen."),
    (Command(CommandName.READY, source="voice"), "Sam", "Sam, you speak first. Alex, you listen."),
    (Command(CommandName.NEXT, source="voice"), "Alex", "Alex, you speak first. Sam, you listen."),
]


@pytest.mark.parametrize(("answer", "hurt", "line"), ROLE_TABLE)
def test_a_role_is_chosen_by_button_or_voice_and_lines_name_whoever_took_it(
    answer: Command, hurt: str, line: str
) -> None:
    r = run()
    r.at(0, cmd("start", script="hurt"))
    state = r.state(1000)
    assert (state["status"], state["waiting"]) == (
        "waiting",
        {"for": "role", "role": "hurt", "prompt": "Who was hurt?"},
    )
    assert r.engine.next_deadline() is None  # nobody is hurried into a role
    effects = r.at(1000, answer)
    assert Speak(line, line) in effects
    assert Milestone("step", "hurt", 0) in effects
    assert r.state(1000)["roles"]["hurt"] == hurt


def test_a_tender_gate_waits_for_the_named_partner_and_says_take_your_time_once() -> None:
    r = run()
    r.at(0, cmd("start", script="hurt"))
    r.at(1, cmd("ready", partner="b"))  # Alex was hurt
    r.at(1 + SAY, Tick())
    assert r.state(1 + SAY)["waiting"]["who"] == "b"
    assert r.at(50, cmd("ready", partner="a")) == []  # not the partner it waits for
    reminder = r.engine.next_deadline()
    assert reminder is not None
    assert reminder == pytest.approx(1 + SAY + 120)
    assert r.at(reminder, Tick()) == [Speak("Take your time.", "Take your time.")]
    assert r.engine.next_deadline() is None  # never a cut-off: it waits as long as it takes
    assert r.state(10_000)["waiting"]["for"] == "ready"
    assert r.state(10_000)["waiting"]["prompt"] == "Alex, say ready when you have said it all."
    assert r.at(10_000, cmd("ready", partner="b"))[0] == Milestone("step", "hurt", 2)


def test_a_turn_begins_with_a_role_and_leaves_time_for_did_i_get_it() -> None:
    engine = Engine(LIBRARY, names=Names("Sam", "Alex"), speech_seconds=fixed_speech)
    timeline = [
        (e.kind, e.speaker or e.text, e.seconds)
        for e in preview(HURT, Names("Sam", "Alex"), fixed_speech)
        if e.step == 3
    ]
    # Sam was hurt (the preview answers with the first name): Alex, the partner, speaks first.
    assert timeline[:4] == [
        ("floor", "Alex", 60),
        ("paraphrase", "Alex", 30),
        ("say", "Alex, did Sam get it? Is there more?", 3.0),
        ("check", "Alex", 20),
    ]
    assert [kind for kind, _, _ in timeline].count("check") == 2
    engine.handle(cmd("start", script="hurt"), 0)
    assert engine.snapshot(0)["step"]["kind"] == "role"


def test_going_on_after_a_stop_keeps_the_roles_chosen_before_it() -> None:
    r = run()
    r.at(0, cmd("start", script="hurt"))
    r.at(1, cmd("ready", partner="b"))
    r.at(2, cmd("stop"))
    assert r.state(2)["stopped_at"]["index"] == 1
    effects = r.at(3, cmd("start", script="hurt", step=1))
    line = "Alex, you speak first. Sam, you listen."
    assert Speak(line, line) in effects
    fresh = r.at(4, cmd("start", script="hurt"))
    assert r.state(4)["roles"] == {"hurt": "Sam", "partner": "Alex"}
    assert fresh[-1] == Speak("Who was hurt?", "Who was hurt?")


# -- a break that cannot be skipped by accident ------------------------------

SKIPPING = ["next", "back", "repeat", "slower", "faster", "ready"]
BREAK_BEGINS = 1 + SAY  # a time-out called at 1 s: its opening line, then the break
BREAK_ENDS = BREAK_BEGINS + 1200


def on_a_break(at: float) -> Run:
    """A turn interrupted by a time-out at 1 s, then run on to `at` seconds."""
    r = run()
    r.at(0, cmd("start", script="turns"))
    r.at(0.5, cmd("ready"))
    r.at(1, cmd("timeout"))
    r.at(at, Tick())
    return r


MOMENTS = {
    "opening line": 2.0,
    "break": BREAK_BEGINS + 600,
    "call back": BREAK_ENDS + 1,
    "choice": BREAK_ENDS + SAY + 30,
}


@pytest.mark.parametrize("moment", sorted(MOMENTS))
@pytest.mark.parametrize("name", SKIPPING)
def test_nothing_but_the_breaks_own_controls_acts_during_a_time_out(moment: str, name: str) -> None:
    now = MOMENTS[moment]
    r = on_a_break(now)
    before = r.state(now)
    assert before["on_break"] is True
    assert r.at(now, cmd(name, partner="a")) == [Notice(ON_BREAK_NOTICE)]
    assert r.state(now) == before


def test_next_when_the_break_is_over_does_not_come_back_without_the_couples_choice() -> None:
    now = MOMENTS["choice"]
    r = on_a_break(now)
    r.at(now, cmd("next"))
    assert r.state(now)["waiting"]["for"] == "return"
    assert r.state(now)["timeout"] == {"return_step": 1, "title": "Turns"}


@pytest.mark.parametrize("moment", ["opening line", "break", "call back"])
def test_coming_back_early_needs_a_confirmation_then_returns_to_the_interrupted_step(
    moment: str,
) -> None:
    now = MOMENTS[moment]
    r = on_a_break(now)
    before = r.state(now)
    assert r.at(now, cmd("return")) == [Notice(EARLY_RETURN_NOTICE)]
    assert r.state(now) == before
    effects = r.at(now, cmd("return", early=True))
    assert effects[0] == StopSound()
    # The break script's re-entry line comes first, then the interrupted step.
    assert r.state(now)["caption"] == "Welcome back."
    assert Milestone("returned", "turns", 1) in r.at(now + SAY, Tick())
    state = r.state(now + SAY)
    assert (state["on_break"], state["timeout"], state["floor"]["remaining"]) == (False, None, 90)


def test_coming_back_early_from_a_paused_break_runs_again() -> None:
    now = MOMENTS["break"]
    r = on_a_break(now)
    r.at(now, cmd("pause"))
    r.at(now + 60, cmd("return", early=True))
    assert r.state(now + 60)["status"] == "running"
    r.at(now + 60 + SAY, Tick())  # the re-entry line, then the turn again
    assert r.state(now + 70 + SAY)["floor"]["remaining"] == 80


def test_a_time_out_on_its_own_comes_back_early_to_the_steps_after_its_break() -> None:
    r = run()
    r.at(0, cmd("timeout"))
    r.at(SAY + 60, Tick())
    r.at(SAY + 60, cmd("return", early=True))
    assert r.state(SAY + 60)["caption"] == "Welcome back."
    assert r.state(SAY + 60)["on_break"] is False
    r.at(SAY + 61, cmd("next"))  # after the break the usual controls work again
    assert r.state(SAY + 61)["status"] == "ended"


def test_more_time_during_the_break_moves_the_return_time_later() -> None:
    now = MOMENTS["break"]
    r = on_a_break(now)
    assert r.at(now, cmd("more_time")) == []
    assert r.state(now)["break"]["remaining"] == 600 + 10 * 60
    assert r.engine.next_deadline() is not None
    r.at(BREAK_ENDS + 599, Tick())
    assert r.state(BREAK_ENDS + 599)["break"] is not None


def test_more_time_asked_in_the_opening_lines_makes_the_break_longer() -> None:
    r = on_a_break(2.0)
    r.at(2.0, cmd("more_time", minutes=15))
    r.at(BREAK_BEGINS, Tick())
    assert r.state(BREAK_BEGINS)["break"]["seconds"] == (20 + 15) * 60


def test_more_time_stops_at_the_limit_of_a_day_and_says_so() -> None:
    r = run()
    r.at(0, cmd("timeout", minutes=BREAK_LIMIT_MINUTES - 4))
    r.at(SAY, Tick())
    assert r.state(SAY)["break"]["at_limit"] is False
    # Asked for ten, it grants the four left and says why not more.
    assert r.at(SAY + 1, cmd("more_time")) == [Notice(LIMIT_NOTICE)]
    state = r.state(SAY + 1)
    assert state["break"]["seconds"] == BREAK_LIMIT_MINUTES * 60
    assert state["break"]["at_limit"] is True
    assert r.at(SAY + 2, cmd("more_time")) == [Notice(LIMIT_NOTICE)]
    assert r.state(SAY + 2)["break"]["seconds"] == BREAK_LIMIT_MINUTES * 60
    end = SAY + BREAK_LIMIT_MINUTES * 60
    r.at(end + SAY, Tick())
    waiting = r.state(end + SAY)["waiting"]
    assert (waiting["for"], waiting["at_limit"]) == ("return", True)
    assert r.at(end + SAY + 1, cmd("more_time")) == [Notice(LIMIT_NOTICE)]
    assert r.state(end + SAY + 1)["waiting"]["for"] == "return"


def test_pause_and_stop_still_act_during_a_break() -> None:
    now = MOMENTS["break"]
    r = on_a_break(now)
    assert r.at(now, cmd("pause"))[0] == StopSound()
    assert r.state(now + 100)["break"]["remaining"] == 600
    r.at(now + 100, cmd("resume"))
    r.at(now + 101, cmd("stop"))
    assert r.state(now + 101)["status"] == "ended"


# -- properties over random command sequences -------------------------------

with_holds = st.lists(
    st.one_of(
        st.sampled_from([HoldVoice(), ReleaseVoice(), Tick()]),
        st.sampled_from(list(CommandName)).map(
            lambda c: Command(c, source="test", script="breathing")
        ),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(events=with_holds)
def test_every_hold_is_released_exactly_once_and_only_a_sounding_session_is_held(
    events: list[Event],
) -> None:
    r = run()
    for now, event in enumerate(events):
        sounding = r.engine.running and not r.engine.paused
        if HoldSound() in r.at(float(now), event):
            assert sounding and isinstance(event, HoldVoice)
    r.at(float(len(events)), ReleaseVoice())  # the listener always releases in the end
    held = [effect for _, effect in r.effects if isinstance(effect, HoldSound | ReleaseSound)]
    assert held == [HoldSound(), ReleaseSound()] * (len(held) // 2)


COMMANDS = [c for c in CommandName if c is not CommandName.START]
events = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=120, allow_nan=False),
        st.one_of(
            st.sampled_from(COMMANDS).map(lambda c: Command(c, source="test")),
            st.just(Tick()),
            st.sampled_from(sorted(LIBRARY)).map(
                lambda s: Command(CommandName.START, source="test", script=s)
            ),
        ),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(events=events)
def test_no_timer_is_ever_negative_and_paused_time_is_never_counted(
    events: list[tuple[float, Command | Tick]],
) -> None:
    engine = new_engine()
    now = 0.0
    engine.handle(Command(CommandName.START, source="test", script="turns"), now)
    for gap, event in events:
        before = engine.snapshot(now)
        was_paused = engine.paused
        now += gap
        if was_paused:
            # Nothing moves while paused, however long the pause.
            assert engine.snapshot(now)["phase"] == before["phase"]
        engine.handle(event, now)
        state = engine.snapshot(now)
        for part in ("phase", "breath", "floor", "break"):
            if state[part] and state[part]["remaining"] is not None:
                assert 0 <= state[part]["remaining"] <= state[part]["seconds"] + 1e-9
        deadline = engine.next_deadline()
        assert deadline is None or deadline >= now - 1e-9


@settings(max_examples=200, deadline=None)
@given(
    pauses=st.lists(
        st.tuples(st.floats(0.1, 30, allow_nan=False), st.floats(0, 300, allow_nan=False)),
        max_size=8,
    )
)
def test_a_turn_lasts_exactly_its_floor_time_plus_what_was_paused(
    pauses: list[tuple[float, float]],
) -> None:
    engine = Engine(LIBRARY, speech_seconds=fixed_speech, record_timeline=True)
    engine.handle(Command(CommandName.START, source="test", script="turns"), 0)
    engine.handle(Command(CommandName.READY, source="test"), 0)
    now = 0.0
    paused_total = 0.0
    for run_for, pause_for in pauses:
        if run_for >= engine.snapshot(now)["phase"]["remaining"] - 1e-9:
            break  # the floor would end before this pause (to float rounding); stop pausing
        now += run_for
        engine.handle(Tick(), now)
        engine.handle(Command(CommandName.PAUSE, source="test"), now)
        now += pause_for
        paused_total += pause_for
        engine.handle(Command(CommandName.RESUME, source="test"), now)
    while engine.snapshot(now)["floor"]["stage"] == "floor":
        deadline = engine.next_deadline()
        assert deadline is not None
        now = deadline
        engine.handle(Tick(), now)
    assert engine.timeline is not None
    floor = next(e for e in engine.timeline if e.kind == "floor")
    paraphrase = next(e for e in engine.timeline if e.kind == "paraphrase")
    assert paraphrase.at - floor.at == pytest.approx(90 + paused_total)


# -- a snapshot read later ----------------------------------------------------


def test_a_snapshot_read_later_counts_down_exactly_as_the_engine_would() -> None:
    r = run()
    r.at(0, cmd("start", script="turns"))
    r.at(1, cmd("ready"))
    taken = r.state(10)
    for later in (0.05, 7.3, 40.0):
        assert aged_snapshot(taken, later) == r.state(10 + later)


def test_a_paused_or_waiting_snapshot_does_not_count_down_and_none_goes_below_zero() -> None:
    r = run()
    r.at(0, cmd("start", script="turns"))
    waiting = r.state(5)
    assert aged_snapshot(waiting, 60) == waiting
    r.at(6, cmd("ready"))
    r.at(20, cmd("pause"))
    paused = r.state(20)
    assert aged_snapshot(paused, 600) == paused
    r.at(21, cmd("resume"))
    assert aged_snapshot(r.state(21), 10_000)["floor"]["remaining"] == 0.0


@settings(max_examples=300, deadline=None)
@given(events=events)
def test_no_command_leaves_a_break_but_stop_or_coming_back(
    events: list[tuple[float, Command | Tick]],
) -> None:
    engine = new_engine()
    engine.handle(Command(CommandName.START, source="test", script="turns"), 0.0)
    engine.handle(Command(CommandName.TIMEOUT, source="test"), 0.0)
    now = 0.0
    for gap, event in events:
        now += gap
        engine.handle(event, now)
        state = engine.snapshot(now)
        if isinstance(event, Command) and event.name in (CommandName.STOP, CommandName.RETURN):
            return  # stop, or "come back" once the break is over: the couple chose to
        assert state["on_break"] is True
        assert state["timeout"] == {"return_step": 0, "title": "Turns"}


def test_more_time_while_the_break_runs_says_the_new_return_time() -> None:
    engine = announced_engine()
    engine.handle(cmd("timeout"), 0)  # 20 minutes, said at once
    line = "We will come back together in 25 minutes."
    assert engine.handle(cmd("more_time"), 15 * 60) == [Speak(line, line)]
    assert engine.snapshot(15 * 60)["break"]["remaining"] == 25 * 60
