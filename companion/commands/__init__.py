"""Subcommands of `companion`: one module each, with `register(subparsers)`.

Each module adds its parser and sets `func=handler` where
`handler(args: argparse.Namespace) -> int` returns the exit status.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from companion.core.errors import CompanionError
from companion.core.phase import DEFAULT_RATE


def signal_phrase_option(text: str) -> str:
    """--signal as the page would take it, or one sentence saying what is wrong."""
    from companion.listening.commands_vocab import SignalPhraseError, clean_signal_phrase

    try:
        return clean_signal_phrase(text)
    except SignalPhraseError as error:
        raise CompanionError(f"--signal: {error}") from None


def device_choice(value: str | None) -> int | str | None:
    """A device given on the command line: an index if it is a number, else a name."""
    if value is None or not value.strip():
        return None
    return int(value) if value.strip().isdigit() else value.strip()


def add_voice_options(parser: Any, voice_help: str = "text-to-speech voice id or name") -> None:
    """--voice and --rate, the same for every command that speaks or times speech."""
    parser.add_argument("--voice", default="", help=voice_help)
    parser.add_argument(
        "--rate",
        type=int,
        default=DEFAULT_RATE,
        help="speaking rate, words per minute (default: %(default)s)",
    )


def add_script_options(parser: Any, voice_help: str = "text-to-speech voice id or name") -> None:
    """SCRIPT, --names and the voice options: a script to play through, as its partners."""
    parser.add_argument("script", metavar="SCRIPT", help="a library id or a script file path")
    parser.add_argument(
        "--names", default="", help='partner names for {a} and {b}, e.g. "Sam,Alex"'
    )
    add_voice_options(parser, voice_help)


def add_scripts_dir(parser: Any) -> None:
    """--scripts-dir, for the commands that read the library."""
    parser.add_argument(
        "--scripts-dir",
        type=Path,
        default=None,
        help="the script library folder (default: the built-in scripts)",
    )
