"""Spoken guidance without a sound device: real pyttsx3 renders, the cache, cue tones, status."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import numpy as np
import pytest

from companion.core.effects import Cue, CueName, HoldSound, ReleaseSound, Speak, StopSound
from companion.core.phase import estimate_speech_seconds
from companion.voice.cue_tones import PEAK, SAMPLE_RATE, cue_tone, tone_floats
from companion.voice.speech_out import TURNED_OFF, SpeechOut
from companion.voice.tts import (
    NO_ENGINE,
    TtsEngine,
    VoiceSettings,
    cache_key,
    read_wav,
    render_wav,
    wav_seconds,
)

SENTENCE = "Let your shoulders drop, and breathe out slowly through your mouth."
OTHER = "Notice where your feet touch the floor."


def one_sentence(text: str) -> bool:
    body = text.strip()
    return bool(body) and body.endswith(".") and body.count(". ") == 0 and "\n" not in body


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


@pytest.fixture
def speech(tmp_path: Path) -> Iterator[SpeechOut]:
    out = SpeechOut(VoiceSettings(rate=150), tmp_path / "cache")
    out.start()
    yield out
    out.close()


def test_render_wav_writes_audible_speech_of_plausible_length(tmp_path: Path) -> None:
    path = tmp_path / "line.wav"
    render_wav(SENTENCE, path, VoiceSettings(rate=150))
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (SAMPLE_RATE, 1, 2)
    samples = read_wav(path)
    words = len(SENTENCE.split())
    seconds = len(samples) / SAMPLE_RATE
    assert 0.25 * words <= seconds <= 1.5 * words
    assert rms(samples) > 500, "speech should be clearly audible, not near-silence"


def test_render_wav_leaves_no_temp_files_behind(tmp_path: Path) -> None:
    render_wav(OTHER, tmp_path / "a.wav", VoiceSettings())
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]


def test_slower_rate_renders_a_longer_line(tmp_path: Path) -> None:
    render_wav(SENTENCE, tmp_path / "slow.wav", VoiceSettings(rate=110))
    render_wav(SENTENCE, tmp_path / "fast.wav", VoiceSettings(rate=200))
    assert wav_seconds(tmp_path / "slow.wav") > 1.3 * wav_seconds(tmp_path / "fast.wav")


def test_prepare_renders_each_line_once_and_a_restart_reuses_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = SpeechOut(VoiceSettings(), cache)
    first.start()
    seen: list[tuple[int, int]] = []
    first.prepare(
        [SENTENCE, OTHER, SENTENCE], progress=lambda done, total: seen.append((done, total))
    )
    first.prepare([SENTENCE, OTHER])
    first.close()
    assert first.renders == 2
    assert seen == [(1, 2), (2, 2)]
    files = sorted(cache.glob("*.wav"))
    mtimes = [p.stat().st_mtime_ns for p in files]

    second = SpeechOut(VoiceSettings(), cache)
    second.start()
    second.prepare([SENTENCE, OTHER])
    second.close()
    assert second.renders == 0
    assert [p.stat().st_mtime_ns for p in sorted(cache.glob("*.wav"))] == mtimes


def test_cache_key_changes_with_text_voice_rate_volume_and_engine_version() -> None:
    base = VoiceSettings(voice="en-us", rate=150, volume=0.9)
    keys = {
        cache_key("Breathe in.", base, "2.99"),
        cache_key("Breathe out.", base, "2.99"),
        cache_key("Breathe in.", VoiceSettings(voice="en-gb", rate=150, volume=0.9), "2.99"),
        cache_key("Breathe in.", VoiceSettings(voice="en-us", rate=120, volume=0.9), "2.99"),
        cache_key("Breathe in.", VoiceSettings(voice="en-us", rate=150, volume=0.5), "2.99"),
        cache_key("Breathe in.", base, "3.0"),
    }
    assert len(keys) == 6
    assert cache_key("Breathe in.", base, "2.99") == cache_key("Breathe in.", base, "2.99")


def test_seconds_estimates_before_prepare_and_is_the_rendered_length_after(
    speech: SpeechOut,
) -> None:
    estimate = speech.seconds(SENTENCE)
    assert estimate == estimate_speech_seconds(SENTENCE, 150)
    speech.prepare([SENTENCE])
    rendered = speech.seconds(SENTENCE)
    assert rendered != estimate
    paths = list(speech.cache_dir.glob("*.wav"))
    assert rendered == pytest.approx(wav_seconds(paths[0]))
    assert 0.6 * rendered <= estimate <= 1.5 * rendered, "the estimate should be in the right range"


def test_seconds_reads_a_line_cached_by_an_earlier_run_without_rendering(tmp_path: Path) -> None:
    first = SpeechOut(VoiceSettings(), tmp_path)
    first.start()
    first.prepare([OTHER])
    rendered = first.seconds(OTHER)
    first.close()
    later = SpeechOut(VoiceSettings(), tmp_path)  # not even started
    assert later.seconds(OTHER) == pytest.approx(rendered)


def test_empty_text_takes_no_time_and_is_not_rendered(speech: SpeechOut) -> None:
    speech.prepare(["", "   "])
    assert speech.renders == 0
    assert speech.seconds("") == 0.0


def spectral_centroid(signal: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    freqs = np.fft.rfftfreq(len(signal), 1 / SAMPLE_RATE)
    return float(np.sum(freqs * spectrum) / np.sum(spectrum))


def centroids_start_and_end(name: CueName) -> tuple[float, float]:
    tone = tone_floats(name)
    third = len(tone) // 3
    return spectral_centroid(tone[:third]), spectral_centroid(tone[-third:])


def test_inhale_tone_rises_and_exhale_tone_falls_in_pitch() -> None:
    inhale_start, inhale_end = centroids_start_and_end("inhale")
    exhale_start, exhale_end = centroids_start_and_end("exhale")
    assert inhale_end > inhale_start * 1.15
    assert exhale_end < exhale_start / 1.15


def test_hold_tone_stays_level() -> None:
    start, end = centroids_start_and_end("hold")
    assert end == pytest.approx(start, rel=0.03)


@pytest.mark.parametrize("name", get_args(CueName))
def test_every_cue_is_soft_and_fades_in_and_out_without_clicks(name: CueName) -> None:
    tone = cue_tone(name, volume=1.0)
    assert 0.05 <= len(tone) / SAMPLE_RATE <= 2.5
    assert np.max(np.abs(tone)) <= PEAK * 32767 + 1
    assert np.max(np.abs(tone)) > 0.1 * PEAK * 32767
    edge = SAMPLE_RATE // 1000  # the first and last millisecond
    assert np.max(np.abs(tone[:edge])) < 0.02 * 32767
    assert np.max(np.abs(tone[-edge:])) < 0.02 * 32767
    # No sample-to-sample jump a speaker would turn into a click.
    assert np.max(np.abs(np.diff(tone.astype(np.int32)))) < 0.1 * 32767


def test_cue_volume_scales_the_tone() -> None:
    loud, quiet = cue_tone("end", volume=1.0), cue_tone("end", volume=0.25)
    assert rms(quiet) == pytest.approx(rms(loud) / 4, rel=0.02)


def test_turned_off_voice_shows_captions_only_and_ignores_effects(tmp_path: Path) -> None:
    out = SpeechOut(VoiceSettings(enabled=False), tmp_path)
    out.start()
    out.prepare([SENTENCE])
    for effect in (
        Speak(SENTENCE, SENTENCE),
        Cue("inhale", "in"),
        HoldSound(),
        StopSound(),
        ReleaseSound(),
    ):
        out.handle(effect)
    status = out.status()
    out.close()
    assert not status.on
    assert status.reason == TURNED_OFF and one_sentence(status.reason)
    assert out.playing_text() == ""
    assert out.renders == 0
    assert out.seconds(SENTENCE) == estimate_speech_seconds(SENTENCE, 150)


def test_missing_speech_engine_gives_a_one_sentence_status_and_no_exception(
    tmp_path: Path,
) -> None:
    out = SpeechOut(VoiceSettings(driver="no_such_driver"), tmp_path)
    out.start()
    out.prepare([SENTENCE])
    for effect in (
        Speak(SENTENCE, SENTENCE),
        Cue("exhale", "out"),
        HoldSound(),
        StopSound(),
        ReleaseSound(),
    ):
        out.handle(effect)
    status = out.status()
    out.close()
    assert not status.on
    assert status.reason == NO_ENGINE and one_sentence(status.reason)
    assert out.seconds(SENTENCE) == estimate_speech_seconds(SENTENCE, 150)


def test_unknown_voice_falls_back_to_the_default_with_a_one_sentence_note(
    tmp_path: Path,
) -> None:
    engine = TtsEngine(VoiceSettings(voice="xx-no-such-voice"))
    assert "xx-no-such-voice" in engine.note and one_sentence(engine.note)
    engine.render(OTHER, tmp_path / "line.wav")
    assert rms(read_wav(tmp_path / "line.wav")) > 500


@pytest.mark.parametrize("voice", ["en-us", "gmw/en-us", "English (America)", "EN-US"])
def test_voice_is_found_by_short_id_full_id_or_name(voice: str) -> None:
    assert TtsEngine(VoiceSettings(voice=voice)).note == ""


def test_not_started_status_says_so_in_one_sentence(tmp_path: Path) -> None:
    status = SpeechOut(VoiceSettings(), tmp_path).status()
    assert not status.on and one_sentence(status.reason)
