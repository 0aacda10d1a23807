"""`companion journal list|export|delete`: the local practice journal."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from companion.core.errors import CompanionError
from companion.core.script import Names
from companion.practice.journal import Journal, SessionRecord
from companion.practice.journal_file import DATA_DIR_ENV


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """Give a command the --data-dir option every journal and homework command takes."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"the folder holding the journal (default: ${DATA_DIR_ENV}, "
        "else your user data folder)",
    )


def parse_day(text: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option value as a date, or a one-sentence error."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CompanionError(f"{option} takes a date like 2025-03-03, not {text!r}.") from None


def _add_session_options(parser: argparse.ArgumentParser) -> None:
    """What `list` and `export` both take: which sessions, whose ratings, which journal."""
    parser.add_argument("--since", metavar="DATE", help="only sessions on or after DATE")
    parser.add_argument(
        "--names",
        default="",
        help='the partners\' names for A and B, e.g. "Sam,Alex" (default: Partner A, Partner B)',
    )
    add_data_dir(parser)


def register(subparsers: Any) -> None:
    """Add `companion journal` and its subcommands."""
    parser = subparsers.add_parser(
        "journal",
        help="see, export or delete the practice journal",
        description="The practice journal on this computer: what was practised, when, and how "
        "calm you felt. It never holds audio or anything that was said.",
    )
    parser.set_defaults(func=lambda args: _missing(parser))
    actions = parser.add_subparsers(dest="journal_command", metavar="ACTION")

    listing = actions.add_parser(
        "list",
        help="list recorded sessions",
        description="List recorded sessions, oldest first.",
    )
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    _add_session_options(listing)
    listing.set_defaults(func=run_list)

    export = actions.add_parser(
        "export",
        help="write a report for your therapist (CSV or HTML)",
        description="Write a report for your therapist: practice per week against the plan, "
        "calm ratings before and after, time-outs per session. HTML is one self-contained, "
        "printable page; CSV has one row per session.",
    )
    export.add_argument("--format", choices=("csv", "html"), default="html", help="default: html")
    export.add_argument(
        "--out", metavar="FILE", type=Path, help="write to FILE instead of the screen"
    )
    _add_session_options(export)
    export.set_defaults(func=run_export)

    delete = actions.add_parser(
        "delete",
        help="delete the whole journal for good",
        description="Delete every session, rating and homework plan, and wipe them from the "
        "file so nothing can be recovered.",
    )
    delete.add_argument("--all", action="store_true", help="required: delete everything")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_data_dir(delete)
    delete.set_defaults(func=run_delete)


def _missing(parser: argparse.ArgumentParser) -> int:
    raise CompanionError("Say what to do with the journal: list, export or delete (see --help).")


def _line(s: SessionRecord, names: Names) -> str:
    """One session per line, every figure in words a therapist can read at a glance."""
    from companion.practice.report import calm_words

    minutes = "" if s.minutes is None else f"{s.minutes:.0f} min"
    calm = []
    for name, before, after in (
        (names.a, s.calm_before_a, s.calm_after_a),
        (names.b, s.calm_before_b, s.calm_after_b),
    ):
        if before is not None or after is not None:
            calm.append(f"calm, {name}: {calm_words(before, after)}")
    return "  ".join(
        part
        for part in (
            f"{s.started_at:%Y-%m-%d %H:%M}",
            f"{s.script_title:<28}",
            f"{s.ending or 'running':<11}",
            f"reached step {s.steps_reached} of {s.total_steps}",
            f"{minutes:>6}",
            _count(s.pauses, "pause"),
            _count(s.timeouts, "time-out"),
            *calm,
        )
        if part
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def run_list(args: argparse.Namespace) -> int:
    """Print the sessions."""
    since = parse_day(args.since, "--since")
    names = Names.parse(args.names)
    with Journal(args.data_dir) as journal:
        sessions = journal.sessions(since)
    if args.json:
        print(json.dumps([s.to_json() for s in sessions], indent=2))
    elif not sessions:
        print("No sessions recorded yet.")
    else:
        for session in sessions:
            print(_line(session, names))
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write the report to a file or the screen."""
    from companion.practice.report import build_report, render_report

    since = parse_day(args.since, "--since")
    with Journal(args.data_dir) as journal:
        sessions = journal.sessions()
        plans = journal.plans()
    report = build_report(sessions, plans, date.today(), since)
    text = render_report(report, args.format, Names.parse(args.names))
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        args.out.write_text(text, encoding="utf-8", newline="")
    except OSError as error:
        raise CompanionError(f"Cannot write {args.out} ({error.strerror}).") from None
    print(
        f"Wrote {args.out}: {len(report.sessions)} session(s) over {len(report.weeks)} week(s).",
        file=sys.stderr,
    )
    return 0


def run_delete(args: argparse.Namespace) -> int:
    """Delete everything, after confirmation (or --yes)."""
    if not args.all:
        raise CompanionError("Add --all to delete the whole journal; nothing was deleted.")
    with Journal(args.data_dir) as journal:
        sessions, plans = journal.counts()
        if not args.yes:
            if not sys.stdin.isatty():
                raise CompanionError(
                    "Add --yes to delete without being asked; nothing was deleted."
                )
            answer = input(
                f"Delete {sessions} session(s) and {plans} homework plan(s) from {journal.path}"
                " for good? [y/N] "
            )
            if answer.strip().lower() not in ("y", "yes"):
                print("Nothing was deleted.")
                return 0
        summary = journal.delete_all()
    print(summary)
    return 0
