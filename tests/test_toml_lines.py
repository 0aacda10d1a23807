"""Finding lines in TOML text, shared by the script loader and homework plans."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from companion.core.errors import CompanionError, ScriptError
from companion.core.script import Names
from companion.library.toml_lines import TomlLines, decode, read_bytes

TEXT = """\
title = "x"
note = '''
[not.a.header]
title = "inside a string"
'''

[[practice]]
"times" = 2

[ practice . script ]
"title" = "y"
"""


def syntax_error(text: str) -> tuple[int, str]:
    with pytest.raises(tomllib.TOMLDecodeError) as caught:
        tomllib.loads(text)
    return TomlLines(text).syntax_error(str(caught.value), 'title = "Ours"')


def test_headers_give_line_dotted_name_and_arrayness_and_skip_multiline_strings() -> None:
    assert TomlLines(TEXT).headers == [(7, "practice", True), (10, "practice.script", False)]


def test_keys_inside_multiline_strings_are_not_found() -> None:
    lines = TomlLines(TEXT)
    assert lines.top_key("title") == 1
    assert lines.find_key("title", 2, 7) is None


def test_a_quoted_key_is_found_in_its_array_table_and_not_past_the_next_header() -> None:
    lines = TomlLines(TEXT)
    assert lines.table_line("practice", 0) == 7
    assert lines.table_key("practice", 0, "times") == 8
    assert lines.table_key("practice", 0, "title") is None  # that title is [practice.script]'s


def test_an_inline_array_of_tables_is_placed_at_its_key() -> None:
    lines = TomlLines('step = [{kind = "say"}]\n')
    assert (lines.table_line("step", 0), lines.table_key("step", 0, "kind")) == (1, None)


def test_a_top_key_written_as_a_table_is_found_at_its_header() -> None:
    assert TomlLines("a = 1\n\n[meta]\nb = 2\n").top_key("meta") == 3


def test_a_key_written_nowhere_is_placed_on_line_one() -> None:
    assert TomlLines(TEXT).top_key("missing") == 1


def test_section_end_is_the_next_header_or_one_past_the_last_line() -> None:
    lines = TomlLines(TEXT)
    assert (lines.section_end(7), lines.section_end(10)) == (10, len(lines.lines) + 1)


def test_an_unclosed_multiline_string_is_reported_where_it_opens() -> None:
    assert syntax_error('a = 1\nb = """\nnever closed\n') == (
        2,
        "not valid TOML: unterminated string (a \"\"\" or ''' is never closed)",
    )


def test_a_bare_word_value_gets_the_quotes_hint_with_the_callers_example() -> None:
    assert syntax_error("a = 1\nb = hello\n") == (
        2,
        'not valid TOML: invalid value (column 5); put text in double quotes, e.g. title = "Ours"',
    )


def test_too_big_or_non_utf8_bytes_are_one_problem_with_its_line() -> None:
    with pytest.raises(ScriptError) as big:
        decode(b"#" * 2049, "p.toml", 2048, "plan")
    with pytest.raises(ScriptError) as latin:
        decode(b'a = 1\nb = "caf\xe9"\n', "p.toml", 2048, "plan")
    assert big.value.problems == [
        "p.toml:1: file is larger than 2 KiB; a plan is a few KiB of text"
    ]
    assert latin.value.problems == [
        "p.toml:2: not UTF-8 text (byte 0xE9 at column 9); save the file as UTF-8"
    ]


def test_a_folder_is_not_read_as_a_file(tmp_path: Path) -> None:
    with pytest.raises(ScriptError) as caught:
        read_bytes(tmp_path, 2048, "plan")
    assert caught.value.problems == [f"{tmp_path}: is a folder, not a plan file"]


def test_a_bad_date_gets_no_quotes_hint() -> None:
    line, message = syntax_error("until = 2025-13-01\n")
    assert line == 1 and "double quotes" not in message


def test_names_parse_reads_two_comma_separated_names_or_gives_the_defaults() -> None:
    assert Names.parse(" Sam , Alex ") == Names("Sam", "Alex")
    assert Names.parse("") == Names()


@pytest.mark.parametrize("text", ["Sam", "Sam,", "Sam,Alex,Kai"])
def test_names_parse_rejects_anything_but_two_names_in_one_sentence(text: str) -> None:
    with pytest.raises(CompanionError, match=r"^--names needs two names .*\.$"):
        Names.parse(text)
