"""The page's JavaScript modules, as a browser gets them from the real server: every module
the page imports (from index.html's module script, import by import) is served as
JavaScript with the security headers, and no file under web/ is left unimported."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from pathlib import PurePosixPath

import pytest
from web_support import FakeController, serve

from companion.webapp.guard import SECURITY_HEADERS
from companion.webapp.routes import DEFAULT_WEB_DIR, create_app

MODULE_SCRIPT = re.compile(r'<script type="module" src="([^"]+)"></script>')
IMPORT = re.compile(r'^import\s[^"]*"([^"]+)";$', re.MULTILINE)
JAVASCRIPT = {"text/javascript", "application/javascript"}
"""Browsers run a module only when it comes with a JavaScript MIME type (with nosniff,
anything else is refused)."""


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    controller = FakeController()
    with serve(create_app(controller), controller.hub) as served:
        yield served


def get(host: str, path: str) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection(host, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8")
    finally:
        connection.close()


def page_modules(host: str) -> dict[str, tuple[int, dict[str, str]]]:
    """Every module the page loads, by URL path, with the status and headers it came with."""
    _, _, html = get(host, "/")
    waiting = ["/" + src.lstrip("/") for src in MODULE_SCRIPT.findall(html)]
    assert waiting, "index.html has no module script"
    found: dict[str, tuple[int, dict[str, str]]] = {}
    while waiting:
        path = waiting.pop()
        if path in found:
            continue
        status, headers, text = get(host, path)
        found[path] = (status, headers)
        for spec in IMPORT.findall(text):
            assert spec.startswith("./"), f"{path} imports {spec!r}: only relative modules here"
            waiting.append(str(PurePosixPath(path).parent / spec[2:]))
    return found


def test_every_module_the_page_imports_is_served_as_javascript_with_the_security_headers(
    host: str,
) -> None:
    modules = page_modules(host)
    assert "/app.js" in modules and "/js/state.js" in modules
    for path, (status, headers) in modules.items():
        assert status == 200, path
        assert headers["Content-Type"].split(";")[0].strip() in JAVASCRIPT, path
        for name, value in SECURITY_HEADERS:
            assert headers[name] == value, f"{path}: {name}"
        assert headers["Cache-Control"] == "no-cache", path


def test_the_policy_lets_the_page_run_only_its_own_script_files(host: str) -> None:
    _, headers, html = get(host, "/")
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy
    assert "<script>" not in html and "onclick" not in html


def test_every_javascript_file_under_web_is_one_the_page_imports(host: str) -> None:
    on_disk = {
        "/" + path.relative_to(DEFAULT_WEB_DIR).as_posix() for path in DEFAULT_WEB_DIR.rglob("*.js")
    }
    assert on_disk == set(page_modules(host))


def test_no_module_is_longer_than_about_three_hundred_lines() -> None:
    for path in DEFAULT_WEB_DIR.rglob("*.js"):
        lines = path.read_text(encoding="utf-8").count("\n")
        assert lines <= 300, f"{path.name} has {lines} lines: split it by job"


def imports_on_disk() -> dict[str, list[str]]:
    """Each module under web/ (by path from web/) and the modules it imports."""
    graph: dict[str, list[str]] = {}
    for path in DEFAULT_WEB_DIR.rglob("*.js"):
        name = path.relative_to(DEFAULT_WEB_DIR).as_posix()
        folder = PurePosixPath(name).parent
        text = path.read_text(encoding="utf-8")
        graph[name] = [str(folder / spec[2:]) for spec in IMPORT.findall(text)]
    return graph


def test_the_modules_import_one_another_without_a_cycle() -> None:
    graph = imports_on_disk()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, "an import cycle: " + " -> ".join((*path, name))
        if name in done:
            return
        for imported in graph[name]:
            visit(imported, (*path, name))
        done.add(name)

    for name in graph:
        visit(name, ())


def test_only_state_js_holds_the_pages_state() -> None:
    # Top-level `let` or `var` would be state kept outside the one object in js/state.js.
    for path in DEFAULT_WEB_DIR.rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^(let|var)\s", text, re.MULTILINE), path.name
