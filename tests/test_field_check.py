"""The checks scripts and plans share: one wording for each mistake, wherever it is made."""

from __future__ import annotations

import tomllib
from datetime import date, datetime

from companion.library.field_check import as_toml, named, suggest
from companion.library.limits import STEP_EXAMPLES, STEP_KEYS, TOP_EXAMPLES, TOP_KEYS
from companion.library.loader import check_script_text
from companion.practice.plan_check import (
    PLAN_EXAMPLES,
    PRACTICE_EXAMPLES,
    PRACTICE_KEYS,
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
