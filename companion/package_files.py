"""Where the files that travel with the package are: scripts, the page, models.

In a checkout the library and the page stay where people read and edit them (`scripts/`,
`web/` at the top); an installed wheel carries them inside the package
(`pyproject.toml` maps them there), so an install works from any folder.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

_PACKAGE = Path(__file__).resolve().parent


def source_checkout() -> Path | None:
    """The repository this package runs from, or None when it is installed."""
    root = _PACKAGE.parent
    return root if (root / "pyproject.toml").is_file() and (root / "scripts").is_dir() else None


def package_folder(name: str) -> Path:
    """A folder shipped with the package ("scripts" or "web"), as installed or checked out."""
    root = source_checkout()
    return root / name if root is not None else _PACKAGE / name


def default_models_dir() -> Path:
    """`models/` in a checkout (git-ignored); the user's data folder once installed."""
    root = source_checkout()
    if root is not None:
        return root / "models"
    return Path(platformdirs.user_data_dir("companion")) / "models"
