"""Figures for talking and listening at once, measured on the full-duplex rig.

Run: .venv/bin/python bench/bench_duplex.py [--trials 30] [--rooms kitchen,living]
(part of `bash tools/bench.sh`; about 30 minutes). The real `companion serve` runs against
a PulseAudio server with no sound card (tests/pulse_rig.py): its voice plays into a sink, a
room carries it back into its microphone, and partners' voices are mixed into the same air.
Times are when 10 ms blocks of the speaker's and the microphone's monitors arrived here,
so both carry the same recording latency, which cancels out.

Voices here are neither the tests' nor bench_listening.py's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from duplex_support import ServedCompanion  # noqa: E402
from pulse_rig import (  # noqa: E402
    KITCHEN,
    LIVING_ROOM,
    PulseRig,
    Room,
    SpeakerRecorder,
    rig_missing,
)
from spoken import speak  # noqa: E402

PARTNERS = [
    ("en-gb-x-gbclan", 145, 45),
    ("en-gb-x-gbcwmd", 165, 60),
    ("en-029", 150, 35),
    ("en-us+aunty", 140, 65),
]
LEVELS = [1.0, 1.5]
QUIET = 100.0
"""RMS below which the speaker counts as silent (the voice speaks at about 3,000)."""
TRIAL_SCRIPT = "naming-sensations"


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{1000 * statistics.median(ordered):.0f} / {1000 * p95:.0f} ms (n={len(ordered)})"


def silent_from(rig: PulseRig, since: float, hold: float = 0.5) -> float | None:
    """Arrival time of the first speaker block after `since` that starts `hold` s of quiet."""
    levels = rig.speaker.levels(since - 0.2)
    for i, (at, _) in enumerate(levels):
        if at < since - 0.2:
            continue
        stretch = [rms for t, rms in levels[i:] if t < at + hold]
        if stretch and levels[-1][0] >= at + hold and max(stretch) < QUIET:
            return float(at)
    return None


def first_sound(rig: PulseRig, since: float) -> float | None:
    return next((float(at) for at, rms in rig.speaker.levels(since) if rms > QUIET), None)


def speech_end_in_air(air: SpeakerRecorder, clip: np.ndarray) -> float | None:
    """When the partner's clip stopped sounding in the air, found by correlating it."""
    heard, last_arrival = air.kept()
    if len(heard) < len(clip):
        return None
    size = 1 << int(np.ceil(np.log2(len(heard) + len(clip))))
    corr = np.fft.irfft(np.fft.rfft(heard, size) * np.conj(np.fft.rfft(clip, size)), size)
    onset = int(np.argmax(corr[: len(heard)]))
    end = onset + int(np.flatnonzero(np.abs(clip) > 300)[-1])
    return float(last_arrival - (len(heard) - end) / 16_000)


