"""`companion ...`: the command line. `companion` alone means `companion serve`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from companion import __version__
from companion.errors import CompanionError

# Each names a module in companion.commands with `register(subparsers)`.
COMMAND_MODULES: tuple[str, ...] = (
    "serve",
    "library",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="companion",
        description="A local, offline, voice-guided co-regulation companion for couples.",
    )
    parser.add_argument("--version", action="version", version=f"companion {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"companion.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # `companion` and `companion --port 9000` both mean serve.
    known = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    if not any(arg in known for arg in args_list) and not {"-h", "--help", "--version"} & set(
        args_list
    ):
        args_list.insert(0, "serve")
    args = parser.parse_args(args_list)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        status: int = args.func(args)
    except CompanionError as error:
        print(f"companion: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
