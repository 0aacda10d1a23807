"""Where things are in TOML text: tomllib gives values but no positions, so find the lines.

Scripts (`companion.library.loader`) and homework plans (`companion.practice.homework`)
both report every problem as ``file:line: message``; this module holds where those lines
are: table headers, ``key =`` lines outside multi-line strings, tomllib's syntax errors made
readable. How a wrong value is worded is `companion.library.field_check`'s.

Hand-written rather than a TOML library with positions (tomlkit): tomllib stays the one
parser, and this only has to find lines, in one indexed pass.
"""

from __future__ import annotations

import bisect
import re
from pathlib import Path

from companion.core.errors import ScriptError

_HEADER = re.compile(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_TOML_POSITION = re.compile(
    r"^(?P<msg>.*) \((?:at line (?P<line>\d+), column (?P<col>\d+)|at end of document)\)$"
)
_DELIMITERS = ('"""', "'''")
_KEY = re.compile(r"""\s*(?:([A-Za-z0-9_-]+)|"([^"]*)"|'([^']*)')\s*=""")
"""A line that sets a key: bare, "quoted" or 'literal'."""


def scan_strings(lines: list[str]) -> tuple[list[bool], int | None]:
    """Which lines start outside a multi-line string, and the line where an unclosed one opens."""
    code: list[bool] = []
    open_string: tuple[str, int] | None = None  # (delimiter, line it opened on)
    for number, line in enumerate(lines, start=1):
        code.append(open_string is None)
        position = 0
        while True:
            if open_string is None:
                hits = [(line.find(d, position), d) for d in _DELIMITERS]
                found = [(index, d) for index, d in hits if index >= 0]
                if not found:
                    break
                index, delimiter = min(found)
                open_string = (delimiter, number)
            else:
                index = line.find(open_string[0], position)
                if index < 0:
                    break
                open_string = None
            position = index + 3
    return code, open_string[1] if open_string is not None else None


class TomlLines:
    """The lines of one TOML text: table headers and ``key =`` lines, all 1-based.

    Indexed in one pass, so finding a line costs the same however long the file: checking
    a file is linear in its size, never quadratic (a plan of thousands of unknown keys)."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.code, self.unterminated_at = scan_strings(self.lines)
        self.headers: list[tuple[int, str, bool]] = []
        """(line, dotted name, is_array) of every table header outside multi-line strings."""
        self._keys: dict[int, dict[str, int]] = {0: {}}
        """Section (its header's line; 0 before the first header) -> key -> first line."""
        section = self._keys[0]
        for number, line in enumerate(self.lines, start=1):
            if not self.code[number - 1]:
                continue
            match = _HEADER.match(line)
            if match:
                name = re.sub(r"\s*\.\s*", ".", match[2])
                self.headers.append((number, name, match[1] == "[["))
                section = self._keys.setdefault(number, {})
                continue
            key = _KEY.match(line)
            if key:
                section.setdefault(next(g for g in key.groups() if g is not None), number)
        self._header_lines = [at for at, _, _ in self.headers]
        self._arrays: dict[str, list[int]] = {}
        self._named: dict[str, int] = {}
        for at, name, array in self.headers:
            if array:
                self._arrays.setdefault(name, []).append(at)
            self._named.setdefault(name, at)

    def syntax_error(self, raw: str, example_hint: str) -> tuple[int, str]:
        """Turn tomllib's message into (line, message); `example_hint` shows a quoted value."""
        match = _TOML_POSITION.match(raw)
        if match is None:
            return 1, f"not valid TOML: {raw}"
        message = match["msg"][0].lower() + match["msg"][1:]
        if match["line"] is None:
            if self.unterminated_at:
                return (
                    self.unterminated_at,
                    f"not valid TOML: {message} (a \"\"\" or ''' is never closed)",
                )
            return len(self.lines), f"not valid TOML: {message} at the end of the file"
        line = int(match["line"])
        hint = ""
        text = self.lines[line - 1] if line <= len(self.lines) else ""
        # Only a bare word after = is text that lost its quotes; a bad number or date is not.
        if message.startswith("invalid value") and re.search(r"=\s*[A-Za-z]", text):
            hint = f"; put text in double quotes, e.g. {example_hint}"
        elif message.startswith("cannot overwrite"):
            hint = "; is a key written twice?"
        return line, f"not valid TOML: {message} (column {match['col']}){hint}"

    def array_tables(self, name: str) -> list[int]:
        """The header lines of every ``[[name]]``, in order."""
        return list(self._arrays.get(name, ()))

    def table_line(self, name: str, index: int) -> int:
        """The header of the index-th ``[[name]]``, else ``name =`` (written as an inline array)."""
        tables = self._arrays.get(name, [])
        return tables[index] if index < len(tables) else self.top_key(name)

    def table_key(self, name: str, index: int, key: str) -> int | None:
        """The line of ``key =`` inside the index-th ``[[name]]``; None when not written there."""
        tables = self._arrays.get(name, [])
        if index >= len(tables):
            return None
        return self._keys[tables[index]].get(key)

    def section_end(self, start: int) -> int:
        """The first header line after `start`, or one past the last line."""
        later = bisect.bisect_right(self._header_lines, start)
        return self._header_lines[later] if later < len(self._header_lines) else len(self.lines) + 1

    def find_key(self, key: str, start: int, end: int) -> int | None:
        """The first line in [start, end) that sets `key` (bare or quoted), outside strings."""
        sections = [0, *self._header_lines]
        for section in sections[bisect.bisect_right(sections, start) - 1 :]:
            if section >= end:
                break
            line = self._keys[section].get(key)
            if line is not None and start <= line < end:
                return line
        return None

    def top_key(self, key: str) -> int:
        """The line of a top-level ``key =`` (or else a ``[key]`` header); 1 when not written."""
        return self._keys[0].get(key) or self._named.get(key) or 1


def read_bytes(path: Path, limit: int, what: str) -> bytes:
    """Up to `limit` + 1 bytes of a `what` ("script", "plan") file; `ScriptError` if unreadable."""
    name = str(path)
    try:
        with path.open("rb") as file:
            return file.read(limit + 1)
    except FileNotFoundError:
        raise ScriptError([f"{name}: no such file"]) from None
    except IsADirectoryError:
        raise ScriptError([f"{name}: is a folder, not a {what} file"]) from None
    except OSError as error:
        raise ScriptError([f"{name}: cannot read it ({error.strerror})"]) from None


def decode(data: bytes, name: str, limit: int, what: str) -> str:
    """A file's bytes as text; `ScriptError` when there are more than `limit` or not UTF-8."""
    if len(data) > limit:
        raise ScriptError(
            [f"{name}:1: file is larger than {limit // 1024} KiB; a {what} is a few KiB of text"]
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise ScriptError(
            [
                f"{name}:{line}: not UTF-8 text (byte 0x{data[error.start]:02X} at column"
                f" {column}); save the file as UTF-8"
            ]
        ) from None