def wait(companion: ServedCompanion, status: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if companion.state()["status"] == status:
            return True
        time.sleep(0.03)
    return False


def stop(companion: ServedCompanion) -> None:
    companion.command("stop")
    wait(companion, "ended", 10)
    time.sleep(0.8)


def all_lines_scripts(folder: Path) -> tuple[Path, list[str]]:
    """The built-in library plus scripts that together say every line the library can
    say (as many as a script's step limit needs), and their names in order."""
    from companion.core.script import Names
    from companion.library.catalogue import spoken_lines
    from companion.library.limits import MAX_STEPS
    from companion.library.loader import default_library_dir, load_library

    folder.mkdir(parents=True, exist_ok=True)
    library = dict(load_library(default_library_dir()))
    lines: dict[str, None] = {}
    for script in library.values():
        for line in spoken_lines(script, Names(), library.get("time-out")):
            lines[line] = None
    for path in default_library_dir().glob("*.toml"):
        (folder / path.name).write_text(path.read_text())
    said = [line for line in lines if line]
    names = []
    for part, first in enumerate(range(0, len(said), MAX_STEPS), start=1):
        steps = "".join(
            f'\n[[step]]\nkind = "say"\ntext = {json.dumps(line)}\n'
            for line in said[first : first + MAX_STEPS]
        )
        names.append(f"every-line-{part}")
        (folder / f"{names[-1]}.toml").write_text(
            f'format = 1\ntitle = "Every line, part {part}"\n'
            f'summary = "Every line the library says."\n{steps}'
        )
    return folder, names


def run_room(
    room: Room,
    trials: int,
    root: Path,
    cache: Path,
    keep: Path | None = None,
    every_line: bool = True,
) -> dict[str, Any]:
    rig = PulseRig(root, room).start()
    air = SpeakerRecorder(rig, "air.monitor", keep_seconds=6.0)
    air.start()
    scripts, every_line_parts = all_lines_scripts(root / "scripts")
    companion = ServedCompanion(rig, root, cache, "--scripts-dir", str(scripts))
    result: dict[str, Any] = {"room": room.name}
    try:
        companion.wait_ready(timeout=300)
        began = time.monotonic()
        rig.say(speak("we were talking about the weekend", "en-gb-x-gbclan"))
        time.sleep(1.0)
        # A partner says "pause" over the voice.
        obeyed, to_silent, each = 0, [], []
        for trial in range(trials):
            voice, rate, pitch = PARTNERS[trial % len(PARTNERS)]
            level = LEVELS[(trial // len(PARTNERS)) % len(LEVELS)]
            companion.command("start", script=TRIAL_SCRIPT)
            # Not over its opening line: it tells the couple they may say "pause", and a
            # word the companion is saying never commands it.
            try:
                companion.wait_until(lambda: companion.state()["status"] == "running", 20)
                companion.wait_until(lambda: "pause" in companion.state()["caption"], 30)
                companion.wait_until(lambda: "pause" not in companion.state()["caption"], 30)
                time.sleep(0.5 + 0.37 * (trial % 5))
                companion.wait_until(lambda: rig.speaker.playing(within=0.05), timeout=20)
            except AssertionError:  # e.g. its own echo paused it: a lost trial
                state = companion.state()
                ended = state.get("ended") or ""
                lost = f"{state['status']} ({ended}) at {state['caption'][:40]!r}"
                result.setdefault("trials_not_run", []).append(lost)
                stop(companion)
                continue
            clip = speak("pause", voice, rate, pitch) * level
            rig.say(clip, 1.0)
            said = time.monotonic()
            if wait(companion, "paused", 3.0):
                obeyed += 1
                time.sleep(0.8)
                end = speech_end_in_air(air, clip)
                silent = silent_from(rig, said - 1.5)
                if end is not None and silent is not None:
                    to_silent.append(silent - end)
                    # Each trial by its time in the companion's log, to trace a slow one.
                    each.append(
                        f"{time.strftime('%H:%M:%S')} {voice} x{level}: "
                        f"{1000 * (silent - end):.0f} ms"
                    )
            stop(companion)
        result["pause_obeyed"] = f"{obeyed}/{trials}"
        result["pause_to_silent"] = percentiles(to_silent)
        result["pause_to_silent_each"] = each
        # A button (the JSON API, as the page sends it), and a step starting.
        to_quiet, to_sound = [], []
        for _ in range(trials):
            asked = time.monotonic()
            companion.command("start", script=TRIAL_SCRIPT)
            heard = companion.wait_until(partial(first_sound, rig, asked), timeout=20)
            if heard is not None:
                to_sound.append(heard - asked)
            time.sleep(1.0)
            companion.wait_until(lambda: rig.speaker.playing(within=0.05), timeout=20)
            pressed = time.monotonic()
            companion.command("pause")
            time.sleep(0.8)
            silent = silent_from(rig, pressed)
            if silent is not None:
                to_quiet.append(silent - pressed)
            stop(companion)
        result["button_to_silent"] = percentiles(to_quiet)
        result["start_to_sound"] = percentiles(to_sound)
        # Its own voice over every line the library says (about 20 minutes).
        if not every_line:
            after = companion.status()
            hours = (time.monotonic() - began) / 3600
            result["minutes"] = round(hours * 60, 1)
            result["underruns_per_hour"] = round(after["voice"]["underruns"] / hours, 1)
            return result
        before = companion.status()["listening"]
        mark = time.monotonic()
        for part in every_line_parts:
            companion.command("start", script=part)
            companion.wait_until(lambda: companion.state()["status"] == "running", 20)
            companion.wait_until(lambda: companion.state()["status"] == "ended", timeout=3600)
        after = companion.status()
        result["own_voice_commands"] = after["listening"]["heard"] - before["heard"]
        result["own_voice_holds"] = after["listening"]["held"] - before["held"]
        result["own_voice_heard_as"] = [h["text"] for _, h in companion.received("heard", mark)]
        result["every_line_minutes"] = round((time.monotonic() - mark) / 60, 1)
        hours = (time.monotonic() - began) / 3600
        result["minutes"] = round(hours * 60, 1)
        result["underruns_per_hour"] = round(after["voice"]["underruns"] / hours, 1)
        result["overflows_per_hour"] = round(after["listening"]["overflows"] / hours, 1)
    finally:
        companion.close()
        air.stop()
        rig.stop()
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"{room.name.replace(' ', '-')}.log").write_text(companion.log_path.read_text())
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--rooms", default="kitchen,living")
    parser.add_argument("--keep-logs", type=Path, help="keep each companion's log here")
    parser.add_argument(
        "--own-voice-rooms",
        default="kitchen",
        help="rooms in which the companion says every line of the library (20 min each)",
    )
    args = parser.parse_args()
    missing = rig_missing()
    if missing:
        print(f"bench_duplex: {missing}", file=sys.stderr)
        return 1
    rooms = {"kitchen": KITCHEN, "living": LIVING_ROOM}
    with tempfile.TemporaryDirectory() as temp:
        cache = Path(temp) / "cache"
        for name in args.rooms.split(","):
            every_line = name in args.own_voice_rooms.split(",")
            result = run_room(
                rooms[name], args.trials, Path(temp) / name, cache, args.keep_logs, every_line
            )
            for key, value in result.items():
                print(f"{result['room']:12} {key:22} {value}", flush=True)
            print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
