"""The checks scripts and plans share: one wording for each mistake, wherever it is made."""

from __future__ import annotations

import tomllib
from datetime import date, datetime

import pytest

from companion.library.field_check import as_toml, named, suggest
from companion.library.limits import STEP_EXAMPLES, STEP_KEYS, TOP_EXAMPLES, TOP_KEYS
from companion.library.loader import check_script_text
from companion.practice.plan_check import (
    PLAN_EXAMPLES,
    PRACTICE_EXAMPLES,
    PRACTICE_KEYS,
    check_plan_text,
)
from companion.practice.plan_check import TOP_KEYS as PLAN_KEYS


def test_suggest_names_the_closest_choice_in_double_quotes() -> None:
    assert suggest("titel", ("title", "tags")) == '; did you mean "title"?'
    assert suggest("zzz", ["title"]) == ""


def test_a_value_is_named_the_way_a_person_would_say_it() -> None:
    assert named("ten") == 'a string ("ten")'
    assert named(True) == "true (a yes/no value)"
    assert named(6.0) == "6"
    assert named(date(2026, 1, 2)) == "a date"
    assert named(datetime(2026, 1, 2, 3, 4)) == "a date and time"
    assert named([1]) == "a list" and named({"a": 1}) == "a table"


def test_quotes_and_line_breaks_in_a_value_are_escaped_so_a_problem_stays_one_line() -> None:
    assert named('say "hi"') == r'a string ("say \"hi\"")'
    result = check_script_text('format = 1\n"tit\\nle" = "T"\n', "odd.toml")
    [unknown] = [e for e in result.errors if "unknown key" in e]
    assert '"tit\\nle"' in unknown and "\n" not in unknown


def test_every_key_a_file_may_hold_has_an_example_that_reads_back_as_itself() -> None:
    tables = {"step", "practice"}  # written as [[step]] and [[practice]], not key = value
    wanted = [
        (TOP_EXAMPLES, set(TOP_KEYS) - tables),
        (STEP_EXAMPLES, {key for keys in STEP_KEYS.values() for key in keys}),
        (PLAN_EXAMPLES, set(PLAN_KEYS) - tables),
        (PRACTICE_EXAMPLES, set(PRACTICE_KEYS)),
    ]
    for examples, keys in wanted:
        assert set(examples) == keys
        for key, value in examples.items():
            assert tomllib.loads(f"{key} = {as_toml(value)}") == {key: value}


# -- the same mistake in a script and in a plan -------------------------------------------

SCRIPT = 'format = 1\ntitle = "T"\nsummary = "S"\n\n[[step]]\nkind = "say"\ntext = "Hi"\n'
PLAN = (
    'format = 1\nid = "ours"\nversion = 1\ntitle = "T"\nfrom = 2025-03-03\nuntil = 2025-04-30\n'
    '\n[[practice]]\nscript = "slow-breathing"\ntimes_per_week = 1\n'
)


def problems(text: str, edit: tuple[str, str], *, plan: bool) -> dict[str, int]:
    """Each problem found after `edit` (old, new: ("", "") for none), by message, with its line."""
    old, new = edit
    assert old in text
    text = text.replace(old, new, 1)
    if plan:
        errors = check_plan_text(text, "f.toml").errors
    else:
        errors = check_script_text(text, "f.toml").errors
    found: dict[str, int] = {}
    for error in errors:
        _, line, message = error.split(":", 2)
        found[message.strip()] = int(line)
    return found


def line_of(text: str, edit: tuple[str, str]) -> int:
    """The line the edit is made on (1 when it takes a line away)."""
    old, new = edit
    before = text[: text.index(old)]
    return before.count("\n") + 1 if new else 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        pytest.param(
            ('title = "T"', 'titel = "T"'),
            'unknown key "titel" at the top; did you mean "title"?',
            id="an unknown key with a near miss",
        ),
        pytest.param(
            ("format = 1", 'format = "1"'),
            'format must be a whole number, 1 or more, got a string ("1"); e.g. format = 1',
            id="a number given as text",
        ),
        pytest.param(
            ("format = 1", "format = 0"),
            "format must be 1 or more, got 0",
            id="a number out of range",
        ),
        pytest.param(
            ("format = 1", "format = 2"),
            "written for a newer companion (format 2); this one reads format 1",
            id="a format from the future",
        ),
        pytest.param(
            ("format = 1\n", ""),
            "missing format at the top (the version of the file format); e.g. format = 1",
            id="no format",
        ),
    ],
)
def test_the_same_mistake_reads_the_same_in_a_script_and_in_a_plan(
    edit: tuple[str, str], message: str
) -> None:
    in_script = problems(SCRIPT, edit, plan=False)
    in_plan = problems(PLAN, edit, plan=True)
    assert in_script[message] == line_of(SCRIPT, edit)
    assert in_plan[message] == line_of(PLAN, edit)


def test_a_file_from_a_newer_companion_is_judged_on_its_format_alone() -> None:
    edit = ("format = 1\n", "format = 2\nsomething_new = 1\n")
    only = {"written for a newer companion (format 2); this one reads format 1": 1}
    assert problems(SCRIPT, edit, plan=False) == problems(PLAN, edit, plan=True) == only


@pytest.mark.parametrize(
    ("edit", "wording"),
    [
        pytest.param(
            ('title = "T"', "title = 5"), "title must be text in quotes, got 5", id="type"
        ),
        pytest.param(('title = "T"', 'title = " "'), "title is empty", id="empty"),
        pytest.param(('title = "T"\n', ""), "missing title at the top", id="missing"),
    ],
)
def test_the_same_mistake_differs_only_in_each_files_own_example(
    edit: tuple[str, str], wording: str
) -> None:
    for text, examples, plan in [(SCRIPT, TOP_EXAMPLES, False), (PLAN, PLAN_EXAMPLES, True)]:
        message = f"{wording}; e.g. title = {as_toml(examples['title'])}"
        assert problems(text, edit, plan=plan) == {message: line_of(text, edit)}


def test_a_step_embedded_in_a_plan_reads_as_it_does_in_a_script_file() -> None:
    embedded = (
        PLAN.replace('script = "slow-breathing"', 'id = "evening"')
        + '\n[practice.script]\nformat = 1\ntitle = "T"\nsummary = "S"\n'
        + '\n[[practice.script.step]]\nkind = "silence"\nseconds = "ten"\n'
    )
    edit = ('kind = "say"\ntext = "Hi"', 'kind = "silence"\nseconds = "ten"')
    message = 'seconds must be a number of seconds, got a string ("ten"); e.g. seconds = 10'
    assert problems(SCRIPT, edit, plan=False) == {message: 7}
    seconds = embedded[: embedded.index('seconds = "ten"')].count("\n") + 1
    assert problems(embedded, ("", ""), plan=True) == {message: seconds}
