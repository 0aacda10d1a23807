"""Errors a person can act on: each renders as one line, never a traceback."""

from __future__ import annotations


class CompanionError(Exception):
    """Base for every error shown to a person; `str()` is the whole message."""


class ScriptError(CompanionError):
    """A script (or plan) file has problems; each is `file:line: message`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
