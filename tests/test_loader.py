"""The script loader: file in, `Script` out, every problem as `file:line: message`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from companion.core.errors import CompanionError, ScriptError
from companion.core.script import Break, Breathe, Ready, Role, Say, Silence, Turn
from companion.library.limits import MAX_BYTES
from companion.library.loader import check_script, load_library, load_script, load_script_text

HEAD = 'format = 1\ntitle = "T"\nsummary = "S"\n'
"""Three lines: the steps in each case below start at line 4."""

WriteScript = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> WriteScript:
    """Write text to tmp_path/NAME and return the path."""

    def _write(text: str, name: str = "case.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def errors_of(path: Path) -> list[str]:
    """The errors with the folder left out, so cases read as `case.toml:LINE: ...`."""
    prefix = str(path.parent) + "/"
    return [error.removeprefix(prefix) for error in check_script(path).errors]


def warnings_of(path: Path) -> list[str]:
    prefix = str(path.parent) + "/"
    return [warning.removeprefix(prefix) for warning in check_script(path).warnings]


GOOD = (
    HEAD
    + """tags = ["x"]

[[step]]
kind = "say"
text = "Hello {a} and {b}."
caption = "Hello"

[[step]]
kind = "silence"
seconds = 5

[[step]]
kind = "breathe"
preset = "box"
cycles = 3

[[step]]
kind = "turn"
first = "b"
floor_seconds = 60
paraphrase_seconds = 30
speaker_prompt = "{speaker}, go ahead. {listener}, listen."

[[step]]
kind = "break"
minutes = 20
soothing = ["Breathe slowly."]
callback = "Come back."

[[step]]
kind = "ready"
text = "Ready?"
who = "both"
"""
)


def test_a_good_script_loads_every_step_kind_with_its_header_line(write: WriteScript) -> None:
    script = load_script(write(GOOD, "my-script.toml"))
    assert script.id == "my-script"
    assert (script.title, script.summary, script.tags) == ("T", "S", ("x",))
    assert [type(step) for step in script.steps] == [Say, Silence, Breathe, Turn, Break, Ready]
    assert [step.line for step in script.steps] == [6, 11, 15, 20, 27, 33]


def test_defaults_fill_what_a_script_leaves_out(write: WriteScript) -> None:
    script = load_script(write(GOOD))
    say, _, breathe, turn, brk, _ = script.steps
    assert isinstance(say, Say) and say.caption == "Hello"
    assert isinstance(breathe, Breathe)
    assert (breathe.inhale, breathe.hold_in, breathe.exhale, breathe.hold_out) == (4, 4, 4, 4)
    assert (breathe.cues, breathe.countdown, breathe.minutes) == ("spoken", 3, None)
    assert isinstance(turn, Turn)
    assert (turn.first, turn.warning_seconds, turn.rounds) == ("b", 15.0, 1)
    assert isinstance(brk, Break)
    assert (brk.soothe_gap, brk.more_minutes) == (30.0, 20.0)


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("resonance", (4.0, 0.0, 0.0, 6.0, 0.0)),
        ("box", (4.0, 0.0, 4.0, 4.0, 4.0)),
        ("4-7-8", (4.0, 0.0, 7.0, 8.0, 0.0)),
        ("sigh", (2.5, 1.0, 0.0, 6.0, 0.0)),
    ],
)
def test_breathing_presets_supply_the_phase_seconds(
    write: WriteScript, preset: str, expected: tuple[float, ...]
) -> None:
    text = HEAD + f'[[step]]\nkind = "breathe"\npreset = "{preset}"\nminutes = 3\n'
    step = load_script(write(text)).steps[0]
    assert isinstance(step, Breathe)
    assert (step.inhale, step.inhale2, step.hold_in, step.exhale, step.hold_out) == expected


def test_a_scripts_own_seconds_override_its_preset(write: WriteScript) -> None:
    text = HEAD + '[[step]]\nkind = "breathe"\npreset = "resonance"\nexhale = 8\ncycles = 2\n'
    step = load_script(write(text)).steps[0]
    assert isinstance(step, Breathe)
    assert (step.inhale, step.exhale, step.cycles) == (4.0, 8.0, 2)


ROLES = (
    HEAD
    + """safety = "Not for a hurt that was violence or control."
