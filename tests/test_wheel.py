"""The built wheel works outside the repository: library, page and vocabularies inside it.

The wheel is built from a copy of the sources (the checkout stays clean) and installed
with `--no-deps` into a fresh venv in a temporary folder. The dependencies are not
downloaded again: one `.pth` line makes this test venv's site-packages importable after
the fresh venv's own, so numpy, Flask and pocketsphinx come from there, while `companion`
itself can only come from the wheel (the editable install's finder is never loaded, since
a `.pth` line adds a folder without running the `.pth` files inside it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from spoken import WARM_UP, needs_espeak, recording

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("companion", "scripts", "web", "pyproject.toml", "README.md")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A fresh venv holding only the wheel, and the environment to run it in."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    # No build isolation: setuptools comes pinned from the test venv, not the network.
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(root / "dist"), source],
        check=True,
        cwd=root,
    )
    (wheel,) = (root / "dist").glob("companion-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", wheel], check=True)
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(site) / "test-venv-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "COMPANION_MODELS", "VIRTUAL_ENV")
    }
    env |= {
        "HOME": str(root / "home"),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_CACHE_HOME": str(root / "cache"),
    }
    yield venv, env


def companion(
    installed: tuple[Path, dict[str, str]], *args: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    venv, env = installed
    return subprocess.run(
        [venv / "bin" / "companion", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_installed_companion_is_the_wheel_not_the_checkout(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    venv, env = installed
    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import companion; print(companion.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where


def test_installed_wheel_lists_and_previews_the_built_in_library(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    scripts = companion(installed, "scripts", cwd=tmp_path)
    assert scripts.returncode == 0, scripts.stderr
    assert "slow-breathing" in scripts.stdout and "time-out" in scripts.stdout
    preview = companion(installed, "preview", "slow-breathing", cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr
    assert "Slow breathing" in preview.stdout


@needs_espeak
def test_installed_wheel_hears_commands_in_a_recording(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    wav, _ = recording(tmp_path / "pause.wav", [WARM_UP, "pause"], "en-gb-x-rp")
    heard = companion(
        installed, "listen", "--wav", str(wav), "--engine", "pocketsphinx", cwd=tmp_path
    )
    assert heard.returncode == 0, heard.stderr
    assert [line.split()[1] for line in heard.stdout.splitlines()] == ["pause"], heard.stdout


def test_installed_wheel_writes_the_therapists_report(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    report = companion(
        installed,
        "journal",
        "export",
        "--format",
        "html",
        "--data-dir",
        str(tmp_path),
        cwd=tmp_path,
    )
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("<!DOCTYPE html>") and "Practice journal" in report.stdout


def test_installed_wheel_serves_the_page(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    venv, env = installed
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command: list[str | Path] = [venv / "bin" / "companion", "serve", "--port", str(port)]
    command += ["--no-browser"]
    command += ["--no-voice", "--engine", "off", "--data-dir", str(tmp_path / "data")]
    server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert f"127.0.0.1:{port}" in first, first
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/", timeout=10) as response:
            page = response.read().decode()
        assert "<html" in page.lower() and "app.js" in page
        with urllib.request.urlopen(f"{base}/api/scripts", timeout=10) as response:
            assert b"slow-breathing" in response.read()
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
