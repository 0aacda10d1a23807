"""The built-in script library: every script loads clean and follows the domain brief."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from companion.loader import Library, check_script, default_library_dir, load_library
from companion.script import STEP_KINDS, Break, Breathe, Ready, Say, Script, Turn

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


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library(default_library_dir())


def spoken_lines(script: Script) -> list[str]:
    """Every line the companion would say aloud in a script."""
    lines: list[str] = []
    for step in script.steps:
        if isinstance(step, Say | Ready):
            lines.append(step.text)
        elif isinstance(step, Turn):
            lines.extend(line for line in (step.speaker_prompt, step.paraphrase_prompt) if line)
        elif isinstance(step, Break):
            lines.extend(step.soothing)
            lines.append(step.callback)
    return lines


def test_the_default_library_is_the_repositorys_scripts_folder() -> None:
    assert default_library_dir() == Path(__file__).resolve().parent.parent / "scripts"


@pytest.mark.parametrize(
    "path", sorted(default_library_dir().glob("*.toml")), ids=lambda path: path.stem
)
def test_every_built_in_script_loads_with_no_errors_and_no_warnings(path: Path) -> None:
    result = check_script(path)
    assert (result.errors, result.warnings) == ([], [])


def test_the_library_holds_at_least_ten_scripts_including_the_named_ones(
    library: Library,
) -> None:
    assert library.errors == []
    assert len(library) >= 10
    assert set(REQUIRED) <= set(library)


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


@pytest.mark.parametrize("script_id", BREATHING)
def test_breathing_scripts_last_three_to_six_minutes(library: Library, script_id: str) -> None:
    (step,) = [step for step in library[script_id].steps if isinstance(step, Breathe)]
    seconds = step.minutes * 60 if step.minutes else (step.cycles or 0) * step.cycle_seconds
    assert 150 <= seconds <= 6 * 60


def test_slow_breathing_is_resonance_at_about_six_a_minute_with_spoken_cues(
    library: Library,
) -> None:
    (step,) = [s for s in library["slow-breathing"].steps if isinstance(s, Breathe)]
    assert (step.inhale, step.exhale, step.cues) == (4.0, 6.0, "spoken")
    assert step.breaths_per_minute == pytest.approx(6.0)
    assert 1 <= step.countdown <= 5
    assert isinstance(library["slow-breathing"].steps[-1], Say)  # a clear end line


def test_speaker_listener_gates_on_the_listener_then_times_two_rounds(
    library: Library,
) -> None:
    steps = library["speaker-listener"].steps
    (turn,) = [step for step in steps if isinstance(step, Turn)]
    assert (turn.floor_seconds, turn.paraphrase_seconds, turn.warning_seconds) == (90, 45, 15)
    assert turn.rounds == 2
    gates = [step for step in steps[: steps.index(turn)] if isinstance(step, Ready)]
    assert gates and gates[-1].who != turn.first  # the listener says they are ready
    text = " ".join(spoken_lines(library["speaker-listener"]))
    for phrase in ("good time", "If I got it", "Is there more", "makes sense", "imagine"):
        assert phrase in text


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
