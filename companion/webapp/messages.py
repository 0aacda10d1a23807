"""What the server sends a page: one class per message, one wire form.

Every message is `{"type": TYPE, "data": {...}}` (docs/protocol.md, "Server -> page"; a
test checks that table against these classes). `state` and `status` carry the engine's and
the companion's snapshots as they are; the rest have their fields here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

from companion.core.effects import (
    CommandName,
    HoldSound,
    ReleaseSound,
    SoundEffect,
    Speak,
    StopSound,
)


def frame(type: str, data: Mapping[str, object]) -> str:
    """The one JSON text frame every server -> page message is sent as."""
    return json.dumps({"type": type, "data": data}, separators=(",", ":"))


@dataclass(frozen=True)
class _Fields:
    """A message whose data is its fields, by name."""

    TYPE: ClassVar[str]

    def data(self) -> dict[str, object]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


@dataclass(frozen=True)
class Snapshot:
    """`state` (the engine's snapshot) or `status` (what is on and off): data as given."""

    TYPE: Literal["state", "status"]
    snapshot: Mapping[str, Any]

    def data(self) -> dict[str, object]:
        return dict(self.snapshot)


@dataclass(frozen=True)
class Hello(_Fields):
    """The first message on connect."""

    TYPE: ClassVar[str] = "hello"
    version: int
    scripts: list[dict[str, object]]
    status: dict[str, object]


ACTIONS: dict[CommandName, str] = {
    CommandName.PAUSE: "paused",
    CommandName.RESUME: "resumed",
    CommandName.NEXT: "next step",
    CommandName.BACK: "back a step",
    CommandName.REPEAT: "repeating",
    CommandName.STOP: "stopped",
    CommandName.TIMEOUT: "time-out",
    CommandName.SLOWER: "slower",
    CommandName.FASTER: "faster",
    CommandName.READY: "ready",
    CommandName.MORE_TIME: "more time",
    CommandName.RETURN: "coming back",
}
"""What the page shows after "heard: pause - "."""


@dataclass(frozen=True)
class Heard(_Fields):
    """A voice command was heard (and acted on, as `action` says)."""

    TYPE: ClassVar[str] = "heard"
    text: str
    command: str
    action: str


@dataclass(frozen=True)
class Error(_Fields):
    """A page's message was refused; the session goes on."""

    TYPE: ClassVar[str] = "error"
    message: str
    about: str = ""
    """The refused message's type when known ("signal"), so the page answers in place."""


@dataclass(frozen=True)
class Notice(_Fields):
    """A command did nothing, and why; every page shows it."""

    TYPE: ClassVar[str] = "notice"
    message: str


@dataclass(frozen=True)
class SoundLine(_Fields):
    """The computer plays a rendered line."""

    TYPE: ClassVar[str] = "sound"
    url: str
    text: str
    action: Literal["line"] = "line"


@dataclass(frozen=True)
class SoundCue(_Fields):
    """The computer plays a cue tone (and its word at `url`, if any)."""

    TYPE: ClassVar[str] = "sound"
    tone: str
    url: str
    action: Literal["cue"] = "cue"


@dataclass(frozen=True)
class SoundStop(_Fields):
    """The computer falls silent (pause, stop, skip)."""

    TYPE: ClassVar[str] = "sound"
    action: Literal["stop"] = "stop"


@dataclass(frozen=True)
class SoundHold(_Fields):
    """The computer holds its sound in place while a spoken command is decided."""

    TYPE: ClassVar[str] = "sound"
    action: Literal["hold"] = "hold"


@dataclass(frozen=True)
class SoundRelease(_Fields):
    """The hold is over: the computer plays on from where it was, if anything still plays."""

    TYPE: ClassVar[str] = "sound"
    action: Literal["release"] = "release"


SoundMessage = SoundLine | SoundCue | SoundStop | SoundHold | SoundRelease


def sound_message(effect: SoundEffect, audio_key: Callable[[str], str | None]) -> SoundMessage:
    """What pages that play the guidance do for `effect`, as the computer does; `audio_key`
    gives a rendered line's key (None when it is not rendered)."""
    if isinstance(effect, StopSound):
        return SoundStop()
    if isinstance(effect, HoldSound):
        return SoundHold()
    if isinstance(effect, ReleaseSound):
        return SoundRelease()
    text = effect.text if isinstance(effect, Speak) else effect.word
    key = audio_key(text) if text else None
    url = f"/audio/{key}.wav" if key else ""
    if isinstance(effect, Speak):
        return SoundLine(url, effect.text) if url else SoundStop()  # not rendered: no old line on
    return SoundCue(effect.name, url)


@dataclass(frozen=True)
class Preload(_Fields):
    """Every line a starting session can say, for pages that play the guidance."""

    TYPE: ClassVar[str] = "preload"
    urls: list[str]


@dataclass(frozen=True)
class Speakers(_Fields):
    """How many pages play the guidance themselves."""

    TYPE: ClassVar[str] = "speakers"
    pages: int


@dataclass(frozen=True)
class Scripts(_Fields):
    """The library changed."""

    TYPE: ClassVar[str] = "scripts"
    scripts: list[dict[str, object]]


ServerMessage = (
    Snapshot
    | Hello
    | Heard
    | Error
    | Notice
    | SoundLine
    | SoundCue
    | SoundStop
    | SoundHold
    | SoundRelease
    | Preload
    | Speakers
    | Scripts
)
FIELD_MESSAGES: tuple[type[_Fields], ...] = (
    Hello,
    Heard,
    Error,
    Notice,
    SoundLine,
    SoundCue,
    SoundStop,
    SoundHold,
    SoundRelease,
    Preload,
    Speakers,
    Scripts,
)
"""Every message class with fields of its own (the protocol test reads them)."""


def wire(message: ServerMessage) -> str:
    """`message` as its JSON text frame."""
    return frame(message.TYPE, message.data())
