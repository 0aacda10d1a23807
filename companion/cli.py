"""`companion ...`: the command line. `companion` alone means `companion serve`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from companion import __version__
from companion.core.errors import CompanionError

# Each names a module in companion.commands with `register(subparsers)`.
COMMAND_MODULES: tuple[str, ...] = (
    "serve",
    "library",
    "journal",
    "homework",
    "authoring",
    "render",
    "listen",
    "model",
    "devices",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="companion",
        description="A local, offline, voice-guided co-regulation companion for couples.",
    )
    parser.add_argument("--version", action="version", version=f"companion {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log more detail (every request, too)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"companion.commands.{name}")
        module.register(subparsers)
    # `companion --help` shows what `companion` alone (serve) takes; parsing never sees
    # them here, since main() puts "serve" first.
    from companion.commands import serve

    serve.add_options(parser.add_argument_group("options of `companion` alone (the serve command)"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # `companion` and `companion --port 9000` both mean serve.
    if not set(args_list) & (command_names(parser) | {"-h", "--help", "--version"}):
        # After the top level's own -v: `companion -v --port 9000` is `companion -v serve ...`.
        at = 0
        while at < len(args_list) and args_list[at] in ("-v", "--verbose"):
            at += 1
        args_list.insert(at, "serve")
    args = parser.parse_args(args_list)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        # A debug log is read against the clock (what was playing, when a word was heard).
        format=("%(asctime)s.%(msecs)03d " if args.verbose else "")
        + "%(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        status: int = args.func(args)
    except CompanionError as error:
        print(f"companion: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `companion preview x | head` closed the pipe early: not an error worth a traceback.
        sys.stderr.close()
        return 0
    return status


def command_names(parser: argparse.ArgumentParser) -> set[str]:
    """The names of the registered subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


if __name__ == "__main__":
    sys.exit(main())