help = "A couples therapist can help."

[[step]]
kind = "role"
text = "Who was hurt? {a}, say ready if it was you; say next if it was {b}."
role = "hurt"
other = "partner"

[[step]]
kind = "ready"
text = "{hurt}, tell {partner} how it was. Say ready when you have said it all."
who = "hurt"
caption = "{hurt} speaks; {partner} listens."
reminder = "Take your time."
reminder_seconds = 120

[[step]]
kind = "turn"
first = "partner"
floor_seconds = 60
paraphrase_seconds = 40
check_seconds = 20
check_prompt = "{speaker}, did {listener} get it? Is there more?"

[[step]]
kind = "break"
minutes = 20
announce = "We will come back together in {minutes} minutes, {hurt} and {partner}."
"""
)


def test_a_role_step_names_roles_that_later_steps_use(write: WriteScript) -> None:
    script = load_script(write(ROLES))
    role, ready, turn, brk = script.steps
    assert isinstance(role, Role) and role.names == ("hurt", "partner")
    assert isinstance(ready, Ready)
    assert (ready.who, ready.reminder, ready.reminder_seconds) == (
        "hurt",
        "Take your time.",
        120,
    )
    assert ready.caption == "{hurt} speaks; {partner} listens."
    assert isinstance(turn, Turn)
    assert (turn.first, turn.check_seconds) == ("partner", 20)
    assert isinstance(brk, Break) and "{minutes}" in brk.announce
    assert script.default_roles() == {"hurt": "a", "partner": "b"}
    assert script.safety == "Not for a hurt that was violence or control."
    assert script.help == "A couples therapist can help."


def test_4_7_8_breathing_runs_four_breaths_unless_told_otherwise(write: WriteScript) -> None:
    script = load_script(write(HEAD + STEP + 'kind = "breathe"\npreset = "4-7-8"\n'))
    (step,) = script.steps
    assert isinstance(step, Breathe)
    assert (step.cycles, step.minutes) == (4, None)


def test_the_default_floor_warning_is_dropped_when_the_floor_is_shorter(
    write: WriteScript,
) -> None:
    text = (
        HEAD + '[[step]]\nkind = "turn"\nfirst = "a"\nfloor_seconds = 10\nparaphrase_seconds = 5\n'
    )
    step = load_script(write(text)).steps[0]
    assert isinstance(step, Turn) and step.warning_seconds == 0.0


STEP = "[[step]]\n"

# (name, text, the exact errors). HEAD is lines 1-3, so a step header written
# right after it is line 4, its first key line 5, and so on.
MALFORMED: list[tuple[str, str, list[str]]] = [
    (
        "toml syntax error",
        HEAD + STEP + 'kind = "say"\ntext = Hello\n',
        [
            "case.toml:6: not valid TOML: invalid value (column 8); "
            'put text in double quotes, e.g. text = "Breathe in"'
        ],
    ),
    (
        "a key written twice",
        HEAD + 'title = "again"\n',
        [
            "case.toml:4: not valid TOML: cannot overwrite a value (column 16);"
            " is a key written twice?"
        ],
    ),
    (
        "an unclosed multi-line string",
        HEAD + STEP + 'kind = "say"\ntext = """Hello\n\n',
        ["case.toml:6: not valid TOML: unterminated string (a \"\"\" or ''' is never closed)"],
    ),
    (
        "unknown step kind",
        HEAD + STEP + 'kind = "breath"\nminutes = 2\n',
        [
            'case.toml:5: unknown step kind "breath"; did you mean "breathe"? '
            "(kinds: say, silence, breathe, turn, break, ready, role)"
        ],
    ),
    (
        "unknown step kind with nothing close",
        HEAD + STEP + 'kind = "dance"\n',
        [
            'case.toml:5: unknown step kind "dance" '
            "(kinds: say, silence, breathe, turn, break, ready, role)"
        ],
    ),
    (
        "a step with no kind",
        HEAD + STEP + 'text = "Hi"\n',
        [
            "case.toml:4: missing kind in step 1 (one of say, silence, breathe, turn, break,"
            ' ready, role); e.g. kind = "say"'
        ],
    ),
    (
        "misspelt key in a step",
        HEAD + STEP + 'kind = "silence"\nseconds = 3\ncaptoin = "x"\n',
        ['case.toml:7: unknown key "captoin" in a silence step; did you mean "caption"?'],
    ),
    (
        "unknown key in a step with nothing close",
        HEAD + STEP + 'kind = "silence"\nseconds = 3\nvolume = 2\n',
        [
            'case.toml:7: unknown key "volume" in a silence step; '
            "a silence step has seconds, caption"
        ],
    ),
    (
        "misspelt key at the top",
        HEAD + 'sumary = "x"\n' + STEP + 'kind = "say"\ntext = "Hi"\n',
        ['case.toml:4: unknown key "sumary" at the top; did you mean "summary"?'],
    ),
    (
        "wrong type for seconds",
        HEAD + STEP + 'kind = "silence"\nseconds = "ten"\n',
        [
            'case.toml:6: seconds must be a number of seconds, got a string ("ten");'
            " e.g. seconds = 10"
        ],
    ),
    (
        "a yes/no where a number belongs",
        HEAD + STEP + 'kind = "silence"\nseconds = true\n',
        [
            "case.toml:6: seconds must be a number of seconds, got true (a yes/no value);"
            " e.g. seconds = 10"
        ],
    ),
    (
        "negative duration",
        HEAD + STEP + 'kind = "silence"\nseconds = -5\n',
        ["case.toml:6: seconds must be more than 0 seconds, got -5"],
    ),
    (
        "missing duration",
        HEAD + STEP + 'kind = "silence"\ncaption = "quiet"\n',
        ["case.toml:4: missing seconds in a silence step (a number of seconds); e.g. seconds = 10"],
    ),
    (
        "a turn with no speaker",
        HEAD + STEP + 'kind = "turn"\nfloor_seconds = 60\nparaphrase_seconds = 30\n',
        ['case.toml:4: missing first in a turn step (who has the floor first); e.g. first = "a"'],
    ),
    (
        "a turn with a speaker who is neither partner",
        HEAD + STEP + 'kind = "turn"\nfirst = "c"\nfloor_seconds = 60\nparaphrase_seconds = 30\n',
        ['case.toml:6: first must be "a" or "b", got a string ("c")'],
    ),
    (
        "a floor warning as long as the floor",
        HEAD
        + STEP
        + 'kind = "turn"\nfirst = "a"\nfloor_seconds = 60\nparaphrase_seconds = 30\n'
        + "warning_seconds = 60\n",
        ["case.toml:9: warning_seconds (60) must be less than floor_seconds (60)"],
    ),
    (
        "both cycles and minutes",
        HEAD + STEP + 'kind = "breathe"\npreset = "box"\ncycles = 4\nminutes = 2\n',
        ["case.toml:8: a breathe step has both cycles and minutes; keep one of them"],
    ),
    (
        "neither cycles nor minutes",
        HEAD + STEP + 'kind = "breathe"\npreset = "box"\n',
        ["case.toml:4: a breathe step needs how long: cycles = (breaths) or minutes = (time)"],
    ),
    (
        "breathing with no exhale and no preset",
        HEAD + STEP + 'kind = "breathe"\ninhale = 4\ncycles = 3\n',
        [
            "case.toml:4: missing exhale in a breathe step (a number of seconds);"
            " e.g. exhale = 6; or set a preset: resonance, box, 4-7-8, sigh"
        ],
    ),
    (
        "a fractional number of cycles",
        HEAD + STEP + 'kind = "breathe"\npreset = "box"\ncycles = 2.5\n',
        [
            "case.toml:7: cycles must be a whole number of breaths, from 1 to 1000, got 2.5;"
            " e.g. cycles = 6"
        ],
    ),
    (
        "a countdown that is too long",
        HEAD + STEP + 'kind = "breathe"\npreset = "box"\ncycles = 2\ncountdown = 30\n',
        ["case.toml:8: countdown must be from 0 to 10, got 30"],
    ),
    (
        "an unknown preset",
        HEAD + STEP + 'kind = "breathe"\npreset = "boxed"\ncycles = 2\n',
        [
            'case.toml:6: preset must be "resonance" or "box" or "4-7-8" or "sigh", '
            'got a string ("boxed"); did you mean "box"?'
        ],
    ),
    (
        "a break of a day or more",
        HEAD + STEP + 'kind = "break"\nminutes = 1440\n',
        ["case.toml:6: minutes must be less than 1440 (a day), got 1440"],
    ),
    (
        "a ready step for nobody",
        HEAD + STEP + 'kind = "ready"\ntext = "Ready?"\nwho = "everyone"\n',
        ['case.toml:7: who must be "a" or "b" or "either" or "both", got a string ("everyone")'],
    ),
    (
        "a misspelt name in a line",
        HEAD + STEP + 'kind = "say"\ntext = "Hello {nmae}"\n',
        ["case.toml:6: text: unknown name {nmae}; names are {a}, {b}"],
    ),
    (
        "a misspelt role in a turn prompt",
        HEAD
        + STEP
        + 'kind = "turn"\nfirst = "a"\nfloor_seconds = 60\nparaphrase_seconds = 30\n'
        + 'speaker_prompt = "{speeker}, go"\n',
        ["case.toml:9: speaker_prompt: unknown name {speeker}; did you mean {speaker}?"],
    ),
    (
        "a role name outside a turn",
        HEAD + STEP + 'kind = "say"\ntext = "{speaker}, go"\n',
        ["case.toml:6: text: unknown name {speaker}; names are {a}, {b}"],
    ),
    (
        "a role named before any role step asks for it",
        HEAD + STEP + 'kind = "say"\ntext = "{hurt}, take your time."\n',
        ["case.toml:6: text: unknown name {hurt}; names are {a}, {b}"],
    ),
    (
        "a role that takes a name already in use",
        HEAD + STEP + 'kind = "role"\ntext = "Who speaks first?"\nrole = "speaker"\n',
        ['case.toml:7: role cannot be "speaker": that name already means something'],
    ),
    (
        "a role step with no role",
        HEAD + STEP + 'kind = "role"\ntext = "Who speaks first?"\n',
        [
            "case.toml:4: missing role in a role step (the name for the partner chosen);"
            ' e.g. role = "hurt"'
        ],
    ),
    (
        "a role and its other with the same name",
        HEAD + STEP + 'kind = "role"\ntext = "Who?"\nrole = "first"\nother = "first"\n',
        ['case.toml:8: other must differ from role ("first")'],
    ),
    (
        "a ready step for a role nobody asked about",
        HEAD + STEP + 'kind = "ready"\ntext = "Ready?"\nwho = "hurt"\n',
        ['case.toml:7: who must be "a" or "b" or "either" or "both", got a string ("hurt")'],
    ),
    (
        "a reminder with no time to wait",
        HEAD + STEP + 'kind = "ready"\ntext = "Ready?"\nreminder = "Take your time."\n',
        ["case.toml:7: a reminder needs reminder_seconds: how long to wait before saying it"],
    ),
    (
        "the break length named outside a break",
        HEAD + STEP + 'kind = "say"\ntext = "Back in {minutes} minutes."\n',
        ["case.toml:6: text: unknown name {minutes}; names are {a}, {b}"],
    ),
    (
        "missing title",
        'format = 1\nsummary = "S"\n' + STEP + 'kind = "say"\ntext = "Hi"\n',
        ['case.toml:1: missing title at the top; e.g. title = "Slow breathing"'],
    ),
    (
        "missing format",
        'title = "T"\nsummary = "S"\n' + STEP + 'kind = "say"\ntext = "Hi"\n',
        [
            "case.toml:1: missing format at the top (the version of the file format);"
            " e.g. format = 1"
        ],
    ),
    (
        "a format from the future",
        '# a comment\nformat = 2\ntitle = "T"\nsummary = "S"\n'
        + STEP
        + 'kind = "say"\ntext = "Hi"\n',
        ["case.toml:2: written for a newer companion (format 2); this one reads format 1"],
    ),
    (
        "no steps",
        HEAD,
        ['case.toml:1: no [[step]] table; add at least one, with a kind, e.g. kind = "say"'],
    ),
    (
        "a single-bracket step",
        HEAD + '\n[step]\nkind = "say"\ntext = "Hi"\n',
        ["case.toml:5: write each step as [[step]] (double brackets), not [step]"],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(text, expected, id=name) for name, text, expected in MALFORMED],
)
def test_a_malformed_script_reports_its_exact_file_and_line(
    write: WriteScript, text: str, expected: list[str]
) -> None:
    path = write(text)
    assert errors_of(path) == expected
    with pytest.raises(ScriptError):
        load_script(path)


