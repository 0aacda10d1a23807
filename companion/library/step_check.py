"""One ``[[step]]`` table in, one `Step` out, every problem noted with its line."""

from __future__ import annotations

import difflib
import math
import re
from typing import TYPE_CHECKING, Any

from companion.core.script import (
    RESERVED_NAMES,
    STEP_KINDS,
    Break,
    Breathe,
    Ready,
    Role,
    Say,
    Silence,
    Step,
    Turn,
)
from companion.library.limits import (
    BREATH_PRESETS,
    DEFAULT_WARNING_SECONDS,
    MAX_BREATHS_PER_MINUTE,
    MAX_CYCLES,
    MAX_MINUTES,
    MAX_ROUNDS,
    MAX_SAY_WORDS,
    MIN_BREAK_MINUTES,
    MIN_FLOOR_SECONDS,
    NAME_FIELDS,
    PRESET_CYCLES,
    STEP_KEYS,
    TURN_NAME_FIELDS,
)
from companion.library.nesting import is_number
from companion.library.toml_lines import named, show_number, suggest

if TYPE_CHECKING:
    from companion.library.script_check import ScriptChecker

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_ROLE_NAME = re.compile(r"^[a-z][a-z_]{0,19}$")
_WORD = re.compile(r"[\w']+")


class StepChecker:
    """Validates one ``[[step]]`` table."""

    def __init__(self, parent: ScriptChecker, index: int, table: object) -> None:
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
