"""`companion render`: a whole session as one WAV, with real pyttsx3 + espeak-ng, no mocks."""

from __future__ import annotations

import io
import json
import tracemalloc
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from companion.cli import main
from companion.core.phase import TimelineEntry
from companion.core.preview import preview, timeline_seconds
from companion.core.script import Names, Script
from companion.library.loader import default_library_dir, load_library, load_script
from companion.progress import ProgressBar
from companion.voice.cue_tones import SAMPLE_RATE
from companion.voice.render import Rendered, RenderError, render_session
from companion.voice.tts import VoiceSettings, cache_key, pyttsx3_version, wav_seconds

NAMES = Names("Sam", "Alex")

SMALL = """\
format = 1
title = "Render check"
summary = "Two lines, a short silence, two chime breaths."

[[step]]
kind = "say"
text = "Welcome, {a} and {b}. Sit comfortably, and let your feet rest on the floor."
caption = "Welcome"

[[step]]
kind = "say"
text = "Let your shoulders drop."

[[step]]
kind = "silence"
seconds = 3

[[step]]
kind = "breathe"
inhale = 2
exhale = 3
cycles = 2
cues = "chime"
countdown = 0
"""

CHIMES_ONLY = """\
format = 1
title = "Chimes only"
summary = "Nothing spoken."

[[step]]
kind = "silence"
seconds = 1

[[step]]
kind = "breathe"
inhale = 2
exhale = 3
cycles = 1
cues = "chime"
countdown = 0
"""


@dataclass(frozen=True)
class SmallRender:
    script: Script
    rendered: Rendered
    samples: np.ndarray
    cache: Path


