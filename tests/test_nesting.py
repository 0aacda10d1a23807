"""Nesting limits: deep JSON or TOML is refused in one pass, before a recursive parser sees it."""

from __future__ import annotations

from companion.library.nesting import MAX_NESTING, json_too_deep, toml_too_deep


def test_json_as_deep_as_the_limit_passes_and_one_level_more_is_too_deep() -> None:
    assert not json_too_deep("[" * MAX_NESTING + "]" * MAX_NESTING)
    assert json_too_deep("[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1))
    assert json_too_deep('{"a":' * 5000 + "1" + "}" * 5000)


def test_brackets_inside_json_strings_do_not_count() -> None:
    # The escaped quote does not end the string early.
    assert not json_too_deep('{"text": "' + "[" * 500 + '\\" [[["}')


def test_toml_arrays_and_inline_tables_count_and_the_line_is_given() -> None:
    deep = "a = 1\nb = " + "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1) + "\n"
    assert toml_too_deep(deep) == 2
    assert toml_too_deep("x = " + "{y = " * 5000 + "1" + "}" * 5000) == 1
    assert toml_too_deep("[[step]]\nkind = 'say'\ntags = [[1, 2], [3]]\n") is None


def test_brackets_in_toml_strings_and_comments_do_not_count() -> None:
    text = (
        'a = "' + "[" * 100 + '"\n'
        "b = '" + "{" * 100 + "'\n"
        'c = """\n' + "[" * 100 + '\n"""\n'
        "# " + "[" * 100 + "\n"
        'd = "an escaped \\" quote [[["\n'
    )
    assert toml_too_deep(text) is None
