"""`companion listen`: print each voice command heard, from the microphone or a WAV file.

The same pipeline as a live session (`companion.speech_in.Listener`), so this is also
the microphone check: say "pause" and see it printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from companion.audio.capture import DeviceSource, SourceError, WavSource
from companion.commands import device_choice, signal_phrase_option
from companion.core.errors import CompanionError
from companion.listening.commands_vocab import load_vocabulary
from companion.listening.heard import Heard, ListenSettings, ListenStatus, SpeakingNow
from companion.listening.recognisers import check_vosk_model, default_vosk_path
from companion.listening.speech_in import Listener

GIVE_UP_SECONDS = 10.0
"""How long `companion listen` waits for a microphone before it says so and exits 1."""


class BadOption(CompanionError):
    """An option that can never work as given (exit 2, like argparse's own errors)."""


def register(subparsers: Any) -> None:
    """Add the `listen` subcommand."""
    parser = subparsers.add_parser(
        "listen",
        help="print voice commands as they are heard (also a microphone check)",
        description=(
            "Listen for voice commands and print each one recognised, from the microphone "
            "or from a WAV recording, through the same pipeline as a live session."
        ),
    )
    parser.add_argument("--wav", type=Path, help="listen to this WAV file instead of the mic")
    parser.add_argument("--json", action="store_true", help="print one JSON object per line")
    parser.add_argument(
        "--engine",
        choices=["auto", "vosk", "pocketsphinx", "off"],
        default="auto",
        help="speech engine (default: vosk if its model is installed, else pocketsphinx)",
    )
    parser.add_argument("--device", help="input device index or part of its name")
    parser.add_argument("--language", default="en", help="vocabulary language (default: en)")
    parser.add_argument("--model", type=Path, help="vosk model folder to use")
    parser.add_argument(
        "--signal",
        default="",
        help="your own signal word for a time-out (says whether the model can hear it)",
    )
    parser.add_argument(
        "--realtime", action="store_true", help="with --wav: feed the file at real-time pace"
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="with no microphone, wait until one is connected instead of giving up",
    )
    parser.add_argument(
        "--give-up",
        type=float,
        default=GIVE_UP_SECONDS,
        metavar="SECONDS",
        help=f"exit 1 after this long without a microphone (default: {GIVE_UP_SECONDS:g})",
    )
    parser.set_defaults(func=run_listen)


def _check_wav(path: Path) -> None:
    """Raise SourceError with one sentence unless `path` is a WAV the listener can read."""
    if not path.is_file():
        raise SourceError(f"There is no file {path}; give the path of a WAV recording.")
    try:
        with wave.open(str(path), "rb"):
            pass
    except (wave.Error, EOFError, OSError):
        # wave's own messages ("file does not start with RIFF id", or none) help nobody.
        raise SourceError(
            f"{path} is not a WAV recording; convert it with `sox {path} -b 16 out.wav`."
        ) from None
    # Checked here, before listening: the listener retries a source that fails to open
    # (right for a microphone that may come back, endless for a file that never will).
    source = WavSource(path)
    source.open()
    source.close()


def check_options(args: argparse.Namespace) -> None:
    """Raise BadOption with one sentence for an option that can never work as given."""
    try:
        load_vocabulary(args.language)
    except CompanionError as error:
        raise BadOption(str(error)) from None
    if args.model is not None and not args.model.is_dir():
        raise BadOption(f"There is no vosk model folder at {args.model}.")
    if args.engine == "vosk":
        try:
            check_vosk_model(args.model or default_vosk_path())
        except CompanionError as error:
            raise BadOption(str(error)) from None
    if args.device is not None and args.wav is None:
        _check_device(device_choice(args.device))


def _check_device(device: int | str | None) -> None:
    """Raise BadOption unless PortAudio (or the sound server) has this input device."""
    from companion.audio.sound import SoundSystem

    sound = SoundSystem(input_device=device)
    if sound.input_server_name:
        return  # a sound server's source, found by name
    try:
        sd = sound.portaudio()
        sd.query_devices(sound.input_device, "input")
    except CompanionError as error:
        raise BadOption(str(error)) from None
    except (ValueError, OSError, Exception):  # sounddevice raises ValueError or PortAudioError
        raise BadOption(
            f"There is no input device {device!r}; `companion devices` lists the microphones."
        ) from None


def wait_for_listener(
    listener: Listener, give_up: float | None, err: TextIO, clock: Callable[[], float]
) -> bool:
    """Print each change of the listener's status as one line until it ends; returns False
    when no microphone opened within `give_up` seconds of the model being ready (None:
    wait for as long as it takes)."""
    shown = ""
    announced = False
    missing_since: float | None = None
    while not listener.join(timeout=0.2):
        status = listener.status()
        if status.reason != shown:
            shown = status.reason
            print(f"[{status.engine}] {status.reason}", file=err, flush=True)
        if status.on:
            missing_since = None
            if not announced:
                announced = True
                print(
                    "Waiting for a voice command (say “pause” to check); Ctrl-C to stop.",
                    file=err,
                    flush=True,
                )
            continue
        if status.engine == "off" or announced:
            continue  # the model is still loading, or a microphone that worked comes back
        if missing_since is None:
            missing_since = clock()
            wait = "until one is connected" if give_up is None else f"up to {give_up:g} s"
            print(f"Waiting {wait} for a microphone.", file=err, flush=True)
        if give_up is not None and clock() - missing_since >= give_up:
            print(
                f"companion: no microphone after {give_up:g} s; connect one, or run "
                "`companion listen --wait` to wait for it.",
                file=err,
                flush=True,
            )
            return False
    return True


def run_listen(args: argparse.Namespace) -> int:
    """Listen until the file ends (or Ctrl-C from the mic); prints commands as heard."""
    signal = signal_phrase_option(args.signal)
    try:
        check_options(args)
    except BadOption as error:
        print(f"companion: {error}", file=sys.stderr)
        return 2
    if args.wav is not None:
        _check_wav(args.wav)
    settings = ListenSettings(
        engine=args.engine,
        language=args.language,
        model_path=args.model,
        device=device_choice(args.device),
        signal_phrase=signal,
    )
    lock = threading.Lock()

    def heard(item: Heard) -> None:
        with lock:
            if args.json:
                print(
                    json.dumps(
                        {
                            "command": item.command.value if item.command else None,
                            "text": item.text,
                            "at": item.at,
                            "confidence": round(item.confidence, 3),
                        },
                        ensure_ascii=False,
                    ),
                    flush=True,
                )
            else:
                name = item.command.value if item.command else "-"
                print(f"{item.at:8.2f}s  {name:<10} “{item.text}”", flush=True)

    if args.wav is not None:
        wav: Path = args.wav
        source: Any = lambda: WavSource(wav, settings.block_seconds, realtime=args.realtime)  # noqa: E731
    else:
        source = lambda: DeviceSource(settings.device, settings.block_seconds)  # noqa: E731
    noted = False

    def signal_note(status: ListenStatus) -> None:
        # As listening starts, the note says whether the model can hear the signal word.
        nonlocal noted
        if args.wav is not None and status.on and status.signal_note and not noted:
            noted = True
            with lock:
                print(f"[{status.engine}] {status.signal_note}", file=sys.stderr, flush=True)

    listener = Listener(settings, heard, SpeakingNow, source=source, on_status=signal_note)
    listener.start()
    try:
        if args.wav is None:
            # From the mic every change is news; its reason includes the signal note.
            give_up = None if args.wait else args.give_up
            if not wait_for_listener(listener, give_up, sys.stderr, time.monotonic):
                return 1
        else:
            while not listener.join(timeout=0.5):
                pass
    finally:
        listener.close()
    status = listener.status()
    if args.engine == "off":
        print(status.reason, file=sys.stderr)
        return 0
    if args.wav is not None and not status.finished:
        print(f"companion: {status.reason}", file=sys.stderr)
        return 1
    return 0