def test_every_problem_is_reported_at_once_in_line_order(write: WriteScript) -> None:
    text = (
        'format = 1\ntitel = "T"\nsummary = "S"\n'  # 1-3
        '\n[[step]]\nkind = "silence"\nseconds = -1\n'  # 4-7
        '\n[[step]]\nkind = "turn"\nfloor_seconds = 60\nparaphrase_seconds = 30\n'  # 8-12
        '\n[[step]]\nkind = "say"\ntext = """A line\nkind = "not a key"\n{b} and {x}"""\n'  # 13-18
    )
    path = write(text)
    assert errors_of(path) == [
        'case.toml:1: missing title at the top; e.g. title = "Slow breathing"',
        'case.toml:2: unknown key "titel" at the top; did you mean "title"?',
        "case.toml:7: seconds must be more than 0 seconds, got -1",
        'case.toml:9: missing first in a turn step (who has the floor first); e.g. first = "a"',
        "case.toml:16: text: unknown name {x}; names are {a}, {b}",
    ]
    with pytest.raises(ScriptError) as raised:
        load_script(path)
    assert len(raised.value.problems) == 5
    assert str(raised.value).count("\n") == 4


def test_a_header_inside_a_multiline_string_does_not_shift_line_numbers(
    write: WriteScript,
) -> None:
    text = (
        HEAD
        + STEP
        + 'kind = "say"\ntext = """Read this:\n[[step]]\nseconds = 1\n"""\n'  # 4-9
        + STEP
        + 'kind = "silence"\nseconds = 0\n'  # 10-12
    )
    assert errors_of(write(text)) == ["case.toml:12: seconds must be more than 0 seconds, got 0"]


