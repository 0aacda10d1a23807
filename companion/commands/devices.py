"""`companion devices`: the microphones and speakers the companion can use."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `devices` subcommand."""
    parser = subparsers.add_parser(
        "devices",
        help="list the sound devices (and a sound server's sinks and sources)",
        description=(
            "List the sound devices PortAudio offers and, where a sound server runs "
            "(PulseAudio or PipeWire), its sinks and sources. Pass a name to "
            "`companion --input-device` or `--output-device`; an echo-cancelled source "
            "lets the system's echo canceller clean the microphone."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run_devices)


def run_devices(args: argparse.Namespace) -> int:
    from companion.audio.sound import SoundSystem

    listed = SoundSystem().describe()
    if args.json:
        print(json.dumps(listed, ensure_ascii=False))
        return 1 if "portaudio_error" in listed else 0
    if "portaudio_error" in listed:
        print(listed["portaudio_error"])
    else:
        print("Sound devices (PortAudio):")
        if not listed["portaudio"]:
            print("  none")
        for device in listed["portaudio"]:
            ways = [w for w, n in (("in", device["inputs"]), ("out", device["outputs"])) if n]
            print(
                f"  {device['index']:>3}  {device['name']}  ({'/'.join(ways)}, {device['rate']} Hz)"
            )
    server = listed["server"]
    if server is None:
        print("No sound server answers (PulseAudio or PipeWire); the devices above are used.")
    else:
        print("Sound server:")
        for direction, title in (
            ("input", "sources (microphones)"),
            ("output", "sinks (speakers)"),
        ):
            print(f"  {title}:")
            for device in server:
                if device["direction"] != direction:
                    continue
                notes = []
                if device["monitor"]:
                    notes.append("what plays on a sink, not a microphone")
                if device["echo_cancelled"]:
                    notes.append("echo-cancelled by the system")
                note = f"  ({'; '.join(notes)})" if notes else ""
                print(f"    {device['name']}{note}")
    return 1 if "portaudio_error" in listed else 0