@pytest.fixture(scope="module")
def xdg_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One voice cache for the module: each line is synthesised once, not once per test."""
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture
def user_cache(xdg_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the CLI's default voice cache (the platform cache folder) at the shared one."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg_cache))
    return xdg_cache / "companion" / "voice"


@pytest.fixture(scope="module")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scripts") / "render-check.toml"
    path.write_text(SMALL, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def small(
    small_file: Path, xdg_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> SmallRender:
    script = load_script(small_file)
    cache = xdg_cache / "companion" / "voice"
    out = tmp_path_factory.mktemp("out") / "small.wav"
    rendered = render_session(script, out, names=NAMES, cache_dir=cache)
    return SmallRender(script, rendered, read_mono(out), cache)


def read_mono(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (SAMPLE_RATE, 1, 2)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


def cached_seconds(cache: Path, settings: VoiceSettings) -> Callable[[str], float]:
    """Line lengths read straight from the cached WAV files, independently of the renderer."""
    version = pyttsx3_version()
    return lambda text: wav_seconds(cache / f"{cache_key(text, settings, version)}.wav")


def window(samples: np.ndarray, start: float, end: float) -> np.ndarray:
    return samples[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)]


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


def entries(timeline: list[TimelineEntry], kind: str) -> list[TimelineEntry]:
    return [entry for entry in timeline if entry.kind == kind]


# -- the file ------------------------------------------------------------------------


def test_rendered_file_lasts_as_long_as_the_preview_timed_by_the_real_lines(
    small: SmallRender,
) -> None:
    expected = preview(small.script, NAMES, cached_seconds(small.cache, VoiceSettings()))
    end = timeline_seconds(expected)
    seconds = len(small.samples) / SAMPLE_RATE
    assert small.rendered.timeline == expected
    assert abs(seconds - end) <= 0.02 * end
    assert abs(seconds - end) <= 1 / SAMPLE_RATE, "it should match to the sample"
    assert small.rendered.seconds == pytest.approx(seconds)


def test_a_line_with_a_caption_is_timed_and_heard_by_its_spoken_text(small: SmallRender) -> None:
    first = entries(small.rendered.timeline, "say")[0]
    spoken = "Welcome, Sam and Alex. Sit comfortably, and let your feet rest on the floor."
    line = cached_seconds(small.cache, VoiceSettings())(spoken)
    assert first.text == "Welcome"  # the caption is what the page shows
    assert first.seconds == pytest.approx(line + 1.0)  # the line, then a quiet second
    assert line > 3.0, "the spoken text, not the one-word caption, was rendered"


def test_lines_are_heard_then_a_quiet_second_and_the_silence_step_is_silent(
    small: SmallRender,
) -> None:
    samples = small.samples
    for entry in entries(small.rendered.timeline, "say"):
        speech_end = entry.at + entry.seconds - 1.0
        assert rms(window(samples, entry.at, speech_end)) > 300, entry.text
        assert not window(samples, speech_end + 0.01, entry.at + entry.seconds).any()
    (silence,) = entries(small.rendered.timeline, "silence")
    quiet = window(samples, silence.at, silence.at + silence.seconds)
    assert len(quiet) == round(silence.seconds * SAMPLE_RATE)
    assert not quiet.any()


def test_each_chime_cue_sounds_at_its_offset(small: SmallRender) -> None:
    timeline = small.rendered.timeline
    cues = [e for e in timeline if e.kind in ("inhale", "exhale", "end")]
    assert [e.kind for e in cues] == ["inhale", "exhale", "inhale", "exhale", "end"]
    for entry in cues:
        assert window(small.samples, entry.at - 0.01, entry.at).max(initial=0) == 0
        assert rms(window(small.samples, entry.at, entry.at + 0.5)) > 500, entry


def test_a_built_in_breathing_script_matches_its_preview(user_cache: Path, tmp_path: Path) -> None:
    script = load_library(default_library_dir())["breathing-4-7-8"]
    out = tmp_path / "478.wav"
    rendered = render_session(script, out, cache_dir=user_cache)
    end = timeline_seconds(preview(script, Names(), cached_seconds(user_cache, VoiceSettings())))
    assert abs(wav_seconds(out) - end) <= 0.02 * end
    assert len(entries(rendered.timeline, "inhale")) == 4  # the preset's four for beginners
    last = entries(rendered.timeline, "say")[-1]
    assert rms(window(read_mono(out), last.at, last.at + 1.0)) > 300


NEW_IN_ISSUE_14 = (
    "apology",
    "transparency-check-in",
    "after-a-fight",
    "triggered-moment",
    "softened-start-up",
    "stress-reducing-conversation",
    "acknowledging-hurt",
)


@pytest.mark.parametrize("script_id", NEW_IN_ISSUE_14)
def test_a_trust_repair_script_renders_at_its_previewed_length_with_roles_by_name(
    script_id: str, user_cache: Path, tmp_path: Path
) -> None:
    script = load_library(default_library_dir())[script_id]
    out = tmp_path / f"{script_id}.wav"
    rendered = render_session(script, out, names=NAMES, cache_dir=user_cache)
    try:
        end = timeline_seconds(preview(script, NAMES, cached_seconds(user_cache, VoiceSettings())))
        assert abs(wav_seconds(out) - end) <= 0.02 * end
        spoken = [e.spoken for e in rendered.timeline if e.kind in ("say", "ready", "role")]
        assert spoken and all("{" not in line for line in spoken)
        assert any("Sam" in line for line in spoken)  # the roles, by name
    finally:
        out.unlink(missing_ok=True)  # long files: keep the temp folder small


def test_a_long_break_is_streamed_not_held_in_memory(user_cache: Path, tmp_path: Path) -> None:
    script = load_library(default_library_dir())["time-out"]
    out = tmp_path / "time-out.wav"
    tracemalloc.start()
    try:
        rendered = render_session(script, out, cache_dir=user_cache)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rendered.seconds > 20 * 60
    size = out.stat().st_size
    assert size > 50_000_000
    assert peak < size / 5, f"peak {peak} bytes for a {size}-byte file"


def test_a_script_with_nothing_spoken_needs_no_speech_engine(tmp_path: Path) -> None:
    path = tmp_path / "chimes.toml"
    path.write_text(CHIMES_ONLY, encoding="utf-8")
    out = tmp_path / "chimes.wav"
    rendered = render_session(
        load_script(path),
        out,
        settings=VoiceSettings(driver="no-such-driver"),
        cache_dir=tmp_path / "cache",
    )
    assert rendered.lines == 0
    assert wav_seconds(out) == pytest.approx(1.0 + 2.0 + 3.0 + 1.5, abs=1 / SAMPLE_RATE)


def test_without_a_speech_engine_it_says_to_install_espeak_and_writes_nothing(
    small_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "never.wav"
    with pytest.raises(RenderError, match="espeak-ng") as caught:
        render_session(
            load_script(small_file),
            out,
            settings=VoiceSettings(driver="no-such-driver"),
            cache_dir=tmp_path / "empty-cache",
        )
    assert "\n" not in str(caught.value)
    assert list(tmp_path.glob("*never*")) == [], "neither the file nor its temp file is left"


# -- the command -----------------------------------------------------------------------


def test_cli_writes_the_file_and_reports_it_as_json(
    small_file: Path, user_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "session.wav"
    status = main(
        ["render", str(small_file), "--out", str(out), "--names", "Sam,Alex", "--json", "--quiet"]
    )
    captured = capsys.readouterr()
    assert status == 0
    assert captured.err == ""
    report = json.loads(captured.out)
    assert report == {
        "out": str(out),
        "seconds": pytest.approx(wav_seconds(out), abs=0.001),
        "lines": 2,
    }
    assert [p.name for p in tmp_path.iterdir()] == ["session.wav"]


def test_cli_shows_a_few_progress_lines_when_stderr_is_not_a_terminal(
    small_file: Path, user_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["render", str(small_file), "--out", str(tmp_path / "s.wav")])
    captured = capsys.readouterr()
    assert status == 0
    lines = captured.err.splitlines()
    assert "rendering lines: 2/2" in lines
    assert lines[-1] == "writing audio: 100%"
    assert len(lines) <= 8
    assert "\r" not in captured.err
    assert captured.out.startswith(f"Wrote {tmp_path / 's.wav'} (0:")


def test_progress_bar_redraws_one_line_per_stage_on_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, tty=True)
    for done in range(1, 4):
        bar("lines", done, 3)
    for done in range(0, 1_000_001, 1000):
        bar("audio", done, 1_000_000)
    text = stream.getvalue()
    assert text.count("\n") == 2, "one finished line per stage"
    assert text.count("\r") <= 3 + 101, "redrawn only when the figure changes"
    first, second, rest = text.split("\n")
    assert rest == ""
    assert first.rsplit("\r", 1)[-1].startswith("rendering lines") and first.endswith("3/3")
    assert second.rsplit("\r", 1)[-1].startswith("writing audio") and second.endswith("100%")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["no-such-script"], "There is no script called"),
        (["breathing-4-7-8", "--names", "Sam"], "--names"),
    ],
)
def test_cli_refuses_a_bad_script_or_names_in_one_sentence(
    argv: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.wav"
    assert main(["render", *argv, "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert said in err
    assert err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize("where", ["missing-folder/x.wav", "."])
def test_cli_refuses_an_unwritable_path_in_one_sentence(
    where: str, small_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / where
    assert main(["render", str(small_file), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"companion: {out}") or err.startswith(f"companion: Cannot write {out}")
    assert err.count("\n") == 1
    assert "--out" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("script_id", ["breathing-4-7-8", "grounding"])
def test_companion_preview_matches_the_rendered_file_within_two_percent(
    script_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Both commands share the voice cache, so preview uses the lengths render measured.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / f"{script_id}.wav"
    assert main(["render", script_id, "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["preview", script_id, "--json"]) == 0
    previewed = json.loads(capsys.readouterr().out)["seconds"]
    with wave.open(str(out), "rb") as wav:
        rendered = wav.getnframes() / wav.getframerate()
    assert rendered == pytest.approx(previewed, rel=0.02)
