"""`companion scripts`, `companion check` and `companion preview`: the script library.

All three work instantly and offline: nothing is spoken, heard or started.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from companion.commands import add_script_options, add_scripts_dir
from companion.core.phase import DEFAULT_RATE
from companion.core.preview import timeline_seconds
from companion.core.script import Break, Breathe, Names, Script, Turn
from companion.library.loader import (
    Library,
    check_script,
    default_library_dir,
    load_library,
    resolve_script,
)

if TYPE_CHECKING:
    from companion.core.phase import TimelineEntry

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add the `scripts`, `check` and `preview` subcommands."""
    scripts = subparsers.add_parser(
        "scripts",
        help="list the guided scripts in the library",
        description="List the guided scripts in the library: id, title, length and summary.",
    )
    scripts.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    add_scripts_dir(scripts)
    scripts.set_defaults(func=run_scripts)

    check = subparsers.add_parser(
        "check",
        help="check script files for mistakes",
        description="Check script files and print each problem as FILE:LINE: message. "
        "Exits with status 1 if any file has an error; warnings alone do not fail.",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="script files (.toml) to check")
    check.add_argument("--json", action="store_true", help="print the results as JSON")
    check.set_defaults(func=run_check)

    preview = subparsers.add_parser(
        "preview",
        help="show when each cue of a script happens, without playing it",
        description="Print the timeline of a script's cues with their offsets from the start, "
        "instantly and silently. Ready gates are taken as answered at once.",
    )
    add_script_options(preview, voice_help="the voice whose rendered lengths to use")
    preview.add_argument("--json", action="store_true", help="print the timeline as JSON")
    add_scripts_dir(preview)
    preview.set_defaults(func=run_preview)


# -- scripts ------------------------------------------------------------------


def run_scripts(args: argparse.Namespace) -> int:
    """List the library as a table or as JSON."""
    library = _library(args.scripts_dir)
    rows = [_script_info(script) for script in library.values()]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        width = max((len(row["id"]) for row in rows), default=2)
        title_width = max((len(row["title"]) for row in rows), default=5)
        for row in rows:
            print(
                f"{row['id']:<{width}}  {row['title']:<{title_width}}  "
                f"{_clock(row['seconds']):>5}  {row['summary']}"
            )
    for problem in library.errors:
        print(problem, file=sys.stderr)
    return 0


def _script_info(script: Script) -> dict[str, Any]:
    seconds = timeline_seconds(_timeline(script, Names()))
    return {**script.card(), "seconds": round(seconds, 1), "minutes": round(seconds / 60.0, 1)}


def _library(directory: Path | None) -> Library:
    return load_library(directory or default_library_dir())


# -- check ----------------------------------------------------------------------


def run_check(args: argparse.Namespace) -> int:
    """Check each file; print problems one per line and "FILE: ok" for good files."""
    failed = False
    results: list[dict[str, Any]] = []
    for name in args.files:
        result = check_script(Path(name))
        failed = failed or not result.ok
        results.append(
            {"file": name, "ok": result.ok, "errors": result.errors, "warnings": result.warnings}
        )
        if args.json:
            continue
        for line in [*result.errors, *result.warnings]:
            print(line)
        if result.ok:
            count = len(result.warnings)
            note = f" ({count} warning{'s' if count != 1 else ''})" if count else ""
            print(f"{name}: ok{note}")
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    return 1 if failed else 0


# -- preview --------------------------------------------------------------------


def run_preview(args: argparse.Namespace) -> int:
    """Print a script's cue timeline, with a summary of its length, breathing and turns."""
    names = Names.parse(args.names)
    script = resolve_script(args.script, args.scripts_dir)
    timeline = _timeline(script, names, rate=args.rate, voice=args.voice)
    total = timeline_seconds(timeline)
    if args.json:
        entries = []
        for entry in timeline:
            item = asdict(entry)
            if not entry.speaker:
                del item["speaker"], item["listener"]
            entries.append(item)
        document = {
            "id": script.id,
            "title": script.title,
            "seconds": round(total, 3),
            "timeline": entries,
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    print(f"{script.title} ({script.id}): {_clock(total)} in all, {len(script.steps)} steps")
    for line in _summary(script, timeline, names):
        print(f"  {line}")
    print()
    for entry in timeline:
        text = entry.text or _describe_floor(entry)
        print(
            f"{_clock(entry.at):>6}  step {entry.step + 1:<3} {entry.kind:<10} "
            f"{entry.seconds:5.1f}s  {text}".rstrip()
        )
    return 0


def _timeline(
    script: Script, names: Names, *, rate: int = DEFAULT_RATE, voice: str = ""
) -> list[TimelineEntry]:
    """The engine's timeline, with real line lengths wherever the voice has rendered them."""
    from companion.core.preview import preview
    from companion.voice.tts import VoiceSettings, cached_line_seconds

    return preview(script, names, cached_line_seconds(VoiceSettings(voice=voice, rate=rate)))


def _describe_floor(entry: TimelineEntry) -> str:
    """Who does what in a floor or paraphrase entry (the engine names them)."""
    if entry.kind == "floor":
        return f"{entry.speaker} speaks, {entry.listener} listens"
    if entry.kind == "paraphrase":
        return f"{entry.listener} says back what they heard"
    if entry.kind == "check":
        return f"{entry.speaker} answers: did {entry.listener} get it? Is there more?"
    return ""


def _summary(script: Script, timeline: list[TimelineEntry], names: Names) -> list[str]:
    lines: list[str] = []
    for number, step in enumerate(script.steps):
        if isinstance(step, Breathe):
            parts = [f"in {step.inhale:g}s"]
            if step.inhale2:
                parts.append(f"in again {step.inhale2:g}s")
            if step.hold_in:
                parts.append(f"hold {step.hold_in:g}s")
            parts.append(f"out {step.exhale:g}s")
            if step.hold_out:
                parts.append(f"hold {step.hold_out:g}s")
            length = f"{step.cycles} breaths" if step.cycles else f"about {step.minutes:g} minutes"
            lines.append(
                f"step {number + 1} breathe: {step.breaths_per_minute:.1f} breaths a minute "
                f"({', '.join(parts)}), {length}"
            )
        elif isinstance(step, Turn):
            floors = [entry for entry in timeline if entry.step == number and entry.kind == "floor"]
            who = [f"{entry.speaker} at {_clock(entry.at)}" for entry in floors]
            check = f", then {step.check_seconds:g}s for the answer" if step.check_seconds else ""
            lines.append(
                f"step {number + 1} turn: the floor for {step.floor_seconds:g}s, then "
                f"{step.paraphrase_seconds:g}s to say it back{check}; {', '.join(who)}"
            )
        elif isinstance(step, Break):
            lines.append(
                f"step {number + 1} break: {step.minutes:g} minutes, "
                f"{len(step.soothing)} soothing lines, then the call back "
                f"(more time adds {step.more_minutes:g} minutes)"
            )
    return lines


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"
