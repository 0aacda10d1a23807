"""The echo canceller on synthetic signals: a known reference, an unknown room, a voice."""

from __future__ import annotations

import numpy as np
import pytest

from companion.echo import EchoCanceller, EchoPath, PlayedAudio, reference_window

RATE = 16_000


def speechlike(seconds: float, seed: int) -> np.ndarray:
    """Coloured noise switched on and off in syllable-length bursts, like speech."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    coloured = np.convolve(rng.standard_normal(n), np.hanning(24), mode="same")
    bursts = np.repeat(rng.random(n // 3200 + 1) > 0.3, 3200)[:n]
    return (coloured / np.std(coloured) * 2000 * bursts).astype(np.float32)


def run(mic: np.ndarray, ref: np.ndarray, canceller: EchoCanceller) -> np.ndarray:
    block = 800
    return np.concatenate(
        [
            canceller.process(mic[i : i + block], ref[i : i + block])
            for i in range(0, len(mic), block)
        ]
    )


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


@pytest.mark.parametrize(("delay", "gain"), [(0.21, 1.3)])
def test_the_echo_delay_is_found_and_the_echo_removed_while_a_voice_remains(
    delay: float, gain: float
) -> None:
    ref = speechlike(6.0, seed=1)
    lag = int(delay * RATE)
    echo = np.zeros_like(ref)
    echo[lag:] = gain * ref[:-lag]
    echo[lag + 60 :] += 0.3 * gain * ref[: -lag - 60]  # a reflection
    voice = np.zeros_like(ref)
    voice[4 * RATE : 5 * RATE] = speechlike(1.0, seed=2)[:RATE]
    noise = np.random.default_rng(3).standard_normal(len(ref)).astype(np.float32) * 20
    mic = echo + voice + noise
    canceller = EchoCanceller(RATE)
    out = run(mic, ref, canceller)
    assert canceller.delay is not None and abs(canceller.delay - lag) <= 2
    settled = slice(2 * RATE, 4 * RATE)
    assert rms(out[settled]) < rms(mic[settled]) / 10  # at least 20 dB less echo
    talk = slice(4 * RATE, 5 * RATE)
    assert rms(out[talk] - voice[talk]) < rms(voice[talk]) / 3  # the voice is kept


def test_without_a_reference_the_microphone_passes_unchanged() -> None:
    mic = speechlike(2.0, seed=4)
    out = run(mic, np.zeros_like(mic), EchoCanceller(RATE))
    assert np.allclose(out, mic)


def test_the_reference_window_resamples_played_audio_at_its_play_times() -> None:
    played = PlayedAudio(np.arange(22_050, dtype=np.int16), 22_050, end_time=11.0)
    window = reference_window(played, 10.5, 8, RATE)
    assert window[0] == pytest.approx(22_050 / 2, abs=1)
    assert reference_window(played, 20.0, 4, RATE).tolist() == [0.0] * 4


def test_the_echo_path_follows_a_steady_microphone_clock() -> None:
    path = EchoPath(RATE)
    block = np.zeros(800, dtype=np.float32)
    assert len(path.clean(block, 1.0, None)) == 800
