"""Subcommands of `companion`: one module each, with `register(subparsers)`.

Each module adds its parser and sets `func=handler` where
`handler(args: argparse.Namespace) -> int` returns the exit status.
"""