def test_a_quoted_key_is_found_on_its_line(write: WriteScript) -> None:
    text = HEAD + STEP + 'kind = "silence"\n"seconds" = "x"\n'
    assert errors_of(write(text)) == [
        'case.toml:6: seconds must be a number of seconds, got a string ("x"); e.g. seconds = 10'
    ]


def test_a_file_larger_than_256_kib_is_refused(write: WriteScript) -> None:
    path = write(HEAD + "#" * MAX_BYTES + "\n")
    assert errors_of(path) == [
        "case.toml:1: file is larger than 256 KiB; a script is a few KiB of text"
    ]


def test_a_file_that_is_not_utf8_names_the_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "case.toml"
    path.write_bytes(HEAD.encode() + STEP.encode() + b'kind = "say"\ntext = "caf\xe9"\n')
    assert errors_of(path) == [
        "case.toml:6: not UTF-8 text (byte 0xE9 at column 12); save the file as UTF-8"
    ]


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + (HEAD + STEP + 'kind = "say"\ntext = "Hi"\n').encode())
    assert load_script(path).title == "T"


def test_a_missing_file_is_one_error_naming_it(tmp_path: Path) -> None:
    result = check_script(tmp_path / "nowhere.toml")
    assert result.script is None
    assert result.errors == [f"{tmp_path / 'nowhere.toml'}: no such file"]


