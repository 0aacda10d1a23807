"""`companion model download|status` against a real HTTP server on 127.0.0.1.

The server hands out a small zip laid out like a vosk model folder; size and SHA-256 are
passed with the hidden `--size`/`--sha256` options, so nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from companion.cli import main
from companion.listening.models import VOSK_EN

NAME = VOSK_EN.name


def model_zip() -> bytes:
    """A zip shaped like the real download: one top folder holding am/ and conf/."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(f"{NAME}/am/final.mdl", b"\0" * 40_000)
        zf.writestr(f"{NAME}/conf/model.conf", "--sample-frequency=16000\n")
        zf.writestr(f"{NAME}/README", "test model\n")
    return buffer.getvalue()


@dataclass
class Server:
    """What the test server sends, and how many requests it has seen."""

    url: str
    body: bytes
    cut_first: int = 0  # cut this many of the first requests off half-way through the body
    requests: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(url="", body=model_zip())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            body = state.body
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if len(state.requests) <= state.cut_first:
                # Promise the whole body, send half, hang up: a dropped connection.
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/{NAME}.zip"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def download(
    capsys: pytest.CaptureFixture[str],
    models: Path,
    url: str,
    size: int,
    sha256: str,
    *extra: str,
) -> tuple[int, str, str]:
    argv = ["model", "download", "--dir", str(models), "--url", url]
    argv += ["--size", str(size), "--sha256", sha256, *extra]
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def status_json(capsys: pytest.CaptureFixture[str], models: Path) -> list[dict[str, object]]:
    assert main(["model", "status", "--dir", str(models), "--json"]) == 0
    rows: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return rows


def one_sentence(text: str) -> bool:
    """A single line, starting `companion: `, ending in a full stop, no traceback."""
    lines = text.strip().splitlines()
    return (
        len(lines) == 1
        and lines[0].startswith("companion: ")
        and lines[0].endswith(".")
        and "Traceback" not in text
    )


def test_download_installs_the_model_shows_progress_and_status_reports_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: Server
) -> None:
    models = tmp_path / "models"
    code, out, err = download(capsys, models, server.url, len(server.body), server.sha256)
    assert code == 0
    assert f"{NAME} is installed in {models / NAME}" in out
    # Not a terminal here: a line per quarter, the last at the full size.
    megabytes = len(server.body) / 1e6
    assert err.splitlines()[-1] == f"downloading: {megabytes:.1f} / {megabytes:.1f} MB"
    assert len(err.splitlines()) <= 4 and "\r" not in err
    assert (models / NAME / "am" / "final.mdl").is_file()
    assert (models / NAME / "conf" / "model.conf").is_file()
    assert sorted(p.name for p in models.iterdir()) == [NAME]  # no temp files left
    (vosk,) = [row for row in status_json(capsys, models) if row["engine"] == "vosk"]
    assert vosk["installed"] is True and vosk["path"] == str(models / NAME)


def test_download_quiet_shows_no_progress(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: Server
) -> None:
    code, _, err = download(
        capsys, tmp_path, server.url, len(server.body), server.sha256, "--quiet"
    )
    assert code == 0 and err == ""


def test_wrong_checksum_is_refused_in_one_sentence_and_leaves_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: Server
) -> None:
    models = tmp_path / "models"
    code, out, err = download(capsys, models, server.url, len(server.body), "0" * 64)
    assert code == 1 and out == ""
    message = err.strip().splitlines()[-1]
    assert one_sentence(message) and "checksum" in message and "nothing was installed" in message
    assert list(models.iterdir()) == []


def test_wrong_size_is_refused_and_leaves_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: Server
) -> None:
    code, _, err = download(capsys, tmp_path, server.url, len(server.body) + 1, server.sha256)
    assert code == 1 and one_sentence(err.strip().splitlines()[-1])
    assert list(tmp_path.iterdir()) == []


def test_a_download_that_is_not_a_zip_is_refused_and_leaves_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: Server
) -> None:
    server.body = b"<html>Service unavailable</html>"  # right size and checksum, wrong kind
    code, _, err = download(capsys, tmp_path, server.url, len(server.body), server.sha256)
    assert code == 1 and one_sentence(err.strip().splitlines()[-1]) and "not a valid zip" in err
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_download_installs_nothing_and_a_retry_succeeds(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: Server
) -> None:
    server.cut_first = 1
    size, sha = len(server.body), server.sha256
    code, _, err = download(capsys, tmp_path, server.url, size, sha, "--quiet")
    assert code == 1 and one_sentence(err) and "nothing was installed, try again" in err
    assert list(tmp_path.iterdir()) == []
    assert not any(
        row["installed"] for row in status_json(capsys, tmp_path) if row["engine"] == "vosk"
    )

    code, out, _ = download(capsys, tmp_path, server.url, size, sha, "--quiet")
    assert code == 0 and "is installed in" in out
    assert len(server.requests) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME]


def test_an_already_installed_model_is_reported_and_not_fetched_again(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: Server
) -> None:
    size, sha = len(server.body), server.sha256
    assert download(capsys, tmp_path, server.url, size, sha, "--quiet")[0] == 0
    code, out, err = download(capsys, tmp_path, server.url, size, sha)
    assert code == 0
    assert f"{NAME} is already installed in {tmp_path / NAME}" in out
    assert err == ""  # no progress bar for a download that did not happen
    assert len(server.requests) == 1


def test_an_incomplete_model_folder_is_replaced_by_a_fresh_download(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: Server
) -> None:
    (tmp_path / NAME / "conf").mkdir(parents=True)  # am/final.mdl missing: left by hand
    code, out, _ = download(
        capsys, tmp_path, server.url, len(server.body), server.sha256, "--quiet"
    )
    assert code == 0 and "is installed in" in out
    assert (tmp_path / NAME / "am" / "final.mdl").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME]


def test_leftovers_of_a_killed_download_are_cleared_by_the_next_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: Server
) -> None:
    leftover = tmp_path / f".{NAME}-k1ll3d"
    leftover.mkdir()
    (leftover / "model.zip").write_bytes(server.body[:100])
    code, _, _ = download(capsys, tmp_path, server.url, len(server.body), server.sha256, "--quiet")
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME]


def test_download_help_documents_the_mirror_option_but_not_the_test_hooks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["model", "download", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--url" in out and "--dir" in out and "--quiet" in out
    assert "--size" not in out and "--sha256" not in out


def test_no_network_is_one_sentence_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{NAME}.zip"
    code, out, err = download(capsys, tmp_path, url, 10, "0" * 64)
    assert code == 1 and out == ""
    assert one_sentence(err) and "check the connection" in err
    assert list(tmp_path.iterdir()) == []


def test_status_json_lists_each_engine_with_a_fixed_shape(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rows = status_json(capsys, tmp_path)
    assert [row["engine"] for row in rows] == ["vosk", "pocketsphinx"]
    for row in rows:
        assert set(row) == {"name", "engine", "installed", "path", "note"}
        assert isinstance(row["installed"], bool) and isinstance(row["note"], str)
    vosk, sphinx = rows
    assert vosk["name"] == NAME and vosk["installed"] is False
    assert "companion model download" in str(vosk["note"])
    assert sphinx["installed"] is True  # the wheel ships its English model


def test_status_text_says_what_is_installed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["model", "status", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"Models folder: {tmp_path}" in out
    assert any(line.split()[:1] == ["vosk"] and "missing" in line for line in out.splitlines())
