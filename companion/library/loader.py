"""Script files in, validated `Script`s out; every problem as ``file:line: message``.

A script with any error never half-loads: `load_script` raises `ScriptError`
listing all problems at once. tomllib knows no positions for values, so
`companion.library.toml_lines` finds the line of each ``[[step]]`` header and ``key =``.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from companion.core.errors import CompanionError, ScriptError
from companion.core.script import (
    FORMAT_VERSION,
    RESERVED_NAMES,
    STEP_KINDS,
    Break,
    Breathe,
    Ready,
    Role,
    Say,
    Script,
    Silence,
    Step,
    Turn,
)
from companion.library.nesting import NESTING_MESSAGE, is_number, toml_too_deep
from companion.library.toml_lines import (
    TomlLines,
    decode,
    named,
    read_bytes,
    show_number,
    suggest,
)
from companion.package_files import package_folder

logger = logging.getLogger(__name__)

MAX_BYTES = 256 * 1024
"""A script is a few KiB of text; anything this big is the wrong file."""
MAX_BREATHS_PER_MINUTE = 20.0
MIN_BREAK_MINUTES = 20.0
"""Flooding takes at least 20 minutes to settle (Gottman)."""
MAX_MINUTES = 24 * 60
"""Breaks and breathing last less than a day."""
MAX_CYCLES = 1000
MAX_ROUNDS = 100
MAX_STEPS = 200
"""The built-in scripts have at most about 20 steps; thousands only slow every load down."""
"""Bounds that keep previews instant; real sessions use tens of breaths, a few rounds."""
MIN_FLOOR_SECONDS = 20.0
MAX_SAY_WORDS = 60
DEFAULT_WARNING_SECONDS = 15.0

TOP_KEYS = ("format", "title", "summary", "tags", "safety", "help", "step")
STEP_KEYS: dict[str, tuple[str, ...]] = {
    "say": ("kind", "text", "caption"),
    "silence": ("kind", "seconds", "caption"),
    "breathe": (
        "kind",
        "preset",
        "inhale",
        "inhale2",
        "hold_in",
        "exhale",
        "hold_out",
        "cycles",
        "minutes",
        "cues",
        "countdown",
    ),
    "turn": (
        "kind",
        "first",
        "floor_seconds",
        "paraphrase_seconds",
        "warning_seconds",
        "rounds",
        "speaker_prompt",
        "paraphrase_prompt",
        "check_seconds",
        "check_prompt",
    ),
    "break": (
        "kind",
        "minutes",
        "announce",
        "soothing",
        "soothe_gap",
        "callback",
        "last_callback",
        "more_minutes",
    ),
    "ready": ("kind", "text", "who", "caption", "reminder", "reminder_seconds"),
    "role": ("kind", "text", "role", "other", "caption"),
}
BREATH_PRESETS: dict[str, dict[str, float]] = {
    "resonance": {"inhale": 4.0, "exhale": 6.0},
    "box": {"inhale": 4.0, "hold_in": 4.0, "exhale": 4.0, "hold_out": 4.0},
    "4-7-8": {"inhale": 4.0, "hold_in": 7.0, "exhale": 8.0},
    "sigh": {"inhale": 2.5, "inhale2": 1.0, "exhale": 6.0},
}
"""Breathing patterns a script can name; its own keys override these seconds."""
PRESET_CYCLES: dict[str, int] = {"4-7-8": 4}
"""Breaths a preset runs when the step gives neither cycles nor minutes: four for 4-7-8,
as its author suggests for beginners (the long hold is hard at first)."""
NAME_FIELDS = ("a", "b")
TURN_NAME_FIELDS = ("a", "b", "speaker", "listener")

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_ROLE_NAME = re.compile(r"^[a-z][a-z_]{0,19}$")
_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True)
class CheckResult:
    """What checking one script file found: the script when there are no errors."""

    script: Script | None
    errors: list[str]
    warnings: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Library(Mapping[str, Script]):
    """The scripts of one folder by id; files with errors are left out and listed in `errors`."""

    scripts: dict[str, Script]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    directory: Path | None = None

    def __getitem__(self, key: str) -> Script:
        return self.scripts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scripts)

    def __len__(self) -> int:
        return len(self.scripts)


def default_library_dir() -> Path:
    """The built-in library: ``scripts/`` in a checkout, inside the package once installed."""
    return package_folder("scripts")


def load_script(path: Path) -> Script:
    """Load and validate one script file; raise `ScriptError` listing every problem."""
    result = check_script(path)
    if result.script is None:
        raise ScriptError(result.errors)
    for warning in result.warnings:
        logger.info("%s", warning)
    return result.script


def load_script_text(text: str, name: str, script_id: str | None = None) -> Script:
    """Like `load_script` for text already in memory; `name` stands for the file in messages."""
    result = check_script_text(text, name, script_id)
    if result.script is None:
        raise ScriptError(result.errors)
    return result.script


def check_script(path: Path) -> CheckResult:
    """Validate one script file and collect all errors and warnings, never raising."""
    name = str(path)
    try:
        text = decode(read_bytes(path, MAX_BYTES, "script"), name, MAX_BYTES, "script")
    except ScriptError as error:
        return CheckResult(None, error.problems, [])
    return check_script_text(text, name, path.stem, path=path)


def check_script_text(
    text: str, name: str, script_id: str | None = None, *, path: Path | None = None
) -> CheckResult:
    """Validate script text; `name` prefixes every message, `script_id` defaults to its stem."""
    text = text.removeprefix("\ufeff")  # editors on Windows like to add a byte-order mark
    deep = toml_too_deep(text)
    if deep is not None:
        return CheckResult(
            None, [f"{name}:{deep}: {NESTING_MESSAGE}; a script is a list of flat steps"], []
        )
    source = TomlLines(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line, message = source.syntax_error(str(error), 'text = "Breathe in"')
        return CheckResult(None, [f"{name}:{line}: {message}"], [])
    checker = _Checker(source, script_id or Path(name).stem, path)
    script = checker.script(data)
    errors = [f"{name}:{line}: {message}" for line, message in sorted(checker.errors)]
    warnings = [f"{name}:{line}: warning: {message}" for line, message in sorted(checker.warnings)]
    return CheckResult(None if errors else script, errors, warnings)


def load_library(directory: Path) -> Library:
    """Load every ``*.toml`` in `directory`, keyed by file stem; broken files are reported."""
    if not directory.is_dir():
        raise CompanionError(f"The script folder {directory} does not exist.")
    scripts: dict[str, Script] = {}
    errors: list[str] = []
    warnings: list[str] = []
    for path in sorted(directory.glob("*.toml")):
        result = check_script(path)
        errors.extend(result.errors)
        warnings.extend(result.warnings)
        if result.script is not None:
            scripts[result.script.id] = result.script
        else:
            logger.warning("left out %s: %d problem(s)", path.name, len(result.errors))
    return Library(scripts, errors, warnings, directory)


def resolve_script(name: str, scripts_dir: Path | None = None) -> Script:
    """A script by file path, or else by id in `scripts_dir` (default: the built-in library)."""
    path = Path(name)
    if path.suffix == ".toml" or path.exists() or "/" in name:
        if not path.exists():
            raise CompanionError(f"There is no script file at {name}.")
        try:
            return load_script(path)
        except ScriptError as error:
            raise CompanionError(
                f"{name} has problems; fix them first:\n" + "\n".join(error.problems)
            ) from None
    library = load_library(scripts_dir or default_library_dir())
    if name in library:
        return library[name]
    close = difflib.get_close_matches(name, list(library), n=1)
    hint = f' Did you mean "{close[0]}"?' if close else ""
    raise CompanionError(
        f'There is no script called "{name}"; `companion scripts` lists them.{hint}'
    )


class _Checker:
    """Turns parsed TOML into a `Script`, noting every problem with its line."""

    def __init__(self, source: TomlLines, script_id: str, path: Path | None) -> None:
        self.source = source
        self.script_id = script_id
        self.path = path
        self.errors: list[tuple[int, str]] = []
        self.warnings: list[tuple[int, str]] = []
        self.roles: list[str] = []
        """Role names chosen by the role steps checked so far, in file order."""

    def script(self, data: dict[str, Any]) -> Script | None:
        top = self.source.top_key
        for key in data:
            if key not in TOP_KEYS:
                hint = suggest(key, TOP_KEYS) or f"; the top of a script has {', '.join(TOP_KEYS)}"
                self.errors.append((top(key), f'unknown key "{key}" at the top{hint}'))
        version = self._format(data)
        title = self._top_text(data, "title", 'e.g. title = "Slow breathing"')
        summary = self._top_text(data, "summary", "one sentence saying what the exercise is")
        tags = self._tags(data)
        safety = self._optional_text(data, "safety")
        help_text = self._optional_text(data, "help")
        steps = self._steps(data.get("step"))
        if self.errors or version is None:
            return None
        return Script(
            id=self.script_id,
            title=title,
            summary=summary,
            steps=tuple(steps),
            format=version,
            path=self.path,
            tags=tags,
            safety=safety,
            help=help_text,
        )

    # -- top level ---------------------------------------------------------

    def _format(self, data: dict[str, Any]) -> int | None:
        line = self.source.top_key("format")
        if "format" not in data:
            self.errors.append((1, f"missing format = {FORMAT_VERSION} at the top of the file"))
            return None
        value = data["format"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.errors.append((line, f"format must be {FORMAT_VERSION}, got {named(value)}"))
            return None
        if value > FORMAT_VERSION:
            self.errors.append(
                (
                    line,
                    f"written for a newer companion (format {value});"
                    f" this one reads format {FORMAT_VERSION}",
                )
            )
            return None
        return value

    def _top_text(self, data: dict[str, Any], key: str, example: str) -> str:
        if key not in data:
            self.errors.append((1, f"missing {key} ({example})"))
            return ""
        value = data[key]
        line = self.source.top_key(key)
        if not isinstance(value, str):
            self.errors.append((line, f"{key}: expected text in quotes, got {named(value)}"))
            return ""
        if not value.strip():
            self.errors.append((line, f"{key} is empty ({example})"))
        return value.strip()

    def _optional_text(self, data: dict[str, Any], key: str) -> str:
        """Shown on the page, never spoken: so no names in braces either."""
        if key not in data:
            return ""
        value = data[key]
        if not isinstance(value, str):
            self.errors.append(
                (
                    self.source.top_key(key),
                    f"{key}: expected text in quotes, got {named(value)}",
                )
            )
            return ""
        return value.strip()

    def _tags(self, data: dict[str, Any]) -> tuple[str, ...]:
        value = data.get("tags", [])
        if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
            self.errors.append(
                (self.source.top_key("tags"), 'tags: expected a list of text, e.g. ["breathing"]')
            )
            return ()
        return tuple(value)

    def _steps(self, value: object) -> list[Step]:
        if value is None:
            self.errors.append(
                (1, 'no steps: add at least one [[step]] with a kind, e.g. kind = "say"')
            )
            return []
        if isinstance(value, dict):
            self.errors.append(
                (
                    self.source.top_key("step"),  # the [step] header
                    "write each step as [[step]] (double brackets), not [step]",
                )
            )
            return []
        if not isinstance(value, list) or not value:
            self.errors.append((self.source.top_key("step"), "no steps: add at least one [[step]]"))
            return []
        if len(value) > MAX_STEPS:
            self.errors.append(
                (
                    self.source.table_line("step", MAX_STEPS),
                    f"{len(value)} steps; a script has at most {MAX_STEPS}: split it into"
                    " several scripts",
                )
            )
            return []
        steps: list[Step] = []
        for index, table in enumerate(value):
            step = _StepChecker(self, index, table).step()
            if step is not None:
                steps.append(step)
        return steps


class _StepChecker:
    """Validates one ``[[step]]`` table."""

    def __init__(self, parent: _Checker, index: int, table: object) -> None:
        self.parent = parent
        self.index = index
        self.table: dict[str, Any] = table if isinstance(table, dict) else {}
        self.is_table = isinstance(table, dict)
        self.line = parent.source.table_line("step", index)
        self.kind = ""

    def error(self, line: int, message: str) -> None:
        self.parent.errors.append((line, message))

    def warn(self, line: int, message: str) -> None:
        self.parent.warnings.append((line, message))

    def at(self, key: str) -> int:
        """The line of ``key =`` in this step, or its header line when not written there."""
        return self.parent.source.table_key("step", self.index, key) or self.line

    def step(self) -> Step | None:
        if not self.is_table:
            self.error(self.line, f"step {self.index + 1} must be a table of keys")
            return None
        kinds = ", ".join(STEP_KINDS)
        kind = self.table.get("kind")
        if kind is None:
            self.error(
                self.line, f'step {self.index + 1} has no kind; add kind = "..." (one of: {kinds})'
            )
            return None
        if not isinstance(kind, str):
            self.error(self.at("kind"), f"kind: expected a step kind in quotes, got {named(kind)}")
            return None
        if kind not in STEP_KINDS:
            hint = suggest(kind, list(STEP_KINDS))
            self.error(self.at("kind"), f'unknown step kind "{kind}"{hint} (kinds: {kinds})')
            return None
        self.kind = kind
        allowed = STEP_KEYS[kind]
        for key in self.table:
            if key not in allowed:
                hint = suggest(key, allowed) or f"; a {kind} step has {', '.join(allowed[1:])}"
                self.error(self.at(key), f'unknown key "{key}" in a {kind} step{hint}')
        before = len(self.parent.errors)
        step = getattr(self, f"_{kind}")()
        return step if len(self.parent.errors) == before else None

    # -- values --------------------------------------------------------------

    def number(
        self,
        key: str,
        unit: str,
        *,
        default: float | None = None,
        positive: bool = True,
        hint: str = "",
    ) -> float | None:
        """A number of `unit` (seconds, minutes); None when missing or wrong (noted)."""
        if key not in self.table:
            if default is None:
                self.error(
                    self.line, f"{self.kind} step is missing {key} (a number of {unit}){hint}"
                )
            return default
        value = self.table[key]
        line = self.at(key)
        if not is_number(value):
            self.error(line, f"{key}: expected a number of {unit}, got {named(value)}")
            return None
        if not math.isfinite(value):
            self.error(line, f"{key} must be a plain number of {unit}, got {value}")
            return None
        if positive and value <= 0:
            self.error(line, f"{key} must be more than 0 {unit}, got {show_number(value)}")
            return None
        if value < 0:
            self.error(line, f"{key} must be 0 {unit} or more, got {show_number(value)}")
            return None
        return float(value)

    def whole(
        self, key: str, what: str, low: int, high: int | None, default: int | None
    ) -> int | None:
        if key not in self.table:
            return default
        value = self.table[key]
        line = self.at(key)
        if not isinstance(value, int) or isinstance(value, bool):
            self.error(line, f"{key}: expected a whole number of {what}, got {named(value)}")
            return None
        if value < low or (high is not None and value > high):
            limits = f"from {low} to {high}" if high is not None else f"{low} or more"
            self.error(line, f"{key} must be {limits}, got {value}")
            return None
        return value

    def text(
        self, key: str, *, required: bool = False, names: tuple[str, ...] = NAME_FIELDS
    ) -> str:
        names = (*names, *self.parent.roles)
        if key not in self.table:
            if required:
                self.error(
                    self.line, f"{self.kind} step is missing {key} (the words to say, in quotes)"
                )
            return ""
        value = self.table[key]
        line = self.at(key)
        if not isinstance(value, str):
            self.error(line, f"{key}: expected text in quotes, got {named(value)}")
            return ""
        if required and not value.strip():
            self.error(line, f"{key} is empty; write the words to say")
        self.placeholders(key, value, line, names)
        return value.strip()

    def choice(self, key: str, options: tuple[str, ...], default: str | None) -> str | None:
        if key not in self.table:
            return default
        value = self.table[key]
        shown = " or ".join(f'"{option}"' for option in options)
        if not isinstance(value, str) or value not in options:
            hint = suggest(value, options) if isinstance(value, str) else ""
            self.error(self.at(key), f"{key} must be {shown}, got {named(value)}{hint}")
            return None
        return value

    def placeholders(self, key: str, text: str, line: int, names: tuple[str, ...]) -> None:
        """Only known names may appear in braces: a guard against typos like {nmae}."""
        shown = ", ".join("{" + name + "}" for name in names)
        for word in _PLACEHOLDER.findall(text):
            if word in names:
                continue
            close = difflib.get_close_matches(word, names, n=1, cutoff=0.5)
            hint = f"; did you mean {{{close[0]}}}?" if close else f"; names are {shown}"
            self.error(line, f"{key}: unknown name {{{word}}}{hint}")

    # -- kinds ---------------------------------------------------------------

    def _say(self) -> Say | None:
        text = self.text("text", required=True)
        caption = self.text("caption")
        words = len(_WORD.findall(text))
        if words > MAX_SAY_WORDS:
            self.warn(
                self.at("text"),
                f"this line is {words} words; a guide that talks too much is hard to follow"
                f" (split it, or keep it under {MAX_SAY_WORDS})",
            )
        return Say(text=text, caption=caption, line=self.line)

    def _silence(self) -> Silence | None:
        seconds = self.number("seconds", "seconds")
        caption = self.text("caption")
        if seconds is None:
            return None
        return Silence(seconds=seconds, caption=caption, line=self.line)

    def _breathe(self) -> Breathe | None:
        preset_name = self.choice("preset", tuple(BREATH_PRESETS), "")
        preset = BREATH_PRESETS.get(preset_name or "", {})
        hint = "" if preset else f"; or set a preset: {', '.join(BREATH_PRESETS)}"
        # A misspelt preset is reported once, not again as missing inhale and exhale.
        fallback = 0.0 if preset_name is None else None
        inhale = self.number("inhale", "seconds", default=preset.get("inhale", fallback), hint=hint)
        exhale = self.number("exhale", "seconds", default=preset.get("exhale", fallback), hint=hint)
        extra = {
            key: self.number(key, "seconds", default=preset.get(key, 0.0), positive=False)
            for key in ("inhale2", "hold_in", "hold_out")
        }
        cycles = self.whole("cycles", "breaths", 1, MAX_CYCLES, None)
        minutes = self.number("minutes", "minutes", default=0.0)
        if minutes is not None and minutes >= MAX_MINUTES:
            self.error(self.at("minutes"), f"minutes must be less than {MAX_MINUTES} (a day)")
            minutes = None
        if "cycles" in self.table and "minutes" in self.table:
            self.error(
                max(self.at("cycles"), self.at("minutes")),
                "a breathe step has both cycles and minutes; keep one of them",
            )
        elif "cycles" not in self.table and "minutes" not in self.table:
            if preset_name in PRESET_CYCLES:
                cycles = PRESET_CYCLES[preset_name]
            else:
                self.error(
                    self.line,
                    "a breathe step needs how long: cycles = (breaths) or minutes = (time)",
                )
        cues = self.choice("cues", ("spoken", "chime"), "spoken")
        countdown = self.whole("countdown", "seconds", 0, 10, 3)
        if (
            inhale is None
            or exhale is None
            or None in extra.values()
            or cues is None
            or countdown is None
            or preset_name is None
        ):
            return None
        step = Breathe(
            inhale=inhale,
            exhale=exhale,
            hold_in=extra["hold_in"] or 0.0,
            hold_out=extra["hold_out"] or 0.0,
            inhale2=extra["inhale2"] or 0.0,
            cycles=cycles,
            minutes=minutes or None,
            cues=cues,  # type: ignore[arg-type]
            countdown=countdown,
            preset=preset_name,
            line=self.line,
        )
        pace = step.breaths_per_minute
        if pace > MAX_BREATHS_PER_MINUTE:
            self.warn(
                self.line,
                f"breathing pace is {pace:.0f} breaths a minute (one breath every"
                f" {step.cycle_seconds:g} s); above {MAX_BREATHS_PER_MINUTE:.0f} is faster than"
                " calm breathing",
            )
        return step

    def _turn(self) -> Turn | None:
        if "first" not in self.table:
            self.error(self.line, 'a turn with no speaker: add first = "a" or first = "b"')
            first = None
        else:
            first = self.choice("first", ("a", "b", *self.parent.roles), None)
        floor = self.number("floor_seconds", "seconds")
        paraphrase = self.number("paraphrase_seconds", "seconds")
        # The default warning only applies where it fits inside the floor time.
        default_warning = DEFAULT_WARNING_SECONDS
        if floor is not None and floor <= DEFAULT_WARNING_SECONDS:
            default_warning = 0.0
        warning = self.number("warning_seconds", "seconds", default=default_warning, positive=False)
        rounds = self.whole("rounds", "rounds", 1, MAX_ROUNDS, 1)
        speaker_prompt = self.text("speaker_prompt", names=TURN_NAME_FIELDS)
        paraphrase_prompt = self.text("paraphrase_prompt", names=TURN_NAME_FIELDS)
        check = self.number("check_seconds", "seconds", default=0.0, positive=False)
        check_prompt = self.text("check_prompt", names=TURN_NAME_FIELDS)
        if floor is not None and warning is not None and warning >= floor:
            self.error(
                self.at("warning_seconds"),
                f"warning_seconds ({show_number(warning)}) must be less than floor_seconds"
                f" ({show_number(floor)})",
            )
            return None
        if floor is not None and floor < MIN_FLOOR_SECONDS:
            self.warn(
                self.at("floor_seconds"),
                f"a floor time of {show_number(floor)} s is short; a speaker needs at least"
                f" {MIN_FLOOR_SECONDS:.0f} s to say one thing",
            )
        if (
            first is None
            or floor is None
            or paraphrase is None
            or warning is None
            or rounds is None
            or check is None
        ):
            return None
        return Turn(
            first=first,
            floor_seconds=floor,
            paraphrase_seconds=paraphrase,
            warning_seconds=warning,
            rounds=rounds,
            speaker_prompt=speaker_prompt,
            paraphrase_prompt=paraphrase_prompt,
            check_seconds=check,
            check_prompt=check_prompt,
            line=self.line,
        )

    def _break(self) -> Break | None:
        minutes = self.number("minutes", "minutes")
        if minutes is not None and minutes >= MAX_MINUTES:
            self.error(
                self.at("minutes"),
                f"minutes must be less than {MAX_MINUTES} (a day), got {show_number(minutes)}",
            )
            return None
        if minutes is not None and minutes < MIN_BREAK_MINUTES:
            self.warn(
                self.at("minutes"),
                f"a break of {show_number(minutes)} minutes is short; the body needs at least"
                f" {MIN_BREAK_MINUTES:.0f} minutes to settle",
            )
        announce = self.text("announce", names=(*NAME_FIELDS, "minutes"))
        soothing = self._soothing()
        gap = self.number("soothe_gap", "seconds", default=30.0, positive=False)
        callback = self.text("callback")
        last_callback = self.text("last_callback")
        more = self.number("more_minutes", "minutes", default=20.0)
        if minutes is None or soothing is None or gap is None or more is None:
            return None
        return Break(
            minutes=minutes,
            soothing=soothing,
            soothe_gap=gap,
            callback=callback,
            more_minutes=more,
            announce=announce,
            last_callback=last_callback,
            line=self.line,
        )

    def _soothing(self) -> tuple[str, ...] | None:
        value = self.table.get("soothing", [])
        line = self.at("soothing")
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.error(
                line, 'soothing: expected a list of lines in quotes, e.g. ["Breathe slowly."]'
            )
            return None
        for item in value:
            self.placeholders("soothing", item, line, (*NAME_FIELDS, *self.parent.roles))
        return tuple(item.strip() for item in value)

    def _ready(self) -> Ready | None:
        text = self.text("text", required=True)
        caption = self.text("caption")
        who = self.choice("who", ("a", "b", "either", "both", *self.parent.roles), "either")
        reminder = self.text("reminder")
        seconds = self.number("reminder_seconds", "seconds", default=0.0)
        if reminder and not seconds and "reminder_seconds" not in self.table:
            self.error(
                self.at("reminder"),
                "a reminder needs reminder_seconds: how long to wait before saying it",
            )
            return None
        if who is None or seconds is None:
            return None
        return Ready(
            text=text,
            who=who,
            caption=caption,
            reminder=reminder,
            reminder_seconds=seconds if reminder else 0.0,
            line=self.line,
        )

    def _role(self) -> Role | None:
        text = self.text("text", required=True)
        caption = self.text("caption")
        role = self.role_name("role", required=True)
        other = self.role_name("other", required=False)
        if role and other == role:
            self.error(self.at("other"), f'other must differ from role ("{role}")')
            return None
        if not role or other is None:
            return None
        for name in (role, other):
            if name and name not in self.parent.roles:
                self.parent.roles.append(name)
        return Role(text=text, role=role, other=other, caption=caption, line=self.line)

    def role_name(self, key: str, *, required: bool) -> str | None:
        """A name for a role, written later in braces: lowercase letters, not a reserved word."""
        if key not in self.table:
            if required:
                self.error(self.line, f'role step is missing {key}, e.g. {key} = "hurt"')
                return None
            return ""
        value = self.table[key]
        line = self.at(key)
        if not isinstance(value, str) or not _ROLE_NAME.match(value):
            self.error(
                line,
                f"{key} must be a short lowercase word (letters and _), got {named(value)}",
            )
            return None
        if value in RESERVED_NAMES:
            self.error(line, f'{key} cannot be "{value}": that name already means something')
            return None
        return value
