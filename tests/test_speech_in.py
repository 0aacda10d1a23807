"""Specifications of the pure listening logic: vocabulary, whole-utterance gate, self-voice.

No audio here: words go in as data, decisions come out. Real-audio tests live in
test_speech_in_audio.py.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from pathlib import Path

import numpy as np
import pytest

from companion.audio.echo import LOST_SECONDS, SEARCH_REACH_SECONDS, PlayedAudio
from companion.core.effects import CommandName
from companion.listening.commands_vocab import (
    Vocabulary,
    VocabularyError,
    available_languages,
    load_vocabulary,
    parse_vocabulary,
    words_of,
)
from companion.listening.heard import Heard, ListenSettings, SpeakingNow
from companion.listening.over_voice import OverVoice
from companion.listening.pocketsphinx_engine import jsgf_grammar
from companion.listening.recognisers import Recogniser, TimedWord, Word, check_phrase
from companion.listening.speech_in import Listener
from companion.listening.utterance import CommandGate, Endpointer, SelfVoice

EN = load_vocabulary("en")


def ws(text: str, confidence: float = 1.0) -> list[Word]:
    return [Word(w, confidence) for w in words_of(text)]


@pytest.mark.parametrize(
    ("said", "command"),
    [
        ("pause", CommandName.PAUSE),
        ("let's pause", CommandName.PAUSE),
        ("pause please", CommandName.PAUSE),
        ("can we take a break", CommandName.TIMEOUT),
        ("time out", CommandName.TIMEOUT),
        ("okay resume", CommandName.RESUME),
        ("next", CommandName.NEXT),
        ("go back", CommandName.BACK),
        ("repeat that please", CommandName.REPEAT),
        ("slow down", CommandName.SLOWER),
        ("stop", CommandName.STOP),
        ("we need more time", CommandName.MORE_TIME),
        ("let's come back", CommandName.RETURN),
        ("i'm ready", CommandName.READY),
    ],
)
def test_a_whole_command_phrase_with_polite_words_is_a_command(
    said: str, command: CommandName
) -> None:
    match = EN.match(words_of(said))
    assert match is not None and match.command == command


@pytest.mark.parametrize(
    "said",
    [
        "don't tell me to stop",
        "i need a break from your attitude",
        "next time listen to me",
        "we can pause later but not now",
        "stop stop",
        "please please please pause please",
        "",
    ],
)
def test_a_command_word_inside_a_longer_sentence_is_not_a_command(said: str) -> None:
    assert EN.match(words_of(said)) is None


def test_the_gate_ignores_command_words_below_the_confidence_threshold() -> None:
    gate = CommandGate(EN, min_confidence=0.6)
    assert gate.decide(ws("pause", 0.9)) is not None
    assert gate.decide(ws("pause", 0.4)) is None
    # Only the command's own words count: an unsure filler does not block it.
    assert gate.decide([Word("please", 0.2), Word("pause", 0.9)]) is not None


def test_the_companions_own_words_never_make_a_command() -> None:
    gate = CommandGate(EN)
    own = frozenset(words_of("Let's pause here and take a break."))
    # Even when another voice was heard too: the command words are the companion's.
    assert gate.decide(ws("let's pause"), own, other_voice=True) is None
    assert gate.decide(ws("take a break"), own, other_voice=True) is None
    assert gate.decide(ws("pause here and take a break"), own, other_voice=True) is None


def test_a_partner_talking_over_the_companion_can_still_command_it() -> None:
    gate = CommandGate(EN)
    own = frozenset(words_of("Breathe in slowly through your nose."))
    # The echo canceller heard another voice; the companion's own words are set aside.
    match = gate.decide(ws("breathe in slowly through pause"), own, other_voice=True)
    assert match is not None and match.command == CommandName.PAUSE
    match = gate.decide(ws("slowly through your nose stop please"), own, other_voice=True)
    assert match is not None and match.command == CommandName.STOP
    # A command sharing a word with the line is the partner's by its other word.
    own = frozenset(words_of("Let your weight rest on the chair."))
    match = gate.decide(ws("hold on"), own, other_voice=True)
    assert match is not None and match.command == CommandName.PAUSE
    # Not by a short word: with "hold" in the line, its echo was heard as "hold on".
    own = frozenset(words_of("Hold your breath for a count of seven."))
    assert gate.decide(ws("hold on"), own, other_voice=True) is None


def test_over_the_companions_voice_only_a_voice_the_echo_canceller_heard_can_command() -> None:
    gate = CommandGate(EN)
    own = frozenset(words_of("Notice your shoulders, and let them soften."))
    # What is left of the companion's echo can sound like anything, even a command.
    assert gate.decide(ws("pause"), own, other_voice=False) is None
    match = gate.decide(ws("pause"), own, other_voice=True)
    assert match is not None and match.command == CommandName.PAUSE
    # Without an echo reference (None) nothing can be told apart: the safe side.
    assert gate.decide(ws("pause"), own, other_voice=None) is None
    # While the companion is silent (no echo to tell apart: None) its echo is no concern.
    assert gate.decide(ws("pause"), frozenset(), other_voice=None) is not None
    # Its echo outlasts its words: speech in the echo's tail must be another voice too.
    assert gate.decide(ws("pause"), frozenset(), other_voice=False) is None
    assert not gate.may_stop_voice((), frozenset(), other_voice=False)


def test_the_echo_of_a_line_past_its_words_still_needs_another_voice_heard_over_it() -> None:
    own = SelfVoice()
    # The line ended over 0.6 s ago (no own words), but its echo still reaches the mic.
    own.count_other(False, unsure=False, echo=True)
    assert own.other_voice(echo_on=True, blocks_needed=2) is False
    own.take()
    # Quiet from the companion: nothing of its own to tell a voice apart from.
    own.count_other(False, unsure=False, echo=False)
    assert own.other_voice(echo_on=True, blocks_needed=2) is None


def test_only_a_command_that_stops_the_voice_may_hold_it_before_the_utterance_ends() -> None:
    gate = CommandGate(EN)

    def interrupting(
        words: Sequence[str], own: frozenset[str] = frozenset(), other_voice: bool | None = None
    ) -> bool:
        return gate.stops_voice(gate.so_far(words, own, other_voice))

    for said in ("pause", "let's pause", "stop", "time out"):
        assert interrupting(words_of(said)), said
    # These wait for the decision: over the voice they would not be obeyed anyway.
    for said in ("next", "resume", "repeat that", "stop talking"):
        assert not interrupting(words_of(said)), said
    own = frozenset(words_of("Notice your shoulders, and let them soften."))
    assert not interrupting(words_of("pause"), own, other_voice=False)
    assert interrupting(words_of("pause"), own, other_voice=True)


def test_words_so_far_that_may_still_become_a_stopping_command_may_hold_the_voice() -> None:
    gate = CommandGate(EN)
    # Partial results are provisional: nothing yet, fillers or part of a phrase rule
    # nothing out; a stopping command already formed is the clearest case.
    for so_far in ("", "let's", "can we", "time", "pause", "stop please"):
        assert gate.may_stop_voice(words_of(so_far)), so_far
    # A word in no command or filler phrase rules a command out, as does a command that
    # does not stop the voice, or more words than any command with its fillers.
    for so_far in (
        "stop talking",
        "you never",
        "next",
        "resume",
        "okay so um we need more time now please",
    ):
        assert not gate.may_stop_voice(words_of(so_far)), so_far
    own = frozenset(words_of("Notice your shoulders, and let them soften."))
    assert not gate.may_stop_voice(words_of("notice"), own, other_voice=False)
    assert gate.may_stop_voice(words_of("notice"), own, other_voice=True)


def test_self_voice_remembers_lines_played_during_the_utterance_and_a_short_tail() -> None:
    voice = SelfVoice(tail_seconds=0.5)
    voice.observe(SpeakingNow("Take a break.", ended_at=float("-inf")), now=10.0)
    voice.observe(SpeakingNow("", ended_at=10.2), now=10.5)
    assert voice.take() == frozenset({"take", "a", "break"})
    voice.observe(SpeakingNow("", ended_at=10.2), now=10.6)  # still within the tail
    assert voice.take() == frozenset({"take", "a", "break"})
    voice.observe(SpeakingNow("", ended_at=10.2), now=11.0)  # tail over: nothing is own
    assert voice.take() == frozenset()


def test_a_line_followed_at_once_by_another_still_counts_as_its_own_for_the_tail() -> None:
    # "If you feel light-headed, stop, and breathe..." then the cue "out" at once: the echo
    # of "stop" ends after "out" began, and must not be taken for a partner's stop.
    voice = SelfVoice(tail_seconds=0.5)
    voice.observe(SpeakingNow("Stop if you feel dizzy.", ended_at=float("-inf")), now=10.0)
    voice.take()
    voice.observe(SpeakingNow("Out.", ended_at=10.2), now=10.3)
    assert "stop" in voice.take()
    voice.observe(SpeakingNow("Out.", ended_at=10.2), now=11.0)  # tail over
    assert voice.take() == frozenset({"out"})


def test_endpointer_tracks_speech_then_quiet_against_the_noise_floor() -> None:
    ep = Endpointer()
    for _ in range(20):
        ep.update(50.0, 0.05)  # room noise
    assert not ep.in_utterance
    for _ in range(10):
        assert ep.update(3000.0, 0.05)
    for _ in range(4):
        assert not ep.update(60.0, 0.05)
    assert ep.in_utterance
    assert ep.quiet_seconds == pytest.approx(0.2)
    assert ep.speech_seconds == pytest.approx(0.5)
    ep.reset()
    assert not ep.in_utterance and ep.quiet_seconds == 0.0


def test_endpointer_does_not_call_what_is_left_of_the_companions_echo_speech() -> None:
    ep = Endpointer()
    for _ in range(20):
        ep.update(50.0, 0.05)  # room noise
    # The companion speaks at 8000 (predicted echo); cancelling leaves 1/40 of it.
    for _ in range(20):
        assert not ep.update(200.0, 0.05, echo_rms=8000.0)
    assert ep.floor == pytest.approx(50.0)  # cancelled echo says nothing about the room
    # A partner over it stands out, when the canceller heard them over the echo.
    assert ep.update(3000.0, 0.05, echo_rms=8000.0, over_echo=True)
    # As loud, but nobody over the echo: the companion's own voice, badly cancelled.
    ep.reset()
    assert not ep.update(3000.0, 0.05, echo_rms=8000.0, over_echo=False)


def test_endpointer_does_not_call_steady_noise_speech() -> None:
    ep = Endpointer()
    speech = [ep.update(800.0, 0.05) for _ in range(200)]  # a loud fan, 10 s
    assert not any(speech[1:])


def talking_room(seconds: float, level: float, seed: int) -> list[float]:
    """Block levels (50 ms) of a TV or several people talking on and on, as measured on
    voices reading at once: a level that never falls to quiet, dipping up to 15 dB below
    its median between words and rising about 6 dB above it."""
    rng = np.random.default_rng(seed)
    blocks = round(seconds / 0.05)
    db = rng.normal(0.0, 2.5, blocks) - rng.exponential(3.0, blocks)
    return list(level * 10 ** (db / 20))


def test_an_utterance_ends_when_the_partner_stops_though_a_tv_talks_on() -> None:
    ep = Endpointer()
    for rms in talking_room(10.0, 1000.0, seed=1):
        ep.update(rms, 0.05)
    assert ep.background > 0.0  # the room is talking: its level is the bar now
    ep.reset()
    # A partner, nearer and about 12 dB louder than the TV, says a command...
    for _ in range(12):
        assert ep.update(4000.0, 0.05)
    # ...and stops; the TV goes on, and the utterance is over within a second.
    for rms in talking_room(1.0, 1000.0, seed=2):
        ep.update(rms, 0.05)
    assert ep.quiet_seconds >= 0.6


def test_the_tv_alone_starts_no_utterance_once_its_level_is_known() -> None:
    ep = Endpointer()
    for rms in talking_room(10.0, 1000.0, seed=3):
        ep.update(rms, 0.05)
    ep.reset()
    speech = [ep.update(rms, 0.05) for rms in talking_room(20.0, 1000.0, seed=4)]
    assert sum(speech) <= 0.02 * len(speech)


def test_a_room_with_quiet_moments_has_no_background_bar() -> None:
    # Two people talking with pauses between sentences: the noise floor alone decides.
    ep = Endpointer()
    for _ in range(5):
        for rms in [50.0] * 10 + talking_room(2.0, 3000.0, seed=5):
            ep.update(rms, 0.05)
        assert ep.background == 0.0


def test_a_signal_word_adds_a_timeout_phrase() -> None:
    vocab = EN.with_phrase(CommandName.TIMEOUT, "Pineapple")
    match = vocab.match(words_of("pineapple please"))
    assert match is not None and match.command == CommandName.TIMEOUT


class FakeEngine:
    """Knows a fixed word list; stands in for a model in word-check specifications."""

    name = "vosk"

    def __init__(self, words: set[str]) -> None:
        self._words = words

    def knows(self, word: str) -> bool:
        return word in self._words

    def phones(self, word: str) -> int:
        return len(word)

    def recogniser(self, vocab: Vocabulary, rate: int) -> Recogniser:
        raise AssertionError("a word check makes no recogniser")


def test_check_phrase_says_plainly_when_a_signal_word_cannot_be_recognised() -> None:
    engine = FakeEngine({"red", "light"})
    assert check_phrase(engine, "red light") == "“red light” can be recognised."
    message = check_phrase(engine, "red zorblax")
    assert "does not know “zorblax”" in message and "choose another word" in message


def test_a_signal_word_that_is_already_a_command_is_refused_plainly() -> None:
    engine = FakeEngine({"stop", "please", "time", "out", "red", "light"})
    assert check_phrase(engine, "stop please", EN) == (
        "“stop please” already means “stop”, so it cannot call a break; choose another word."
    )
    # One that already calls a break is simply recognised.
    assert check_phrase(engine, "time out", EN) == "“time out” can be recognised."
    assert check_phrase(engine, "red light", EN) == "“red light” can be recognised."


def test_every_language_file_parses_and_names_only_engine_commands() -> None:
    assert {"en", "ko"} <= set(available_languages())
    for language in available_languages():
        vocab = load_vocabulary(language)
        assert vocab.commands[CommandName.PAUSE]
        assert vocab.commands[CommandName.STOP]


def test_a_language_is_added_by_a_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "xx.toml"
    path.write_text('language = "xx"\n[commands]\npause = ["pausa"]\nstop = ["basta"]\n')
    vocab = load_vocabulary(path=path)
    match = vocab.match(["basta"])
    assert match is not None and match.command == CommandName.STOP


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[commands]\npause = ["p"]', "expected `language"),
        ('language = "en"\n[commands]\nsnooze = ["zz"]', "unknown command 'snooze'"),
        ('language = "en"\n[commands]\npause = "pause"', "commands.pause: expected a list"),
        ('language = "en"', "expected a [commands] table"),
        ("language = ", "vocab.toml:"),
    ],
)
def test_a_malformed_vocabulary_says_what_and_where(text: str, expected: str) -> None:
    with pytest.raises(VocabularyError, match=None) as error:
        parse_vocabulary(text, "vocab.toml")
    assert expected in str(error.value)
    assert str(error.value).startswith("vocab.toml")


def test_the_pocketsphinx_grammar_keeps_command_words_out_of_ordinary_sentences() -> None:
    phrases = EN.phrases()
    grammar = jsgf_grammar(phrases, EN, ["really", "pause"])
    other = grammar.split("<other> = ")[1]
    assert "really" in other
    assert "pause" not in other.split()  # a sentence cannot borrow a command word


class ScriptedRecogniser:
    """Returns prepared words: lets the thread's wiring be specified.

    `words` is what it hears; `first` (if given) is what it hears before `first_blocks`
    blocks were fed, as a recogniser's guess changes while a sentence goes on.
    """

    engine = "pocketsphinx"

    def __init__(
        self, rate: int, words: Sequence[str], first: Sequence[str] = (), first_blocks: int = 0
    ) -> None:
        self.rate = rate
        self.words = list(words)
        self.first = tuple(first)
        self.first_blocks = first_blocks
        self.fed = 0

    def accept(self, chunk: bytes) -> list[Word] | None:
        self.fed += 1
        return None

    def partial(self) -> tuple[str, ...]:
        return self.first if self.fed < self.first_blocks else tuple(self.words)

    def finish(self) -> list[Word]:
        return [Word(w, 1.0) for w in self.words]

    def second_opinion(self) -> list[TimedWord] | None:
        return None  # no second question: the closed answer stands alone


class ScriptedEngine:
    name = "pocketsphinx"

    def __init__(self, words: Sequence[str], first: Sequence[str] = (), first_blocks: int = 0):
        self.words = words
        self.first = first
        self.first_blocks = first_blocks

    def knows(self, word: str) -> bool:
        return True

    def phones(self, word: str) -> int:
        return 3

    def recogniser(self, vocab: object, rate: int) -> ScriptedRecogniser:
        return ScriptedRecogniser(rate, self.words, self.first, self.first_blocks)


class BlockSource:
    """Blocks of a loud burst in quiet: a stand-in for a microphone."""

    rate = 16_000
    overflows = 0
    captured_at: float | None = None

    def __init__(self, loud_blocks: Container[int], total: int) -> None:
        self.loud = loud_blocks
        self.total = total
        self.i = 0

    def open(self) -> None:
        pass

    def read(self, timeout: float) -> bytes | None:
        if self.i >= self.total:
            return None
        level = 5000 if self.i in self.loud else 10
        self.i += 1
        return (level.to_bytes(2, "little", signed=True) * 800)[:1600]

    def close(self) -> None:
        pass


def hear_pause_in_blocks_20_to_30(settings: ListenSettings) -> tuple[list[Heard], Listener]:
    """What a listener with `settings` heard of "pause" said in blocks 20-29 of 60."""
    heard: list[Heard] = []
    listener = Listener(
        settings,
        heard.append,
        SpeakingNow,
        source=lambda: BlockSource(range(20, 30), 60),
        engine=ScriptedEngine(["pause"]),
    )
    listener.start()
    assert listener.join(timeout=10)
    return heard, listener


def test_a_complete_command_acts_after_a_short_quiet_not_the_full_endpoint() -> None:
    heard, listener = hear_pause_in_blocks_20_to_30(
        ListenSettings(engine="pocketsphinx", quick_end_seconds=0.2, end_seconds=0.6)
    )
    assert [h.command for h in heard] == [CommandName.PAUSE]
    # Speech ends at block 30 (1.5 s); 0.2 s of quiet later it acts: at 1.7 s.
    assert heard[0].at == pytest.approx(1.7, abs=0.051)
    assert listener.status().finished


def listen_to_blocks(engine: ScriptedEngine, source: BlockSource) -> list[tuple[str, float]]:
    """What the listener did, in order: ("hold" | "release" | a command, audio seconds)."""
    done: list[tuple[str, float]] = []
    listener = Listener(
        ListenSettings(engine="pocketsphinx"),
        lambda heard: done.append((str(heard.command), heard.at)),
        SpeakingNow,
        source=lambda: source,
        engine=engine,
        on_hold=lambda held: done.append(("hold" if held else "release", source.i * 0.05)),
    )
    listener.start()
    assert listener.join(timeout=10)
    return done


def test_the_voice_is_held_at_the_first_quiet_after_pause_and_released_once_decided() -> None:
    done = listen_to_blocks(ScriptedEngine(["pause"]), BlockSource(range(20, 30), 60))
    # Speech ends at 1.5 s: one quiet block later the voice is held; with the voice held,
    # the command is decided after 0.2 s of quiet and passed on before it is released.
    assert [what for what, _ in done] == ["hold", "pause", "release"]
    assert done[0][1] == pytest.approx(1.55)
    assert done[1][1] == pytest.approx(1.7, abs=0.01)


def test_a_command_in_the_couples_own_talk_waits_a_little_longer_than_over_the_voice() -> None:
    # No voice to hold: "we need a break ... from all this" must not be cut at its breath.
    heard, _ = hear_pause_in_blocks_20_to_30(ListenSettings(engine="pocketsphinx"))
    assert [h.command for h in heard] == [CommandName.PAUSE]
    assert heard[0].at == pytest.approx(1.75, abs=0.01)


def test_a_sentence_that_began_like_a_command_releases_the_voice_and_commands_nothing() -> None:
    # "stop ... talking to me like that": a breath after "stop", then the sentence goes on.
    # 13 blocks are fed by the first quiet one (6 of preroll, 7 of speech).
    engine = ScriptedEngine(["stop", "talking", "to", "me"], first=["stop"], first_blocks=14)
    done = listen_to_blocks(engine, BlockSource(set(range(20, 26)) | set(range(28, 40)), 70))
    assert [what for what, _ in done] == ["hold", "release"]
    # Released as soon as the words rule a command out, not when the sentence ends (2 s).
    assert done[1][1] < 1.5


def test_a_short_utterance_holds_the_voice_even_before_its_words_are_known() -> None:
    # Some recognisers show a command only in the final result: the partial stays empty.
    engine = ScriptedEngine(["stop"], first=[], first_blocks=1000)
    done = listen_to_blocks(engine, BlockSource(range(20, 30), 60))
    assert [what for what, _ in done] == ["hold", "stop", "release"]
    assert done[0][1] == pytest.approx(1.55)
    # Without a complete command so far, the decision waits for the full endpoint (0.6 s).
    assert done[1][1] == pytest.approx(2.1, abs=0.051)


def test_longer_speech_over_the_voice_lets_it_play_on() -> None:
    # 1.5 s of speech is longer than a command takes to say (`hold_within_seconds`).
    engine = ScriptedEngine(["stop"], first=[], first_blocks=1000)
    done = listen_to_blocks(engine, BlockSource(range(20, 50), 80))
    assert [what for what, _ in done] == ["stop"]
    assert done[0][1] == pytest.approx(3.1, abs=0.051)


def test_a_failing_model_leaves_the_mic_off_with_one_sentence(tmp_path: Path) -> None:
    listener = Listener(
        ListenSettings(engine="vosk", model_path=tmp_path / "nothing-here"),
        lambda heard: None,
        SpeakingNow,
        source=lambda: BlockSource(range(0), 1),
    )
    listener.start()
    assert listener.join(timeout=10)
    status = listener.status()
    assert not status.on and status.engine == "off"
    assert "companion model download" in status.reason and "\n" not in status.reason


def test_engine_off_starts_nothing_and_says_so() -> None:
    listener = Listener(ListenSettings(engine="off"), lambda heard: None, SpeakingNow)
    listener.start()
    status = listener.status()
    assert (status.on, status.engine) == (False, "off")
    assert "buttons and keys still work" in status.reason
    listener.close()


def opinion(*words: str, seconds: float = 0.2) -> list[TimedWord]:
    return [TimedWord(w, seconds) for w in words]


def confirmed(closed: str, open_words: list[TimedWord] | None, own: str = "") -> bool:
    gate = CommandGate(EN)
    match = gate.decide([Word(w, 1.0) for w in closed.split()])
    assert match is not None, closed
    return gate.confirmed(match, open_words, frozenset(own.split()))


def test_a_command_stands_when_the_open_transcript_hears_it_with_fillers_or_a_stray_word() -> None:
    assert confirmed("pause", opinion("pause"))
    assert confirmed("let's pause please", opinion("let's", "pause", "please"))
    assert confirmed("keep going", opinion("keep", "going", "you", seconds=0.15))


def test_a_sentence_squeezed_into_a_command_is_dropped_when_the_open_transcript_hears_more() -> (
    None
):
    # "i need a break from your attitude": fillers soaked up the end in the closed grammar.
    heard = opinion("i", "need", "a", "break", "from", "your", "attitude")
    assert not confirmed("i need a break then please", heard)
    # One word, but a long one: the rest of a sentence, not the engine's noise.
    assert not confirmed(
        "can we go back okay", opinion("can", "we", "go", "back", "home", seconds=0.5)
    )
    # The command is not even in the open transcript.
    assert not confirmed("take a break", opinion("think", "really", "a", "break"))


def test_the_companions_own_words_in_the_open_transcript_do_not_count_against_a_command() -> None:
    heard = opinion("breathe", "in", "slowly", "pause")
    assert confirmed("pause", heard, own="breathe in slowly")


def test_over_the_companions_voice_a_few_short_words_of_its_echo_do_not_count_against_it() -> None:
    # What is left of its echo comes out as short words around a partner's "pause".
    heard = opinion("pause", "um", "think", "but", "okay")
    assert confirmed("pause okay okay", heard, own="notice your shoulders")
    assert not confirmed("pause okay okay", heard)  # in quiet, that is a sentence
    # A sentence over the voice is still more than that.
    heard = opinion("pause", "the", "whole", "thing", "tonight", seconds=0.3)
    assert not confirmed("pause", heard, own="notice your shoulders")


def test_without_a_second_opinion_the_closed_answer_stands() -> None:
    assert confirmed("pause", None)


def test_a_listener_so_far_behind_that_the_echo_reference_is_gone_trusts_no_other_voice() -> None:
    # A starved machine: blocks come seconds after they were captured, and the voice keeps
    # only the last 5 s it played. What played before that would be missing from the echo
    # reference, and the companion's own voice would pass for someone else's.
    now = 100.0
    voice = np.full(5 * 16_000, 1000, dtype=np.int16)
    over = OverVoice(16_000, lambda seconds: PlayedAudio(voice, 16_000, now), lambda: now)
    block = np.zeros(800, dtype=np.float32)
    over.clean(block, now - 0.3, now - 0.3)  # the usual: a block and the device's latency
    assert not over.lagging
    over.clean(block, now - 3.5, now - 3.5)
    assert over.lagging and over.unsure
    over.clean(block, now - 0.3, now - 0.3)  # caught up
    assert not over.lagging


def test_a_listener_whose_canceller_never_learns_the_room_asks_for_all_the_voice_keeps() -> None:
    # Device times can put the echo outside the canceller's delay search; after a few
    # seconds of its voice unlearned, the echo is looked for in all that was played.
    asked: list[float] = []

    def played(seconds: float) -> PlayedAudio:
        asked.append(seconds)
        noise = np.random.default_rng(len(asked)).integers(-3000, 3000, 5 * 16_000)
        return PlayedAudio(noise.astype(np.int16), 16_000, now)

    now = 100.0
    over = OverVoice(16_000, played, lambda: now)
    silence = np.zeros(800, dtype=np.float32)  # the microphone hears none of it
    for _ in range(round(LOST_SECONDS / 0.05) + 1):
        over.clean(silence, now - 0.3, now - 0.3)
        now += 0.05
    assert max(asked[:-1]) < SEARCH_REACH_SECONDS <= asked[-1]


def test_holding_the_voice_before_any_word_is_decoded_needs_twice_the_other_voice() -> None:
    own = SelfVoice()
    for _ in range(2):
        own.count_other(True, unsure=False, echo=True)
    assert own.other_voice_for_hold(echo_on=True, blocks_needed=2, decoded=True)
    assert own.other_voice_for_hold(echo_on=True, blocks_needed=2, decoded=False) is False
    for _ in range(2):
        own.count_other(True, unsure=False, echo=True)
    assert own.other_voice_for_hold(echo_on=True, blocks_needed=2, decoded=False)


def test_another_voice_heard_while_the_canceller_is_unsure_counts_once_it_is_sure() -> None:
    own = SelfVoice()
    own.count_other(True, unsure=True)
    own.count_other(True, unsure=True)
    assert not own.other_voice(echo_on=True, blocks_needed=2)  # it may be its own echo
    own.count_other(False, unsure=False)  # the canceller is sure: the echo did not move
    assert own.other_voice(echo_on=True, blocks_needed=2)
    own.take()
    own.count_other(True, unsure=True)
    own.count_other(True, unsure=True)
    own.own_echo_after_all()  # it was: the echo had moved
    own.count_other(False, unsure=False)
    assert not own.other_voice(echo_on=True, blocks_needed=2)
