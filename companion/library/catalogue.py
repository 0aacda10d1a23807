"""What the companion offers of its library: the break every time-out runs, each script's
card with its length, and every line a script can say (to render ahead)."""

from __future__ import annotations

from typing import Any, Literal

from companion.core.errors import ScriptError
from companion.core.preview import preview, timeline_seconds
from companion.core.script import Names, Script
from companion.library.loader import Library, default_library_dir, load_script

BREAK_SCRIPT_ID = "time-out"


def find_break_script(library: Library) -> tuple[Script | None, str]:
    """The script every time-out runs: the library's own, else the built-in one.

    The sentence says why the built-in one stands in, or why no time-out can run; "" when
    the library has its own."""
    if BREAK_SCRIPT_ID in library:
        return library[BREAK_SCRIPT_ID], ""
    name = f"{BREAK_SCRIPT_ID}.toml"
    own = library.directory / name if library.directory is not None else None
    why = (
        f"{own} has problems, so time-outs use the built-in break."
        if own is not None and own.exists()
        else ""
    )
    builtin = default_library_dir() / name
    try:
        script = load_script(builtin)
    except (ScriptError, OSError) as error:
        problem = error.problems[0] if isinstance(error, ScriptError) else str(error)
        return None, f"Time-out is off: no break script could be loaded ({problem})."
    return script, why


def script_info(script: Script, names: Names | None = None) -> dict[str, Any]:
    """What the page's picker shows of a script, with its length from the engine itself."""
    seconds = timeline_seconds(preview(script, names))
    return {**script.card(), "seconds": round(seconds)}


def spoken_lines(script: Script, names: Names, break_script: Script | None = None) -> list[str]:
    """Every line and cue word a script can say, for rendering ahead of time.

    A script that asks who takes a role says its later lines with either partner in it:
    both are rendered, so whoever the couple chooses is spoken at once."""
    lines: dict[str, None] = {}
    choices: tuple[Literal["a", "b"], ...] = ("a", "b") if script.default_roles() else ("a",)
    for choose in choices:
        for entry in preview(script, names, break_script=break_script, choose=choose):
            if entry.spoken:
                lines[entry.spoken] = None
    return list(lines)
