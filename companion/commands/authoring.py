"""`companion new SCRIPT_FILE`: start a new guided script from a commented template."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from companion.core.errors import CompanionError

TEMPLATE = """\
# {title}: a guided script for the companion.
#
# Every line that starts with # is a comment for you, the author; the companion
# ignores it. Edit the lines below in any text editor, then check the file:
#
#     companion check {filename}
#
# The file name (without .toml) is the script's id. Text in quotes is spoken
# aloud exactly as written, so write it as you would say it: short sentences,
# one idea each. {{a}} and {{b}} stand for the partners' names.

# The version of the script format this file is written in. Leave it at 1.
format = 1
# Shown in the list of exercises.
title = "{title}"
# One sentence under the title.
summary = "A short exercise to practise together."
# Optional words that group scripts in the list.
tags = ["together"]
# Optional, shown on the page and never spoken: when this exercise is not the
# right one, and where to find professional help.
safety = "If anyone feels unsafe, stop and reach out for help."
help = "A couples therapist can help you take this further."

# Steps run one after another, top to bottom. Each starts with [[step]] and
# has a kind: say, silence, breathe, turn, break, ready or role.

# say: speak one line. caption (optional) is shown on the page instead of text.
[[step]]
kind = "say"
text = "Welcome, {{a}} and {{b}}. Sit comfortably, and let your shoulders drop."
caption = "Welcome. Sit comfortably."

[[step]]
kind = "say"
text = "Either of you can say pause, or time out, at any moment."

# silence: quiet time, in seconds. caption (optional) is shown meanwhile.
[[step]]
kind = "silence"
seconds = 10
caption = "Notice how you are sitting."

# breathe: paced breathing. preset (optional) is one of "resonance" (in 4,
# out 6), "box" (4-4-4-4), "4-7-8" or "sigh" (cyclic sighing) and fills in the
# seconds; any seconds you write win. Give exactly one of cycles or minutes.
# cues = "spoken" says in/out after each tone; "chime" plays tones only.
# countdown = seconds of "three, two, one" before the first breath (0 to 10).
[[step]]
kind = "breathe"
inhale = 4
hold_in = 0
exhale = 6
hold_out = 0
cycles = 6
cues = "spoken"
countdown = 3

# role: let the couple choose who takes a part, rather than assuming. The page
# shows a button per name; by voice "ready" chooses the first name and "next"
# the second. From here on {{first}} is whoever was chosen, {{second}} the other.
[[step]]
kind = "role"
text = "Who would like to speak first? Tap your name. Or say ready for {{a}}, or next for {{b}}."
caption = "Who would like to speak first?"
role = "first"
other = "second"

# ready: wait until a partner says or clicks they are ready. who is "a", "b",
# "either", "both" or a role. reminder (optional) is said once, softly, after
# reminder_seconds: a tender moment waits instead of being cut off by a timer.
[[step]]
kind = "ready"
text = "{{second}}, when you are ready to listen, say ready."
who = "second"
reminder = "Take your time."
reminder_seconds = 120

# turn: timed speaker-listener turns. first ("a", "b" or a role) has the floor
# first, then the roles switch. The listener paraphrases after each floor time;
# check_seconds gives the speaker time to answer "Did I get it? Is there more?".
# warning_seconds: a gentle chime this long before the floor time ends.
# rounds: each round is one turn for each partner. The prompts may use
# {{speaker}} and {{listener}} as well as {{a}}, {{b}} and any role.
[[step]]
kind = "turn"
first = "first"
floor_seconds = 60
paraphrase_seconds = 40
check_seconds = 20
warning_seconds = 15
rounds = 1
speaker_prompt = "{{speaker}}, you have the floor. {{listener}}, just listen."
paraphrase_prompt = "{{listener}}, say back what you heard."
check_prompt = "{{listener}}, ask {{speaker}}: Did I get it? Is there more?"

# break: a timed break (time-out) of at least 20 minutes. announce says when
# you will come back ({{minutes}} is the length). soothing lines are spoken at
# the start, each followed by soothe_gap seconds of quiet. callback is spoken
# when the time is up; "we need more time" adds more_minutes.
[[step]]
kind = "break"
minutes = 20
announce = "We will come back together in {{minutes}} minutes."
soothing = [
    "Breathe slowly, and let the out-breath be long.",
    "Picture a place where you feel calm.",
]
soothe_gap = 30
callback = "The time is up. Come back together, even if only to ask for more time."
more_minutes = 20

[[step]]
kind = "say"
text = "Thank you both for practising. That is the end."
"""


def template(path: Path) -> str:
    """The commented template for a new script at `path` (its title comes from the name)."""
    words = path.stem.replace("-", " ").replace("_", " ").strip()
    title = (words[:1].upper() + words[1:]) if words else "My script"
    return TEMPLATE.format(title=title.replace('"', "'"), filename=path.name)


def register(subparsers: Any) -> None:
    """Add `companion new`."""
    parser = subparsers.add_parser(
        "new",
        help="write a commented template for a new guided script",
        description=(
            "Write a commented template showing every step kind; edit it, then run "
            "`companion check FILE`. An existing file is never overwritten."
        ),
    )
    parser.add_argument("script_file", metavar="SCRIPT_FILE", type=Path, help="the .toml to write")
    parser.set_defaults(func=run_new)


def run_new(args: argparse.Namespace) -> int:
    """Write the template; refuse to touch an existing file."""
    path: Path = args.script_file
    if path.suffix != ".toml":
        raise CompanionError(f"Name the script file with .toml at the end, e.g. {path.stem}.toml.")
    try:
        # "x" mode creates the file or fails: no window in which an existing file is lost.
        with path.open("x", encoding="utf-8") as file:
            file.write(template(path))
    except FileExistsError:
        raise CompanionError(
            f"{path} already exists; choose another name (it was left unchanged)."
        ) from None
    except FileNotFoundError:
        raise CompanionError(f"The folder {path.parent} does not exist; create it first.") from None
    except OSError as error:
        raise CompanionError(f"Cannot write {path} ({error.strerror}).") from None
    print(f"Wrote {path}. Edit it, then run: companion check {path}")
    return 0
