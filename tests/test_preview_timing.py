"""What `companion preview` promises about timing, measured from its JSON timeline."""

from __future__ import annotations

import json
from typing import Any

import pytest

from companion.cli import main
from companion.core.script import Breathe, Turn
from companion.library.loader import default_library_dir, load_library


def preview_json(script_id: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["preview", script_id, "--json", "--names", "Sam,Alex"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


BREATHING = ["slow-breathing", "box-breathing", "breathing-4-7-8", "cyclic-sighing"]


@pytest.mark.parametrize("script_id", BREATHING)
def test_previewed_breathing_runs_within_ten_percent_of_its_configured_pace(
    script_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    [step] = [
        s for s in load_library(default_library_dir())[script_id].steps if isinstance(s, Breathe)
    ]
    timeline = preview_json(script_id, capsys)["timeline"]
    inhales = [e["at"] for e in timeline if e["kind"] == "inhale"]
    measured = 60 * (len(inhales) - 1) / (inhales[-1] - inhales[0])
    assert measured == pytest.approx(step.breaths_per_minute, rel=0.10)
    inhale = next(e["seconds"] for e in timeline if e["kind"] == "inhale")
    exhale = next(e["seconds"] for e in timeline if e["kind"] == "exhale")
    if script_id == "box-breathing":
        assert exhale == inhale
    else:
        assert exhale > inhale


def test_slow_breathing_is_near_six_breaths_a_minute(capsys: pytest.CaptureFixture[str]) -> None:
    timeline = preview_json("slow-breathing", capsys)["timeline"]
    inhales = [e["at"] for e in timeline if e["kind"] == "inhale"]
    assert 60 * (len(inhales) - 1) / (inhales[-1] - inhales[0]) == pytest.approx(6.0, rel=0.10)


def test_previewed_speaker_listener_alternates_the_floor_with_the_configured_times(
    capsys: pytest.CaptureFixture[str],
) -> None:
    [turn] = [
        s
        for s in load_library(default_library_dir())["speaker-listener"].steps
        if isinstance(s, Turn)
    ]
    timeline = preview_json("speaker-listener", capsys)["timeline"]
    floors = [e for e in timeline if e["kind"] in ("floor", "paraphrase")]
    assert [(e["kind"], e["speaker"], e["seconds"]) for e in floors] == [
        ("floor", "Sam", turn.floor_seconds),
        ("paraphrase", "Sam", turn.paraphrase_seconds),
        ("floor", "Alex", turn.floor_seconds),
        ("paraphrase", "Alex", turn.paraphrase_seconds),
    ] * turn.rounds
