"""`companion render SCRIPT --out FILE.wav`: a whole guided session as one audio file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from companion.commands import add_script_options, add_scripts_dir
from companion.core.script import Names
from companion.library.loader import resolve_script
from companion.progress import ProgressBar


def register(subparsers: Any) -> None:
    """Add the `render` subcommand."""
    parser = subparsers.add_parser(
        "render",
        help="write a whole guided session to one WAV file",
        description="Write a script's whole guided session, spoken lines, cue tones and "
        "silences at their real timing, to one WAV file (mono, 16-bit, 22,050 Hz) that a "
        "therapist can listen to at their desk or send on. Ready gates and the end-of-break "
        "choice are skipped in a rendered file: they are taken as answered at once, as in "
        "`companion preview`.",
    )
    add_script_options(parser)
    parser.add_argument(
        "--out", required=True, type=Path, metavar="FILE.wav", help="the WAV file to write"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"out", "seconds", "lines"} at the end (lines: distinct spoken texts)',
    )
    parser.add_argument("--quiet", action="store_true", help="show no progress bar")
    add_scripts_dir(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render the script, showing progress on stderr, and report the file written."""
    from companion.voice.render import (
        render_session,
    )  # numpy, the engine and pyttsx3 only when rendering
    from companion.voice.tts import VoiceSettings

    names = Names.parse(args.names)
    script = resolve_script(args.script, args.scripts_dir)
    bar = None if args.quiet else ProgressBar(sys.stderr, sys.stderr.isatty())
    try:
        rendered = render_session(
            script,
            args.out,
            names=names,
            settings=VoiceSettings(voice=args.voice, rate=args.rate),
            progress=bar,
        )
    finally:
        if bar is not None:
            bar.close()
    if rendered.note:
        print(f"companion: {rendered.note}", file=sys.stderr)
    if args.json:
        document = {"out": str(args.out), "seconds": round(rendered.seconds, 3)}
        document["lines"] = rendered.lines
        print(json.dumps(document, ensure_ascii=False))
    else:
        whole = round(rendered.seconds)
        print(f"Wrote {args.out} ({whole // 60}:{whole % 60:02d}, {rendered.lines} spoken lines).")
    return 0
