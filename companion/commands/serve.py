"""`companion serve`: start the companion on 127.0.0.1 and open the page."""

from __future__ import annotations

import argparse
import errno
import os
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from companion.commands import add_voice_options, device_choice, signal_phrase_option
from companion.core.errors import CompanionError
from companion.core.script import Names

DEFAULT_PORT = 8765
PORT_TRIES = 10

N = TypeVar("N", int, float)


def _in_range(
    convert: Callable[[str], N], low: N, high: N, not_a: str, outside: str
) -> Callable[[str], N]:
    """An argparse type: `convert(text)` within low..high, else argparse prints why not."""

    def parse(text: str) -> N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {not_a}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} {outside}")
        return value

    return parse


port_number = _in_range(int, 0, 65535, "a port number", "is not a port: choose one from 1 to 65535")
"""--port: a TCP port, 1..65535, or 0 for any free one."""

volume_level = _in_range(float, 0.0, 1.0, "a number", "is outside 0..1 (0 is silent, 1 is full)")
"""--volume: 0 (silent) to 1 (full)."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="start the companion and open its page (the default command)",
        description="Start the companion on this machine and open its page in the browser. "
        "Only this computer can use it unless you choose --lan, which lets phones on the "
        "same network pair with a one-time code.",
    )
    add_options(parser)
    parser.set_defaults(func=run)


def add_options(parser: Any) -> None:
    """serve's options, on its own parser and (for `companion --help`) the top level."""
    parser.add_argument(
        "--lan",
        action="store_true",
        help="listen on the local network too: prints a pairing link and QR code for a phone "
        "(each phone pairs once; the page lists and removes them)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=None,
        help=f"port to listen on, 0 for any free one (default: {DEFAULT_PORT}, or the next "
        "free one)",
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open the page")
    parser.add_argument("--names", default="", help='partner names, e.g. "Sam,Alex"')
    parser.add_argument("--no-voice", action="store_true", help="captions only: no spoken guidance")
    add_voice_options(parser)
    parser.add_argument(
        "--volume",
        type=volume_level,
        default=0.9,
        help="voice volume 0..1 (default: %(default)s)",
    )
    parser.add_argument(
        "--engine",
        choices=("auto", "vosk", "pocketsphinx", "off"),
        default="auto",
        help="speech recogniser for voice commands (default: vosk if a model is installed, "
        "else pocketsphinx)",
    )
    parser.add_argument(
        "--signal",
        default="",
        help='your own word or phrase for a time-out, e.g. "pineapple" (for this run: it wins '
        "over the one set on the page); the page says whether the speech model can hear it",
    )
    parser.add_argument(
        "--input-device",
        default=None,
        help="microphone: a device index or name part, or a sound server source "
        "(see `companion devices`; an echo-cancelled source is used as such)",
    )
    parser.add_argument(
        "--output-device",
        default=None,
        help="speakers: a device index or name part, or a sound server sink "
        "(see `companion devices`)",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="where the journal lives")
    parser.add_argument(
        "--scripts-dir",
        type=Path,
        default=None,
        help="a folder of scripts to use instead of the built-in library",
    )


def run(args: argparse.Namespace) -> int:
    from companion.app import Companion
    from companion.options import Options
    from companion.webapp.pairing import Pairing, lan_address
    from companion.webapp.server import make_companion_server
    from companion.webapp.site import build_web_app

    options_kwargs: dict[str, Any] = {
        "names": Names.parse(args.names),
        "voice": not args.no_voice,
        "voice_name": args.voice,
        "rate": args.rate,
        "volume": args.volume,
        "listen_engine": args.engine,
        "signal_phrase": signal_phrase_option(args.signal),
        "data_dir": args.data_dir or _env_path("COMPANION_DATA_DIR"),
        "input_device": device_choice(args.input_device),
        "output_device": device_choice(args.output_device),
    }
    if args.scripts_dir is not None:
        if not args.scripts_dir.is_dir():
            raise CompanionError(f"--scripts-dir {args.scripts_dir} is not a folder")
        options_kwargs["scripts_dir"] = args.scripts_dir
    companion = Companion(Options(**options_kwargs), say=_say)
    pairing = None
    lan = None
    host = args.host
    if args.lan:
        lan = lan_address()
        if lan is None:
            raise CompanionError(
                "--lan: this computer has no address on a local network; connect it to the"
                " same Wi-Fi as the phone and try again"
            )
        from companion.practice.journal_file import resolve_data_dir

        pairing = Pairing(resolve_data_dir(options_kwargs["data_dir"]))
        host = "0.0.0.0"

    ports = [args.port] if args.port is not None else range(DEFAULT_PORT, DEFAULT_PORT + PORT_TRIES)
    server = None
    for port in ports:
        allowed = {f"127.0.0.1:{port}", f"localhost:{port}", f"{host}:{port}"}
        app = build_web_app(companion, allowed, pairing)
        try:
            server = make_companion_server(host, port, app)
            break
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise CompanionError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    if server is None:
        tried = (
            f"port {args.port}"
            if args.port is not None
            else f"ports {DEFAULT_PORT}-{DEFAULT_PORT + PORT_TRIES - 1}"
        )
        raise CompanionError(f"{tried} already in use; choose another with --port")

    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown_host}:{server.server_port}/"
    print(f"companion is running at {url}  (Ctrl+C to stop)", flush=True)
    if pairing is not None and lan is not None:
        # The port is known only now (it may have been the next free one).
        lan_url = f"http://{lan}:{server.server_port}"
        app.config["COMPANION_ALLOWED_HOSTS"] |= {f"{lan}:{server.server_port}"}
        app.config["COMPANION_LAN_URL"] = lan_url
        _print_pairing(pairing, lan_url)
    elif host not in ("127.0.0.1", "localhost", "::1"):
        print(
            "  other devices are refused: only this computer can use the companion"
            " (start it with --lan to pair a phone)",
            flush=True,
        )
    companion.start()  # it says what is on and off, and every change later
    if not args.no_browser:
        threading.Timer(0.5, lambda: webbrowser.open(url)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\ncompanion stopped.")
    finally:
        server.server_close()
        companion.close()
    return 0


def _say(line: str) -> None:
    """A line of news for the person at the terminal."""
    print(f"  {line}", flush=True)


def _print_pairing(pairing: Any, lan_url: str) -> None:
    """The pairing link and its QR code, for a phone on the same network."""
    import segno

    from companion.webapp.pairing import CODE_SECONDS

    link = f"{lan_url}/pair?code={pairing.new_code()}"
    print(
        f"  to add a phone on this network, open {link}"
        f"\n  (this code works once, for {CODE_SECONDS // 60} minutes; the page's"
        " Add a phone shows a new one)",
        flush=True,
    )
    segno.make(link, error="m").terminal(compact=True)


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None
