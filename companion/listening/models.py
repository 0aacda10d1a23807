"""Downloaded speech models: where they live, fetching them safely, and what is installed.

`download_model` streams the zip to a temp file, checks its size and SHA-256, unpacks into
a temp folder next to the target and renames it into place: an interrupted or corrupt
download leaves nothing half-installed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from companion.core.errors import CompanionError
from companion.package_files import default_models_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    """A downloadable model: where to fetch it and what it must be."""

    name: str
    url: str
    size: int
    sha256: str


VOSK_EN = ModelSpec(
    name="vosk-model-small-en-us-0.15",
    url="https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
    size=41_205_931,
    sha256="30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
)
"""The small US-English vosk model (Apache-2.0)."""


class DownloadError(CompanionError):
    """A model could not be downloaded or installed."""


def models_dir() -> Path:
    """The models folder: $COMPANION_MODELS, else `models/` in a checkout, else the
    user's data folder."""
    env = os.environ.get("COMPANION_MODELS")
    return Path(env) if env else default_models_dir()


def default_model_dir() -> Path:
    """Where the English vosk model is (or would be) installed."""
    return models_dir() / VOSK_EN.name


Progress = Callable[[int, int], None]
"""Called with (bytes so far, total bytes) while downloading."""


def download_model(
    spec: ModelSpec = VOSK_EN,
    target_dir: Path | None = None,
    progress: Progress | None = None,
    timeout: float = 30.0,
) -> Path:
    """Fetch, verify and atomically install `spec` under `target_dir`; returns its folder.

    An already complete install is returned as is; an incomplete folder is replaced.
    """
    root = target_dir or models_dir()
    final = root / spec.name
    if installed_model(spec, root) is not None:
        return final
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(f"Cannot create the models folder {root}: {error.strerror}.") from None
    with tempfile.TemporaryDirectory(prefix=f".{spec.name}-", dir=root) as tmp:
        archive = Path(tmp) / "model.zip"
        _fetch(spec, archive, progress, timeout)
        unpacked = Path(tmp) / "unpacked"
        try:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(unpacked)
        except zipfile.BadZipFile:
            raise DownloadError(f"The download of {spec.name} is not a valid zip.") from None
        inner = unpacked / spec.name
        source = inner if inner.is_dir() else unpacked
        if final.exists():
            # Incomplete leftovers (checked above): move them into the temp folder to be deleted.
            os.replace(final, Path(tmp) / "old")
        # One rename: the model appears complete or not at all.
        os.replace(source, final)
    return final


def installed_model(spec: ModelSpec = VOSK_EN, root: Path | None = None) -> Path | None:
    """The folder of `spec` under `root` if it is installed and complete, else None."""
    from companion.listening.recognisers import ModelError, check_vosk_model

    folder = (root or models_dir()) / spec.name
    try:
        check_vosk_model(folder)
    except ModelError:
        return None
    return folder


def _fetch(spec: ModelSpec, dest: Path, progress: Progress | None, timeout: float) -> None:
    digest = hashlib.sha256()
    done = 0
    try:
        with urllib.request.urlopen(spec.url, timeout=timeout) as response, dest.open("wb") as out:
            while block := response.read(1 << 16):
                out.write(block)
                digest.update(block)
                done += len(block)
                if progress is not None:
                    progress(done, spec.size)
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(
            f"Could not download {spec.name} from {spec.url} ({reason}); "
            "check the connection and try again."
        ) from None
    if done != spec.size:
        raise DownloadError(
            f"The download of {spec.name} stopped at {done:,} of {spec.size:,} bytes; "
            "nothing was installed, try again."
        )
    if digest.hexdigest() != spec.sha256:
        raise DownloadError(
            f"The download of {spec.name} has the wrong checksum; nothing was installed, try again."
        )


@dataclass(frozen=True)
class ModelStatus:
    """One model: installed or not, where, and what to do."""

    name: str
    engine: str
    installed: bool
    path: str
    note: str


def model_status(root: Path | None = None) -> list[ModelStatus]:
    """What speech models are available to the listener."""
    from companion.listening.recognisers import ModelError, check_vosk_model

    folder = (root or models_dir()) / VOSK_EN.name
    try:
        check_vosk_model(folder)
        vosk = ModelStatus(VOSK_EN.name, "vosk", True, str(folder), "Installed; used by default.")
    except ModelError as error:
        vosk = ModelStatus(VOSK_EN.name, "vosk", False, str(folder), str(error))
    try:
        import pocketsphinx

        ps_path = pocketsphinx.get_model_path()
        ps = ModelStatus(
            "pocketsphinx en-us",
            "pocketsphinx",
            True,
            str(ps_path),
            "Built in; used when no vosk model is installed.",
        )
    except ImportError:
        ps = ModelStatus(
            "pocketsphinx en-us", "pocketsphinx", False, "", "pocketsphinx is not installed."
        )
    return [vosk, ps]


def remove_partial(root: Path) -> None:
    """Delete leftovers of downloads interrupted by a crash (temp folders only)."""
    for leftover in root.glob(f".{VOSK_EN.name}-*"):
        shutil.rmtree(leftover, ignore_errors=True)
