"""`companion model download|status`: the speech models the listener uses."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from companion.listening.models import (
    VOSK_EN,
    ModelSpec,
    download_model,
    installed_model,
    model_status,
    models_dir,
    remove_partial,
)
from companion.progress import ProgressBar


def register(subparsers: Any) -> None:
    """Add the `model` subcommand with `download` and `status`."""
    parser = subparsers.add_parser(
        "model",
        help="download or inspect speech models",
        description="Download the English vosk model, or show which speech models are installed.",
    )
    actions = parser.add_subparsers(dest="model_action", metavar="ACTION", required=True)
    download = actions.add_parser(
        "download",
        help=f"download {VOSK_EN.name} (about 41 MB) into models/",
        description=(
            f"Download {VOSK_EN.name} from the vosk project, check its size and SHA-256, "
            "and install it atomically."
        ),
    )
    download.add_argument("--dir", type=Path, help="models folder (default: models/)")
    download.add_argument("--url", default=VOSK_EN.url, help="download from this address")
    download.add_argument("--size", type=int, default=VOSK_EN.size, help=argparse.SUPPRESS)
    download.add_argument("--sha256", default=VOSK_EN.sha256, help=argparse.SUPPRESS)
    download.add_argument("--quiet", action="store_true", help="no progress bar")
    download.set_defaults(func=run_download)
    status = actions.add_parser(
        "status",
        help="show installed models",
        description="Show which speech models are installed.",
    )
    status.add_argument("--dir", type=Path, help="models folder (default: models/)")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=run_status)


def run_download(args: argparse.Namespace) -> int:
    """Download, verify and install the model; prints where it went."""
    spec = ModelSpec(VOSK_EN.name, args.url, args.size, args.sha256)
    existing = installed_model(spec, args.dir)
    if existing is not None:
        print(f"{spec.name} is already installed in {existing}")
        return 0
    # A download killed outright (power cut, kill -9) leaves its temp folder behind.
    remove_partial(args.dir or models_dir())
    bar = ProgressBar(sys.stderr, sys.stderr.isatty())

    def progress(done: int, total: int) -> None:
        bar("download", done, total)

    try:
        path = download_model(spec, args.dir, None if args.quiet else progress)
    finally:
        bar.close()
    print(f"{spec.name} is installed in {path}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Print what is installed, as lines or JSON."""
    items = model_status(args.dir)
    if args.json:
        print(json.dumps([asdict(i) for i in items], indent=2))
        return 0
    print(f"Models folder: {args.dir or models_dir()}")
    for item in items:
        mark = "installed" if item.installed else "missing"
        print(f"  {item.engine:<13} {item.name:<30} {mark}: {item.note}")
    return 0
