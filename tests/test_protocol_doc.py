"""docs/protocol.md says what the server sends: its tables are checked against the code.

The message classes (`companion.webapp.messages`), the engine's state snapshot, the companion's
status and the web tests' fake controller must all say the same as the document."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from web_support import IDLE_STATE

from companion.app import Companion
from companion.core.effects import Command, CommandName
from companion.core.engine import Engine, Tick
from companion.library.loader import default_library_dir, load_library
from companion.options import Options
from companion.webapp.messages import FIELD_MESSAGES

PROTOCOL = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text()


def section(title: str) -> str:
    start = PROTOCOL.index(title)
    end = PROTOCOL.find("\n## ", start + len(title))
    return PROTOCOL[start : end if end != -1 else None]


def server_table() -> dict[str, str]:
    """Each message type in "Server -> page" with its data column."""
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \| .+ \|$", section("## Server -> page"), re.M)
    return dict(rows)


def keys(text: str) -> set[str]:
    return set(re.findall(r'"(\w+)":', text))


def test_every_message_type_in_the_document_has_a_class_and_back() -> None:
    documented = set(server_table())
    classes = {cls.TYPE for cls in FIELD_MESSAGES} | {"state", "status"}
    assert documented == classes


def test_each_message_sends_the_fields_the_document_names() -> None:
    table = server_table()
    for type_ in {cls.TYPE for cls in FIELD_MESSAGES}:
        fields = {
            field.name
            for cls in FIELD_MESSAGES
            if type_ == cls.TYPE
            for field in dataclasses.fields(cls)
        }
        assert keys(table[type_]) == fields, type_


def documented_state() -> tuple[set[str], dict[str, set[str]]]:
    """The State block's top-level keys, and the keys of each object it shows."""
    block = section("### State").split("```json", 1)[1].split("```", 1)[0]
    top = set(re.findall(r'^  "(\w+)":', block, re.M))
    nested = {
        name: keys(body)
        for name, body in re.findall(
            r'^  "(\w+)": (\{.*?\})(?: \||,?$| \| null)', block, re.M | re.S
        )
    }
    return top, nested


def test_the_engines_state_has_every_documented_key_and_no_other() -> None:
    library = dict(load_library(default_library_dir()))
    engine = Engine(library)
    top, nested = documented_state()
    assert set(engine.snapshot(0.0)) == top
    # Through a breathing script: each object shown has the documented keys.
    now = 0.0
    engine.handle(Command(CommandName.START, script="slow-breathing"), now)
    seen: dict[str, set[str]] = {}
    while (deadline := engine.next_deadline()) is not None:
        now = deadline
        engine.handle(Tick(), now)
        for key, value in engine.snapshot(now).items():
            if isinstance(value, dict):
                seen.setdefault(key, set()).update(value)
    for key in ("script", "step", "phase", "breath", "names"):
        assert seen[key] == nested[key], key


def test_the_web_tests_fake_state_has_the_engines_keys() -> None:
    assert set(IDLE_STATE) == set(Engine({}).snapshot(0.0))


def test_the_status_has_every_documented_part(tmp_path: Path) -> None:
    documented = keys(section("`Status`:").split("\n\n", 1)[0])
    options = Options(voice=False, listen_engine="off", journal=False, data_dir=tmp_path)
    companion = Companion(options)
    try:
        status = companion.status()
    finally:
        companion.close()
    parts = set(status)
    inner = set().union(*(set(value) for value in status.values() if isinstance(value, dict)))
    assert parts <= documented
    assert inner <= documented
