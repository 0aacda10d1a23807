"""`companion homework add|list|show`: the therapist's homework plans."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from companion.commands.journal import add_data_dir, parse_day
from companion.core.errors import CompanionError, ScriptError
from companion.practice.homework import Plan, library_scripts, week_label, week_progress
from companion.practice.journal import Journal
from companion.practice.plan_check import check_plan


def register(subparsers: Any) -> None:
    """Add `companion homework` and its subcommands."""
    parser = subparsers.add_parser(
        "homework",
        help="import and follow a homework plan from your therapist",
        description="Homework plans: which exercises to practise, how often, until when.",
    )
    parser.set_defaults(func=_missing)
    actions = parser.add_subparsers(dest="homework_command", metavar="ACTION")

    add = actions.add_parser(
        "add",
        help="check a plan file and import it",
        description="Check a plan file and import it. The same plan (id and version) is "
        "stored once; a newer version replaces the older one.",
    )
    add.add_argument("plan", metavar="PLAN", type=Path, help="the plan file (.toml)")
    add_data_dir(add)
    add.set_defaults(func=run_add)

    listing = actions.add_parser(
        "list", help="list imported plans", description="List the imported homework plans."
    )
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    add_data_dir(listing)
    listing.set_defaults(func=run_list)

    show = actions.add_parser(
        "show",
        help="this week's homework and progress",
        description="Show this week's homework and how many times each exercise was completed "
        "this week (Monday to Sunday).",
    )
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument("--week", metavar="DATE", help="show the week containing DATE instead")
    add_data_dir(show)
    show.set_defaults(func=run_show)


def _missing(args: argparse.Namespace) -> int:
    raise CompanionError("Say what to do with homework: add, list or show (see --help).")


def run_add(args: argparse.Namespace) -> int:
    """Validate, then import; nothing is written when the plan has a problem."""
    result = check_plan(args.plan, library_scripts())
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    if result.plan is None:
        raise ScriptError(result.errors)
    plan = result.plan
    with Journal(args.data_dir) as journal:
        outcome = journal.save_plan(plan, datetime.now())
    if outcome == "unchanged":
        print(f"Plan {plan.id!r} version {plan.version} is already imported; nothing changed.")
    else:
        verb = "Added" if outcome == "added" else "Replaced the older version with"
        print(f"{verb} plan {plan.id!r} version {plan.version}: {_summary(plan)}")
    return 0


def _summary(plan: Plan) -> str:
    items = ", ".join(f"{p.title or p.script_id} {p.times_per_week}x a week" for p in plan.practice)
    return f"{plan.title} ({plan.starts} to {plan.until}): {items}."


def run_list(args: argparse.Namespace) -> int:
    """Print the imported plans."""
    with Journal(args.data_dir) as journal:
        plans = journal.plans()
    if args.json:
        print(json.dumps([plan.to_json() for plan in plans], indent=2))
    elif not plans:
        print("No homework plans imported yet. Add one with: companion homework add PLAN")
    else:
        for plan in plans:
            print(f"{plan.id} (version {plan.version}): {_summary(plan)}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print this week's assignments with completed sessions against the target."""
    day = parse_day(args.week, "--week") or date.today()
    with Journal(args.data_dir) as journal:
        plans = journal.plans()
        progress = week_progress(plans, journal.sessions(), day)
    if args.json:
        print(json.dumps({"week": week_label(day), "progress": [p.to_json() for p in progress]}))
        return 0
    if not progress:
        print(f"No homework for {week_label(day)}.")
        return 0
    print(f"Homework for {week_label(day)}:")
    notes = {plan.id: plan.note for plan in plans}
    shown: set[str] = set()
    for item in progress:
        if item.plan_id not in shown:
            shown.add(item.plan_id)
            print(f"  {item.plan_title}")
            if notes.get(item.plan_id):
                note = notes[item.plan_id].replace("\n", "\n     ")
                print(f'    "{note}"')
        mark = "done" if item.done >= item.target else f"{item.target - item.done} to go"
        print(f"    {item.script_title:<28} {item.done} of {item.target}  ({mark})")
    return 0
