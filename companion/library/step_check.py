"""One ``[[step]]`` table in, one `Step` out, every problem noted with its line."""

from __future__ import annotations

import difflib
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
from companion.library.field_check import TableCheck, quoted, show_number, suggest
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
    STEP_EXAMPLES,
    STEP_KEYS,
    TURN_NAME_FIELDS,
)

if TYPE_CHECKING:
    from companion.library.script_check import ScriptChecker

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_ROLE_NAME = re.compile(r"^[a-z][a-z_]{0,19}$")
_WORD = re.compile(r"[\w']+")


class StepChecker:
    """Validates one ``[[step]]`` table."""

    def __init__(self, parent: ScriptChecker, index: int, table: dict[str, Any]) -> None:
        self.parent = parent
        self.index = index
        self.table = table
        self.line = parent.source.table_line("step", index)
        self.fields = TableCheck(
            table, self.at, f"in step {index + 1}", STEP_EXAMPLES, parent.errors
        )
        """The step's keys; `where` says its kind once that is known."""

    def error(self, line: int, message: str) -> None:
        self.parent.errors.append((line, message))

    def warn(self, line: int, message: str) -> None:
        self.parent.warnings.append((line, message))

    def at(self, key: str) -> int:
        """The line of ``key =`` in this step, or its header line when not written there."""
        return self.parent.source.table_key("step", self.index, key) or self.line

    def step(self) -> Step | None:
        kinds = ", ".join(STEP_KINDS)
        if not self.fields.given("kind", required=True, meaning=f"one of {kinds}"):
            return None
        kind = self.table["kind"]
        if not isinstance(kind, str):
            self.fields.wrong("kind", "a step kind in quotes")
            return None
        if kind not in STEP_KINDS:
            hint = suggest(kind, STEP_KINDS)
            self.error(self.at("kind"), f"unknown step kind {quoted(kind)}{hint} (kinds: {kinds})")
            return None
        allowed = STEP_KEYS[kind]
        self.fields.where = f"in a {kind} step"
        self.fields.unknown_keys(allowed, f"a {kind} step has {', '.join(allowed[1:])}")
        before = len(self.parent.errors)
        step = getattr(self, f"_{kind}")()
        return step if len(self.parent.errors) == before else None

    # -- values --------------------------------------------------------------

    def text(
        self, key: str, *, required: bool = False, names: tuple[str, ...] = NAME_FIELDS
    ) -> str:
        """Spoken or shown text, whose names in braces must be known here."""
        meaning = "the words to say" if required else ""
        value = self.fields.text(key, required=required, meaning=meaning)
        self.placeholders(key, value, self.at(key), (*names, *self.parent.roles))
        return value

    def minutes(self, *, required: bool, default: float | None = None) -> float | None:
        """How long a breathe or break step lasts: less than a day."""
        minutes = self.fields.number("minutes", "minutes", required=required, default=default)
        if minutes is not None and minutes >= MAX_MINUTES:
            self.fields.error(
                "minutes",
                f"minutes must be less than {MAX_MINUTES} (a day), got {show_number(minutes)}",
            )
            return None
        return minutes

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
        seconds = self.fields.number("seconds", "seconds", required=True)
        caption = self.text("caption")
        if seconds is None:
            return None
        return Silence(seconds=seconds, caption=caption, line=self.line)

    def _breathe(self) -> Breathe | None:
        number = self.fields.number
        preset_name = self.fields.choice("preset", tuple(BREATH_PRESETS), default="")
        preset = BREATH_PRESETS.get(preset_name or "", {})
        # Without a preset the step gives its own breath; a misspelt one is reported once.
        own = preset_name == ""
        hint = f"; or set a preset: {', '.join(BREATH_PRESETS)}"
        inhale = number("inhale", "seconds", required=own, default=preset.get("inhale"), hint=hint)
        exhale = number("exhale", "seconds", required=own, default=preset.get("exhale"), hint=hint)
        extra = {
            key: number(key, "seconds", default=preset.get(key, 0.0), positive=False)
            for key in ("inhale2", "hold_in", "hold_out")
        }
        cycles = self.fields.whole("cycles", 1, MAX_CYCLES, of="breaths")
        minutes = self.minutes(required=False, default=0.0)
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
        cues = self.fields.choice("cues", ("spoken", "chime"), default="spoken")
        countdown = self.fields.whole("countdown", 0, 10, of="seconds", default=3)
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
        number = self.fields.number
        speakers = ("a", "b", *self.parent.roles)
        first = self.fields.choice(
            "first", speakers, required=True, meaning="who has the floor first"
        )
        floor = number("floor_seconds", "seconds", required=True)
        paraphrase = number("paraphrase_seconds", "seconds", required=True)
        # The default warning only applies where it fits inside the floor time.
        default_warning = DEFAULT_WARNING_SECONDS
        if floor is not None and floor <= DEFAULT_WARNING_SECONDS:
            default_warning = 0.0
        warning = number("warning_seconds", "seconds", default=default_warning, positive=False)
        rounds = self.fields.whole("rounds", 1, MAX_ROUNDS, of="rounds", default=1)
        speaker_prompt = self.text("speaker_prompt", names=TURN_NAME_FIELDS)
        paraphrase_prompt = self.text("paraphrase_prompt", names=TURN_NAME_FIELDS)
        check = number("check_seconds", "seconds", default=0.0, positive=False)
        check_prompt = self.text("check_prompt", names=TURN_NAME_FIELDS)
        if floor is not None and warning is not None and warning >= floor:
            self.fields.error(
                "warning_seconds",
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
        minutes = self.minutes(required=True)
        if minutes is not None and minutes < MIN_BREAK_MINUTES:
            self.warn(
                self.at("minutes"),
                f"a break of {show_number(minutes)} minutes is short; the body needs at least"
                f" {MIN_BREAK_MINUTES:.0f} minutes to settle",
            )
        announce = self.text("announce", names=(*NAME_FIELDS, "minutes"))
        soothing = self.fields.text_list("soothing")
        for item in soothing or ():
            self.placeholders(
                "soothing", item, self.at("soothing"), (*NAME_FIELDS, *self.parent.roles)
            )
        gap = self.fields.number("soothe_gap", "seconds", default=30.0, positive=False)
        callback = self.text("callback")
        last_callback = self.text("last_callback")
        more = self.fields.number("more_minutes", "minutes", default=20.0)
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

    def _ready(self) -> Ready | None:
        text = self.text("text", required=True)
        caption = self.text("caption")
        who = self.fields.choice(
            "who", ("a", "b", "either", "both", *self.parent.roles), default="either"
        )
        reminder = self.text("reminder")
        seconds = self.fields.number("reminder_seconds", "seconds", default=0.0)
        if reminder and not seconds and "reminder_seconds" not in self.table:
            self.fields.error(
                "reminder", "a reminder needs reminder_seconds: how long to wait before saying it"
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
            self.fields.error("other", f"other must differ from role ({quoted(role)})")
            return None
        if not role or other is None:
            return None
        for name in (role, other):
            if name and name not in self.parent.roles:
                self.parent.roles.append(name)
        return Role(text=text, role=role, other=other, caption=caption, line=self.line)

    def role_name(self, key: str, *, required: bool) -> str | None:
        """A name for a role, written later in braces: lowercase letters, not a reserved word."""
        meaning = "the name for the partner chosen"
        if not self.fields.given(key, required=required, meaning=meaning):
            return None if required else ""
        value = self.table[key]
        if not isinstance(value, str) or not _ROLE_NAME.match(value):
            self.fields.wrong(key, "a short lowercase word (letters and _)")
            return None
        if value in RESERVED_NAMES:
            self.fields.error(
                key, f"{key} cannot be {quoted(value)}: that name already means something"
            )
            return None
        return value
