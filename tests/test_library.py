"""The built-in script library: every script loads clean and follows the domain brief."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from companion.core.phase import TimelineEntry
from companion.core.preview import preview
from companion.core.script import (
    STEP_KINDS,
    Break,
    Breathe,
    Names,
    Ready,
    Role,
    Say,
    Script,
    Silence,
    Turn,
)
from companion.library.loader import Library, check_script, default_library_dir, load_library

BREATHING = ("slow-breathing", "box-breathing", "breathing-4-7-8", "cyclic-sighing")
REQUIRED = (
    "time-out",
    *BREATHING,
    "naming-sensations",
    "speaker-listener",
    "acknowledging-hurt",
    "expressing-a-need",
    "daily-check-in",
    "grounding",
)
TRUST_REPAIR = (
    "apology",
    "transparency-check-in",
    "after-a-fight",
    "triggered-moment",
    "softened-start-up",
    "stress-reducing-conversation",
)
OPENING = "Either of you can say pause, or time out, at any moment."
NAMES = Names("Sam", "Alex")


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library(default_library_dir())


def spoken_lines(script: Script) -> list[str]:
    """Every line the companion would say aloud in a script."""
    lines: list[str] = []
    for step in script.steps:
        if isinstance(step, Say | Ready | Role):
            lines.append(step.text)
            if isinstance(step, Ready) and step.reminder:
                lines.append(step.reminder)
        elif isinstance(step, Turn):
            prompts = (step.speaker_prompt, step.paraphrase_prompt, step.check_prompt)
            lines.extend(line for line in prompts if line)
        elif isinstance(step, Break):
            lines.extend(line for line in (step.announce, *step.soothing, step.callback) if line)
    return lines


def said(script: Script, library: Library) -> list[TimelineEntry]:
    """What the engine says, in order, with Sam and Alex as names (roles: Sam first)."""
    return [e for e in preview(script, NAMES, break_script=library["time-out"]) if e.spoken]


def first_said(entries: list[TimelineEntry], words: str) -> float:
    return next(e.at for e in entries if words in e.spoken)


def test_the_default_library_is_the_repositorys_scripts_folder() -> None:
    assert default_library_dir() == Path(__file__).resolve().parent.parent / "scripts"


@pytest.mark.parametrize(
    "path", sorted(default_library_dir().glob("*.toml")), ids=lambda path: path.stem
)
def test_every_built_in_script_loads_with_no_errors_and_no_warnings(path: Path) -> None:
    result = check_script(path)
    assert (result.errors, result.warnings) == ([], [])


def test_the_library_holds_at_least_seventeen_scripts_including_the_named_ones(
    library: Library,
) -> None:
    assert library.errors == []
    assert len(library) >= 17
    assert set(REQUIRED) | set(TRUST_REPAIR) <= set(library)


def test_every_step_kind_is_used_by_at_least_one_built_in_script(library: Library) -> None:
    used = {type(step) for script in library.values() for step in script.steps}
    missing = [kind for kind, cls in STEP_KINDS.items() if cls not in used]
    assert missing == []


def test_time_out_is_a_break_of_at_least_twenty_minutes_with_a_callback(
    library: Library,
) -> None:
    breaks = [step for step in library["time-out"].steps if isinstance(step, Break)]
    assert len(breaks) == 1
    (brk,) = breaks
    assert brk.minutes >= 20
    assert brk.callback
    assert brk.more_minutes >= 20
    assert len(brk.soothing) >= 5  # breathing, tense-release, heaviness, warmth, an image


def test_time_out_says_aloud_when_the_couple_will_come_back(library: Library) -> None:
    timeline = preview(library["time-out"], NAMES)
    (start,) = [e for e in timeline if e.kind == "break" and e.seconds == 20 * 60]
    assert start.spoken == "We will come back together in 20 minutes. I will call you both."


def test_coming_back_from_a_time_out_begins_with_a_few_breaths_together(
    library: Library,
) -> None:
    steps = library["time-out"].steps
    after = steps[[type(s) for s in steps].index(Break) + 1 :]
    breaths = [s for s in after if isinstance(s, Breathe)]
    assert len(breaths) == 1 and 2 <= (breaths[0].cycles or 0) <= 5


@pytest.mark.parametrize("script_id", BREATHING)
def test_breathing_scripts_breathe_out_for_longer_than_in_except_box(
    library: Library, script_id: str
) -> None:
    steps = [step for step in library[script_id].steps if isinstance(step, Breathe)]
    assert steps
    for step in steps:
        if script_id == "box-breathing":
            assert step.exhale == step.inhale == step.hold_in == step.hold_out
        else:
            assert step.exhale > step.inhale + step.inhale2


@pytest.mark.parametrize("script_id", [s for s in BREATHING if s != "breathing-4-7-8"])
def test_breathing_scripts_last_three_to_six_minutes(library: Library, script_id: str) -> None:
    (step,) = [step for step in library[script_id].steps if isinstance(step, Breathe)]
    seconds = step.minutes * 60 if step.minutes else (step.cycles or 0) * step.cycle_seconds
    assert 150 <= seconds <= 6 * 60


def test_4_7_8_defaults_to_four_breaths_and_says_how_to_leave_the_hold(
    library: Library,
) -> None:
    script = library["breathing-4-7-8"]
    (step,) = [s for s in script.steps if isinstance(s, Breathe)]
    assert step.cycles == 4
    text = " ".join(spoken_lines(script))
    assert "breathe out early" in text
    assert "say next" in text
    assert "light-headed" in text
    timeline = preview(script, NAMES)
    assert len([e for e in timeline if e.kind == "inhale"]) == 4
    # Every way out is said before the first breath.
    first_breath = next(e.at for e in timeline if e.kind == "countdown")
    assert first_said(timeline, "light-headed") < first_breath


def test_slow_breathing_is_resonance_at_about_six_a_minute_with_spoken_cues(
    library: Library,
) -> None:
    (step,) = [s for s in library["slow-breathing"].steps if isinstance(s, Breathe)]
    assert (step.inhale, step.exhale, step.cues) == (4.0, 6.0, "spoken")
    assert step.breaths_per_minute == pytest.approx(6.0)
    assert 1 <= step.countdown <= 5
    assert isinstance(library["slow-breathing"].steps[-1], Say)  # a clear end line


def test_speaker_listener_lets_the_couple_choose_then_times_mirror_and_answer(
    library: Library,
) -> None:
    steps = library["speaker-listener"].steps
    (turn,) = [step for step in steps if isinstance(step, Turn)]
    (role,) = [step for step in steps if isinstance(step, Role)]
    assert steps.index(role) < steps.index(turn)
    assert turn.first == role.role
    assert (turn.floor_seconds, turn.paraphrase_seconds, turn.warning_seconds) == (60, 40, 15)
    assert turn.check_seconds >= 15  # time to answer "Did I get it? Is there more?"
    assert "Did I get it? Is there more?" in turn.check_prompt
    assert turn.rounds == 2
    gates = [step for step in steps[: steps.index(turn)] if isinstance(step, Ready)]
    assert gates and gates[-1].who == role.other  # the listener says they are ready
    text = " ".join(spoken_lines(library["speaker-listener"]))
    for phrase in ("good time", "If I got it", "Is there more", "makes sense", "imagine"):
        assert phrase in text
    # One sentence stem per line, and every hand-over said aloud, not only shown.
    lines = spoken_lines(library["speaker-listener"])
    assert not [line for line in lines if "makes sense" in line and "imagine" in line]
    entries = said(library["speaker-listener"], library)
    handovers = [e.spoken for e in entries if "I imagine you might feel" in e.spoken]
    assert handovers == [
        "Alex, now the second sentence: I imagine you might feel.",
        "Sam, now the second sentence: I imagine you might feel.",
    ]


# -- roles chosen, and the trust-repair order -----------------------------------------


PARTNER_SPECIFIC = ("a", "b")


def test_no_built_in_script_decides_who_goes_first(library: Library) -> None:
    fixed = [
        (script.id, step.line)
        for script in library.values()
        for step in script.steps
        if (isinstance(step, Turn) and step.first in PARTNER_SPECIFIC)
        or (isinstance(step, Ready) and step.who in PARTNER_SPECIFIC)
    ]
    assert fixed == []
    starts = [
        (script.id, line)
        for script in library.values()
        for line in spoken_lines(script)
        if re.search(r"\{a\}, (you go first|you begin)", line)
    ]
    assert starts == []


@pytest.mark.parametrize("script_id", ["acknowledging-hurt", "apology"])
def test_the_hurt_partner_is_heard_fully_before_the_impact_is_named(
    library: Library, script_id: str
) -> None:
    script = library[script_id]
    role = next(s for s in script.steps if isinstance(s, Role))
    assert role.role == "hurt"
    first_gate = next(s for s in script.steps if isinstance(s, Ready))
    assert first_gate.who == "hurt"
    assert first_gate.reminder.startswith("Take your time")  # a soft word, never a cut-off
    entries = said(script, library)
    hurt_floor = first_said(entries, "Sam, when you have said")
    assert hurt_floor < first_said(entries, "I understand that what I did hurt you")
    asks = {"apology": "What can I do to help you heal?"}.get(script_id, "What would help you now?")
    assert hurt_floor < first_said(entries, asks)
    assert "don't need to forgive, or say it's all right." in " ".join(spoken_lines(script))
    assert not [s for s in script.steps if isinstance(s, Turn | Silence)]  # no timer cuts in
    assert "violence" in script.safety


def test_the_apology_has_every_part_and_asks_for_no_forgiveness(library: Library) -> None:
    text = " ".join(spoken_lines(library["apology"]))
    for part in (
        "name what you did",
        "I understand that what I did hurt you",
        "I take full responsibility",
        "regret",
        "one thing you will do differently",
        "What can I do to help you heal?",
    ):
        assert part in text
    forgiving = [line for line in spoken_lines(library["apology"]) if "forgive" in line]
    assert forgiving == [
        "{hurt}, you don't need to forgive, or say it's all right."
        " Nothing more is asked of you today."
    ]


def test_every_script_but_the_time_out_opens_by_saying_either_can_stop(
    library: Library,
) -> None:
    missing = [
        script.id
        for script in library.values()
        if script.id != "time-out" and OPENING not in spoken_lines(script)[:3]
    ]
    assert missing == []


def test_every_script_for_two_points_to_couples_therapy(library: Library) -> None:
    together = [s for s in library.values() if "together" in s.tags]
    assert len(together) >= 10
    assert [s.id for s in together if "couples therapist" not in s.help.lower()] == []


@pytest.mark.parametrize(
    ("script_id", "line"),
    [
        ("naming-sensations", "Your eyes can stay open"),
        ("naming-sensations", "skip it"),
        ("daily-check-in", "If nothing comes to mind today, that's all right."),
        ("transparency-check-in", "reassurance, not surveillance"),
        ("triggered-moment", "I'm here. What do you need right now?"),
        ("stress-reducing-conversation", "No advice, unless it is asked for."),
        ("after-a-fight", "Just your own part."),
    ],
)
def test_lines_the_sources_ask_for_are_said(library: Library, script_id: str, line: str) -> None:
    assert line in " ".join(spoken_lines(library[script_id]))


def test_no_line_spells_out_a_sentence_stem_the_way_a_page_would(library: Library) -> None:
    """Heard, not read: "I feel, then a feeling" and trailing "..." do not work aloud."""
    odd = [
        (script.id, line)
        for script in library.values()
        for line in spoken_lines(script)
        if "..." in line or ", then a " in line
    ]
    assert odd == []


def test_every_built_in_file_opens_with_a_comment_saying_where_it_comes_from() -> None:
    for path in sorted(default_library_dir().glob("*.toml")):
        header = path.read_text(encoding="utf-8").split("\nformat", 1)[0]
        assert header.startswith("# "), path.name
        assert "Where it comes from" in header, path.name
        assert "How to adapt" in header, path.name


def test_spoken_lines_are_short_plain_sentences(library: Library) -> None:
    """One idea per sentence: no spoken sentence runs past about twenty words."""
    long = [
        (script.id, sentence)
        for script in library.values()
        for line in spoken_lines(script)
        for sentence in re.split(r"(?<=[.?!])\s+", line)
        if len(re.findall(r"[\w']+", sentence)) > 20
    ]
    assert long == []


def test_every_example_in_the_authoring_guide_is_a_valid_script(tmp_path: Path) -> None:
    guide = (default_library_dir() / "README.md").read_text(encoding="utf-8")
    examples = re.findall(r"```toml\n(.*?)```", guide, flags=re.DOTALL)
    assert len(examples) >= 7
    head = 'format = 1\ntitle = "T"\nsummary = "S"\n'
    for number, example in enumerate(examples):
        if "[[step]]" not in example:
            continue  # a fragment such as one key
        text = example if example.lstrip().startswith("#") else head + example
        path = tmp_path / f"example-{number}.toml"
        path.write_text(text, encoding="utf-8")
        result = check_script(path)
        assert (result.errors, result.warnings) == ([], []), example
