"""Subcommands of `companion`: one module each, with `register(subparsers)`.

Each module adds its parser and sets `func=handler` where
`handler(args: argparse.Namespace) -> int` returns the exit status.
"""

from __future__ import annotations

from companion.errors import CompanionError


def signal_phrase_option(text: str) -> str:
    """--signal as the page would take it, or one sentence saying what is wrong."""
    from companion.commands_vocab import SignalPhraseError, clean_signal_phrase

    try:
        return clean_signal_phrase(text)
    except SignalPhraseError as error:
        raise CompanionError(f"--signal: {error}") from None