def test_messages_name_the_file_as_given(
    write: WriteScript, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(HEAD + STEP + 'kind = "silence"\n')
    monkeypatch.chdir(tmp_path)
    assert check_script(Path("case.toml")).errors[0].startswith("case.toml:4: ")


def test_load_script_text_reads_a_script_held_in_memory() -> None:
    script = load_script_text(HEAD + STEP + 'kind = "say"\ntext = "Hi"\n', "plan.toml", "inline")
    assert (script.id, script.steps) == ("inline", (Say("Hi", line=4),))
    with pytest.raises(ScriptError, match=r"^plan.toml:1: no \[\[step\]\] table"):
        load_script_text(HEAD, "plan.toml")


WARNED: list[tuple[str, str, list[str]]] = [
    (
        "fast breathing",
        HEAD + STEP + 'kind = "breathe"\ninhale = 1\nexhale = 1.5\ncycles = 10\n',
        [
            "case.toml:4: warning: breathing pace is 24 breaths a minute (one breath every 2.5 s);"
            " above 20 is faster than calm breathing"
        ],
    ),
    (
        "a short break",
        HEAD + STEP + 'kind = "break"\nminutes = 10\n',
        [
            "case.toml:6: warning: a break of 10 minutes is short; "
            "the body needs at least 20 minutes to settle"
        ],
    ),
    (
        "a short floor",
        HEAD + STEP + 'kind = "turn"\nfirst = "a"\nfloor_seconds = 12\nparaphrase_seconds = 10\n',
        [
            "case.toml:7: warning: a floor time of 12 s is short; "
            "a speaker needs at least 20 s to say one thing"
        ],
    ),
    (
        "a line that talks too much",
        HEAD + STEP + 'kind = "say"\ntext = "' + "word " * 61 + '"\n',
        [
            "case.toml:6: warning: this line is 61 words; a guide that talks too much is hard"
            " to follow (split it, or keep it under 60)"
        ],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(text, expected, id=name) for name, text, expected in WARNED],
)
def test_a_legal_but_doubtful_script_loads_with_a_warning(
    write: WriteScript, text: str, expected: list[str]
) -> None:
    path = write(text)
    result = check_script(path)
    assert result.errors == []
    assert result.script is not None
    assert warnings_of(path) == expected


def test_a_library_leaves_out_a_broken_file_and_keeps_the_others(
    write: WriteScript, tmp_path: Path
) -> None:
    write(GOOD, "good.toml")
    write(HEAD + STEP + 'kind = "silence"\n', "broken.toml")
    write("not a script", "notes.txt")
    library = load_library(tmp_path)
    assert list(library) == ["good"]
    assert library["good"].title == "T"
    assert library.errors == [
        f"{tmp_path / 'broken.toml'}:4: missing seconds in a silence step (a number of seconds);"
        " e.g. seconds = 10"
    ]


def test_a_missing_library_folder_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(CompanionError, match=r"^The script folder .* does not exist\.$"):
        load_library(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (
            'kind = "silence"\nseconds = inf\n',
            "case.toml:6: seconds must be a number of seconds, got inf; e.g. seconds = 10",
        ),
        (
            'kind = "silence"\nseconds = nan\n',
            "case.toml:6: seconds must be a number of seconds, got nan; e.g. seconds = 10",
        ),
        (
            'kind = "breathe"\npreset = "box"\ncycles = 5000\n',
            "case.toml:7: cycles must be from 1 to 1000, got 5000",
        ),
        (
            'kind = "breathe"\npreset = "box"\nminutes = 2000\n',
            "case.toml:7: minutes must be less than 1440 (a day), got 2000",
        ),
    ],
    ids=["infinite", "not a number", "endless cycles", "endless minutes"],
)
def test_endless_durations_are_refused(write: WriteScript, step: str, expected: str) -> None:
    assert errors_of(write(HEAD + STEP + step)) == [expected]


def test_steps_written_as_an_inline_list_are_reported_at_the_step_key(write: WriteScript) -> None:
    text = HEAD + 'step = [{kind = "say", text = "Hi"}, {kind = "silence"}]\n'
    assert errors_of(write(text)) == [
        "case.toml:4: missing seconds in a silence step (a number of seconds); e.g. seconds = 10"
    ]
