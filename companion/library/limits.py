"""What a script may hold: its keys, its breathing presets, and the bounds on each value.

The checkers (`script_check`, `step_check`) enforce these; the reasons are beside each.
"""

from __future__ import annotations

MAX_BYTES = 256 * 1024
"""A script is a few KiB of text; anything this big is the wrong file."""
MAX_BREATHS_PER_MINUTE = 20.0
MIN_BREAK_MINUTES = 20.0
"""Flooding takes at least 20 minutes to settle (Gottman)."""
MAX_MINUTES = 24 * 60
"""Breaks and breathing last less than a day."""
MAX_CYCLES = 1000
MAX_ROUNDS = 100
MAX_STEPS = 200
"""The built-in scripts have at most about 20 steps; thousands only slow every load down."""
"""Bounds that keep previews instant; real sessions use tens of breaths, a few rounds."""
MIN_FLOOR_SECONDS = 20.0
MAX_SAY_WORDS = 60
DEFAULT_WARNING_SECONDS = 15.0

TOP_KEYS = ("format", "title", "summary", "tags", "safety", "help", "step")
STEP_KEYS: dict[str, tuple[str, ...]] = {
    "say": ("kind", "text", "caption"),
    "silence": ("kind", "seconds", "caption"),
    "breathe": (
        "kind",
        "preset",
        "inhale",
        "inhale2",
        "hold_in",
        "exhale",
        "hold_out",
        "cycles",
        "minutes",
        "cues",
        "countdown",
    ),
    "turn": (
        "kind",
        "first",
        "floor_seconds",
        "paraphrase_seconds",
        "warning_seconds",
        "rounds",
        "speaker_prompt",
        "paraphrase_prompt",
        "check_seconds",
        "check_prompt",
    ),
    "break": (
        "kind",
        "minutes",
        "announce",
        "soothing",
        "soothe_gap",
        "callback",
        "last_callback",
        "more_minutes",
    ),
    "ready": ("kind", "text", "who", "caption", "reminder", "reminder_seconds"),
    "role": ("kind", "text", "role", "other", "caption"),
}
BREATH_PRESETS: dict[str, dict[str, float]] = {
    "resonance": {"inhale": 4.0, "exhale": 6.0},
    "box": {"inhale": 4.0, "hold_in": 4.0, "exhale": 4.0, "hold_out": 4.0},
    "4-7-8": {"inhale": 4.0, "hold_in": 7.0, "exhale": 8.0},
    "sigh": {"inhale": 2.5, "inhale2": 1.0, "exhale": 6.0},
}
"""Breathing patterns a script can name; its own keys override these seconds."""
PRESET_CYCLES: dict[str, int] = {"4-7-8": 4}
"""Breaths a preset runs when the step gives neither cycles nor minutes: four for 4-7-8,
as its author suggests for beginners (the long hold is hard at first)."""
NAME_FIELDS = ("a", "b")
TURN_NAME_FIELDS = ("a", "b", "speaker", "listener")

TOP_EXAMPLES: dict[str, object] = {
    "format": 1,
    "title": "Slow breathing",
    "summary": "Six slow breaths together, to settle before you talk.",
    "tags": ["breathing", "calming"],
    "safety": "Stop if you feel light-headed.",
    "help": "If you feel unsafe at home, call your local emergency number.",
}
"""A right value for each top-level key, shown after "e.g." in a message about it."""
STEP_EXAMPLES: dict[str, object] = {
    "kind": "say",
    "text": "Breathe in slowly.",
    "caption": "Breathe slowly",
    "seconds": 10,
    "preset": "box",
    "inhale": 4,
    "inhale2": 1,
    "hold_in": 4,
    "exhale": 6,
    "hold_out": 4,
    "cycles": 6,
    "minutes": 20,
    "cues": "chime",
    "countdown": 3,
    "first": "a",
    "floor_seconds": 60,
    "paraphrase_seconds": 30,
    "warning_seconds": 15,
    "rounds": 2,
    "speaker_prompt": "{speaker}, tell {listener} one thing you appreciated today.",
    "paraphrase_prompt": "{listener}, say back what you heard.",
    "check_seconds": 20,
    "check_prompt": "{speaker}, did {listener} get it?",
    "announce": "We will come back together in {minutes} minutes.",
    "soothing": ["Breathe slowly."],
    "soothe_gap": 30,
    "callback": "It's time to come back together.",
    "last_callback": "Let's come back together now.",
    "more_minutes": 20,
    "who": "either",
    "reminder": "Take your time.",
    "reminder_seconds": 60,
    "role": "hurt",
    "other": "other",
}
"""A right value for each step key, shown after "e.g." in a message about it."""
