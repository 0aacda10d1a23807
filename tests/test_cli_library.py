"""`companion scripts`, `check` and `preview` through the real command line entry point."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from companion.cli import build_parser, main

GOOD = 'format = 1\ntitle = "Mine"\nsummary = "S"\n\n[[step]]\nkind = "say"\ntext = "Hi {a}."\n'
BROKEN = 'format = 1\ntitle = "Mine"\nsummary = "S"\n\n[[step]]\nkind = "silence"\nseconds = "5"\n'
SHORT_BREAK = 'format = 1\ntitle = "B"\nsummary = "S"\n\n[[step]]\nkind = "break"\nminutes = 5\n'


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def walk(
    parser: argparse.ArgumentParser, prefix: str = "companion"
) -> list[tuple[str, argparse.Action]]:
    """Every (command path, action) in the parser tree, nested subcommands included."""
    found: list[tuple[str, argparse.Action]] = []
    for action in parser._actions:
        found.append((prefix, action))
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.extend(walk(sub, f"{prefix} {name}"))
    return found


# -- scripts ---------------------------------------------------------------------


def test_scripts_json_lists_every_script_with_its_length(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "scripts", "--json")
    assert status == 0
    rows = json.loads(out)
    by_id = {row["id"]: row for row in rows}
    assert len(rows) >= 17 and "time-out" in by_id
    assert set(by_id["slow-breathing"]) == {
        *("id", "title", "summary", "tags", "safety", "help", "seconds", "minutes")
    }
    assert "violence" in by_id["apology"]["safety"]
    assert "couples therapist" in by_id["apology"]["help"]
    assert by_id["time-out"]["seconds"] >= 20 * 60
    assert 4 <= by_id["slow-breathing"]["minutes"] <= 6


def test_scripts_prints_one_line_per_script_with_id_title_and_length(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "scripts")
    assert status == 0
    (line,) = [line for line in out.splitlines() if line.startswith("slow-breathing ")]
    assert re.search(r"Slow breathing\s+5:\d\d\s+Five minutes", line)


def test_scripts_reports_a_broken_file_and_lists_the_rest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "good.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "broken.toml").write_text(BROKEN, encoding="utf-8")
    status, out, err = run(capsys, "scripts", "--scripts-dir", str(tmp_path), "--json")
    assert status == 0
    assert [row["id"] for row in json.loads(out)] == ["good"]
    assert f"{tmp_path / 'broken.toml'}:7: seconds must be a number of seconds" in err


# -- check -------------------------------------------------------------------------


def test_check_exits_1_and_prints_file_and_line_for_a_broken_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good, broken = tmp_path / "good.toml", tmp_path / "broken.toml"
    good.write_text(GOOD, encoding="utf-8")
    broken.write_text(BROKEN, encoding="utf-8")
    status, out, _ = run(capsys, "check", str(good), str(broken))
    assert status == 1
    assert out.splitlines() == [
        f"{good}: ok",
        f'{broken}:7: seconds must be a number of seconds, got a string ("5"); e.g. seconds = 10',
    ]


def test_check_passes_a_file_with_only_warnings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "short.toml"
    path.write_text(SHORT_BREAK, encoding="utf-8")
    status, out, _ = run(capsys, "check", str(path))
    assert status == 0
    assert out.splitlines() == [
        f"{path}:7: warning: a break of 5 minutes is short; "
        "the body needs at least 20 minutes to settle",
        f"{path}: ok (1 warning)",
    ]


def test_check_json_gives_each_files_errors_and_warnings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    status, out, _ = run(capsys, "check", "--json", str(path), str(tmp_path / "gone.toml"))
    assert status == 1
    results = json.loads(out)
    assert [(r["file"], r["ok"], len(r["errors"])) for r in results] == [
        (str(path), False, 1),
        (str(tmp_path / "gone.toml"), False, 1),
    ]
    assert results[1]["errors"] == [f"{tmp_path / 'gone.toml'}: no such file"]


def test_check_passes_every_built_in_script(capsys: pytest.CaptureFixture[str]) -> None:
    paths = sorted(str(p) for p in (Path(__file__).parent.parent / "scripts").glob("*.toml"))
    status, out, _ = run(capsys, "check", *paths)
    assert status == 0
    assert out.splitlines() == [f"{path}: ok" for path in paths]


# -- preview -----------------------------------------------------------------------


def test_preview_prints_each_breath_with_its_offset_and_a_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "preview", "slow-breathing")
    assert status == 0
    lines = out.splitlines()
    assert re.match(r"Slow breathing \(slow-breathing\): 5:\d\d in all, 5 steps$", lines[0])
    assert "step 4 breathe: 6.0 breaths a minute (in 4s, out 6s), about 5 minutes" in lines[1]
    inhales = [
        line for line in lines if re.match(r"\s+\d+:\d\d  step 4\s+inhale\s+4\.0s  in$", line)
    ]
    assert inhales, out
    assert any(re.match(r"\s+\d+:\d\d  step 4\s+exhale\s+6\.0s", line) for line in lines)


def test_preview_says_who_has_the_floor_when_using_the_given_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "preview", "speaker-listener", "--names", "Sam,Alex")
    assert status == 0
    (summary,) = [line for line in out.splitlines() if " turn: " in line]
    assert re.search(r"Sam at \d+:\d\d, Alex at \d+:\d\d, Sam at \d+:\d\d, Alex at", summary)
    assert "Sam speaks, Alex listens" in out
    assert "Sam answers: did Alex get it? Is there more?" in out
    assert "then 20s for the answer" in summary
    assert "{a}" not in out and "{speaker}" not in out and "{first}" not in out


def test_preview_of_the_time_out_summarises_the_break(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "preview", "time-out")
    assert status == 0
    assert "step 4 break: 20 minutes, 7 soothing lines, then the call back" in out
    assert re.search(r"^ +20:\d\d  step 4 +say ", out, flags=re.MULTILINE)  # the callback
    assert "We will come back together in 20 minutes." in out


def test_preview_json_is_an_ordered_timeline(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "preview", "box-breathing", "--json")
    assert status == 0
    document = json.loads(out)
    assert document["id"] == "box-breathing"
    timeline = document["timeline"]
    assert set(timeline[0]) >= {"at", "step", "kind", "text", "seconds"}
    offsets = [entry["at"] for entry in timeline]
    assert offsets == sorted(offsets)
    assert [e["kind"] for e in timeline].count("hold") == 2 * 15
    assert document["seconds"] == pytest.approx(timeline[-1]["at"] + timeline[-1]["seconds"])


def test_preview_reads_a_script_file_by_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD, encoding="utf-8")
    status, out, _ = run(capsys, "preview", str(path), "--names", "Sam,Alex")
    assert status == 0
    assert "Hi Sam." in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["preview", "slow-breathin"],
            'companion: There is no script called "slow-breathin"; `companion scripts` lists'
            ' them. Did you mean "slow-breathing"?',
        ),
        (["preview", "missing.toml"], "companion: There is no script file at missing.toml."),
        (
            ["preview", "grounding", "--names", "Sam"],
            'companion: --names needs two names separated by a comma, e.g. --names "Sam,Alex".',
        ),
    ],
    ids=["unknown id", "missing file", "one name"],
)
def test_preview_refuses_with_one_sentence_and_exit_1(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = run(capsys, *argv)
    assert (status, out) == (1, "")
    assert err.splitlines() == [message]


def test_preview_of_a_broken_file_lists_its_problems(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    status, _, err = run(capsys, "preview", str(path))
    assert status == 1
    assert f"{path}:7: seconds must be a number of seconds" in err
    assert "Traceback" not in err


# -- help ----------------------------------------------------------------------------


def test_every_subcommand_has_help_text() -> None:
    # argparse keeps a help entry only for subcommands added with help=..., so compare names.
    lacking = [
        f"{path} {name}"
        for path, action in walk(build_parser())
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
        if not {choice.dest: choice.help for choice in action._choices_actions}.get(name)
    ]
    assert lacking == [], f"subcommands without help text: {lacking}"


def test_every_option_of_every_subcommand_has_help_text() -> None:
    lacking = [
        f"{path} {'/'.join(action.option_strings) or action.dest}"
        for path, action in walk(build_parser())
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
        and not action.help
    ]
    assert lacking == [], f"options without help text: {lacking}"


@pytest.mark.parametrize("name", ["scripts", "check", "preview"])
def test_library_commands_show_their_help(capsys: pytest.CaptureFixture[str], name: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main([name, "--help"])
    assert exited.value.code == 0
    assert "--json" in capsys.readouterr().out
