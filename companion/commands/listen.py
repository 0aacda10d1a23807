"""`companion listen`: print each voice command heard, from the microphone or a WAV file.

The same pipeline as a live session (`companion.speech_in.Listener`), so this is also
the microphone check: say "pause" and see it printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import wave
from pathlib import Path
from typing import Any

from companion.audio.capture import DeviceSource, SourceError, WavSource
from companion.commands import signal_phrase_option
from companion.listening.speech_in import Heard, Listener, ListenSettings, ListenStatus, SpeakingNow


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
    parser.set_defaults(func=run_listen)


def _device(value: str | None) -> int | str | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value


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


def run_listen(args: argparse.Namespace) -> int:
    """Listen until the file ends (or Ctrl-C from the mic); prints commands as heard."""
    signal = signal_phrase_option(args.signal)
    if args.wav is not None:
        _check_wav(args.wav)
    settings = ListenSettings(
        engine=args.engine,
        language=args.language,
        model_path=args.model,
        device=_device(args.device),
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
    shown = ""
    try:
        while not listener.join(timeout=0.5):
            status = listener.status()
            # From the mic every change is news; its reason includes the signal note.
            if status.reason != shown and args.wav is None:
                shown = status.reason
                print(f"[{status.engine}] {status.reason}", file=sys.stderr, flush=True)
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
