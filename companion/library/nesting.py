"""How deeply JSON and TOML from outside may nest, checked in one linear pass before parsing.

Python's json and tomllib recurse once per level: a few thousand brackets raise
RecursionError (a traceback, a 500) instead of a parse error. Nothing the companion reads
nests more than a few levels, so anything deeper is refused with one sentence. What counts
as a number in either is here too.
"""

from __future__ import annotations

MAX_NESTING = 32
"""Plans and messages nest three or four levels; 32 leaves room and stays far from recursion."""

NESTING_MESSAGE = f"nested more than {MAX_NESTING} levels deep"


def json_too_deep(text: str, limit: int = MAX_NESTING) -> bool:
    """True when arrays and objects in `text` nest more than `limit` deep (strings skipped)."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def toml_too_deep(text: str, limit: int = MAX_NESTING) -> int | None:
    """The 1-based line where arrays and inline tables in `text` nest deeper than `limit`, or
    None. Strings ("...", '...', and the triple-quoted kinds) and comments are skipped."""
    depth = 0
    line = 1
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == "\n":
            line += 1
        elif char == "#":
            end = text.find("\n", index)
            index = length if end < 0 else end
            continue
        elif char in "\"'":
            quote = char * 3 if text.startswith(char * 3, index) else char
            index += len(quote)
            while index < length and not text.startswith(quote, index):
                if text[index] == "\n":
                    line += 1
                # Only basic strings have escapes; a literal string ends at its quote.
                index += 2 if quote[0] == '"' and text[index] == "\\" else 1
            index += len(quote)
            continue
        elif char in "[{":
            depth += 1
            if depth > limit:
                return line
        elif char in "]}":
            depth = max(0, depth - 1)
        index += 1
    return None


def is_number(value: object) -> bool:
    """A JSON or TOML number: an int or a float, never a bool (which Python counts as int)."""
    return isinstance(value, int | float) and not isinstance(value, bool)
