"""What a page may send: each message checked, refused with one sentence when wrong.

The controller only ever sees a well-formed `Command`, `Names` or signal phrase.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal, cast

from companion.core.effects import Command, CommandName
from companion.core.phase import BREAK_LIMIT_MINUTES
from companion.core.script import Names
from companion.library.nesting import MAX_NESTING, is_number, json_too_deep
from companion.listening.commands_vocab import SignalPhraseError, clean_signal_phrase

MAX_MESSAGE_BYTES = 4096
"""Larger client messages get an `error` reply (docs/protocol.md)."""
MAX_NAME_CHARS = 40
MAX_BREAK_MINUTES = BREAK_LIMIT_MINUTES
"""A break lasts less than a day, "more time" included (the engine's own limit)."""
MAX_STEP = 999
"""Scripts are a few dozen steps at most; a larger number is not a step."""


class MessageError(ValueError):
    """A client message was refused; `str()` is the one sentence sent back.

    `about` names the refused message's type when it was known ("signal"), so the page
    can show the sentence where it was asked (under the break word field)."""

    def __init__(self, sentence: str, about: str = "") -> None:
        super().__init__(sentence)
        self.about = about


@dataclass(frozen=True)
class Speaker:
    """A `speaker` message: this page plays the guidance itself, or stops doing so."""

    on: bool


@dataclass(frozen=True)
class Signal:
    """A `signal` message: the couple's own word or phrase for a break."""

    phrase: str
    """Trimmed, single-spaced letters; "" for no signal word of their own."""


def parse_command(data: object, script_ids: set[str] | None = None) -> Command:
    """Turn a `command` message's data into a Command, or raise MessageError saying why not."""
    if not isinstance(data, dict):
        raise MessageError("A command needs a JSON object as its data.")
    allowed = {"name", "script", "partner", "minutes", "source", "step", "early"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise MessageError(f"A command has no field called {unknown[0]!r}.")
    name = data.get("name")
    if not isinstance(name, str):
        raise MessageError("A command needs a name, such as 'pause'.")
    try:
        command_name = CommandName(name)
    except ValueError:
        raise MessageError(f"There is no command called {name[:40]!r}.") from None
    script = data.get("script", "")
    if not isinstance(script, str) or len(script) > 100:
        raise MessageError("The script must be given by its id, as text.")
    if command_name is CommandName.START:
        if not script:
            raise MessageError("Choose a script to start.")
        if script_ids is not None and script not in script_ids:
            raise MessageError(f"There is no script called {script!r}.")
    partner = data.get("partner", "")
    if partner not in ("a", "b", ""):
        raise MessageError("The partner must be 'a' or 'b'.")
    minutes = data.get("minutes", 0)
    if not is_number(minutes) or not 0 <= float(minutes) <= MAX_BREAK_MINUTES:
        raise MessageError("The break length must be a number of minutes, less than a day.")
    source = data.get("source", "page")
    if source not in ("page", "key"):
        raise MessageError("The source must be 'page' or 'key'.")
    step = data.get("step", 0)
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= MAX_STEP:
        raise MessageError("The step must be a whole number, counting from 0.")
    early = data.get("early", False)
    if not isinstance(early, bool):
        raise MessageError("'early' must be true or false.")
    return Command(
        name=command_name,
        source=cast(Literal["page", "key"], source),
        script=script,
        partner=cast(Literal["a", "b", ""], partner),
        minutes=float(minutes),
        step=step,
        early=early,
    )


def parse_names(data: object) -> Names:
    """Turn a `names` message's data into Names, or raise MessageError saying what is wrong."""
    if not isinstance(data, dict) or set(data) != {"a", "b"}:
        raise MessageError("Names need exactly two fields, 'a' and 'b'.")
    cleaned: list[str] = []
    for key in ("a", "b"):
        value = data[key]
        if not isinstance(value, str):
            raise MessageError("Each name must be text.")
        value = value.strip()
        if not 1 <= len(value) <= MAX_NAME_CHARS or not value.isprintable():
            raise MessageError(f"Each name must be 1 to {MAX_NAME_CHARS} printable characters.")
        cleaned.append(value)
    return Names(a=cleaned[0], b=cleaned[1])


def parse_signal(data: object) -> Signal:
    """Turn a `signal` message's data into a Signal, or raise MessageError saying what is wrong."""
    if not isinstance(data, dict) or set(data) != {"phrase"}:
        raise MessageError("A break word needs exactly one field, 'phrase'.", about="signal")
    phrase = data["phrase"]
    if not isinstance(phrase, str):
        raise MessageError("A break word must be text.", about="signal")
    try:
        return Signal(clean_signal_phrase(phrase))
    except SignalPhraseError as error:
        raise MessageError(str(error), about="signal") from None


def parse_message(
    raw: object, script_ids: set[str] | None = None
) -> Command | Names | Signal | Speaker:
    """Validate one WebSocket frame from the page; raise MessageError with one sentence if wrong."""
    if not isinstance(raw, str):
        raise MessageError("Messages must be JSON text, not binary.")
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise MessageError(f"Messages must be at most {MAX_MESSAGE_BYTES} bytes.")
    if json_too_deep(raw):
        raise MessageError(f"Messages must not nest more than {MAX_NESTING} levels deep.")
    try:
        message = json.loads(raw)
    except ValueError:
        raise MessageError("That message was not valid JSON.") from None
    if not isinstance(message, dict) or set(message) != {"type", "data"}:
        raise MessageError("A message must be a JSON object with 'type' and 'data'.")
    kind = message["type"]
    if kind == "command":
        return parse_command(message["data"], script_ids)
    if kind == "names":
        return parse_names(message["data"])
    if kind == "signal":
        return parse_signal(message["data"])
    if kind == "speaker":
        data = message["data"]
        if not isinstance(data, dict) or set(data) != {"on"} or not isinstance(data["on"], bool):
            raise MessageError("A speaker message needs one field, 'on': true or false.")
        return Speaker(data["on"])
    shown = kind[:40] if isinstance(kind, str) else kind
    raise MessageError(
        f"Unknown message type {shown!r}; expected 'command', 'names', 'signal' or 'speaker'."
    )
