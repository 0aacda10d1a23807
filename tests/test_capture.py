"""The resampler between a microphone's native rate and the 16 kHz the recognisers expect."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from companion.audio.capture import SPEECH_RATE, Resampler, WavSource


def tone(freq: float, rate: int, seconds: float = 1.0, level: float = 10_000.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return bytes((np.sin(2 * np.pi * freq * t) * level).astype("<i2").tobytes())


def rms(data: bytes) -> float:
    samples = np.frombuffer(data, dtype="<i2").astype(np.float64)[200:-200]  # skip the edges
    return float(np.sqrt(np.mean(samples**2)))


@pytest.mark.parametrize("rate_in", [44_100, 48_000, 22_050, 8_000])
def test_resampling_in_blocks_gives_exactly_what_resampling_at_once_gives(rate_in: int) -> None:
    # Per-block resampling used to bend time at every block edge; state now carries over.
    data = np.random.default_rng(1).integers(-8000, 8000, rate_in, dtype=np.int16).tobytes()
    at_once = Resampler(rate_in, SPEECH_RATE)
    whole = at_once.process(data) + at_once.flush()
    blocks = Resampler(rate_in, SPEECH_RATE)
    step = int(rate_in * 0.05) * 2 - 6  # odd-sized blocks, not aligned to the ratio
    pieces = b"".join(blocks.process(data[i : i + step]) for i in range(0, len(data), step))
    # Only the filter's delay is held back until the stream ends, and the resampler says
    # how much (a capture time is moved back by it).
    held = (SPEECH_RATE - len(pieces) // 2) / SPEECH_RATE
    assert held < (0.09 if rate_in >= 22_050 else 0.12)
    assert blocks.held_seconds == pytest.approx(held, abs=1 / SPEECH_RATE)
    assert pieces + blocks.flush() == whole
    # The output keeps time: one second in, one second out.
    assert len(whole) // 2 == SPEECH_RATE


def test_speech_frequencies_pass_and_those_above_8_khz_are_removed_not_folded_back() -> None:
    level = rms(tone(1000, 44_100))
    assert rms(Resampler(44_100, SPEECH_RATE).process(tone(1000, 44_100))) == pytest.approx(
        level, rel=0.01
    )
    assert rms(Resampler(44_100, SPEECH_RATE).process(tone(5000, 44_100))) > 0.9 * level
    # 12 kHz would fold back to 4 kHz, right inside the speech band, without the low-pass.
    assert rms(Resampler(44_100, SPEECH_RATE).process(tone(12_000, 44_100))) < 0.003 * level


def test_the_same_rate_passes_through_untouched() -> None:
    data = tone(440, SPEECH_RATE)
    assert Resampler(SPEECH_RATE, SPEECH_RATE).process(data) == data


def test_a_44_1_khz_wav_is_delivered_at_16_khz_with_its_length_kept(tmp_path: Path) -> None:
    path = tmp_path / "cd.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(44_100)
        wav.writeframes(tone(300, 44_100, seconds=2.0))
    source = WavSource(path)
    source.open()
    assert source.rate == SPEECH_RATE
    chunks = []
    while (chunk := source.read(timeout=0.0)) is not None:
        chunks.append(chunk)
    total = sum(len(c) for c in chunks) // 2
    assert abs(total - 2 * SPEECH_RATE) <= 2
    assert rms(b"".join(chunks)) == pytest.approx(rms(tone(300, 44_100)), rel=0.01)
