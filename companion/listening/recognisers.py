"""Speech recognisers behind one small interface: vosk (preferred) and pocketsphinx (fallback).

Both decode with a closed grammar built from a `Vocabulary`: the command phrases, the
filler words and a set of everyday decoy words, so speech that is not a command comes out
as other words instead of being forced onto command words. Whether an utterance *is* a
command is decided elsewhere (`Vocabulary.match`), on the whole utterance.

A closed grammar always answers with one of its phrases: "I need a break from your
attitude" comes out as "i need a break then please", the filler words soaking up the
rest. pocketsphinx therefore also asks a second, more open question of the same audio
(`second_opinion`): a grammar in which a command may come with other words around it, so
that the rest of a sentence is heard as words rather than as fillers.
Engines are imported only when a recogniser is built: nothing heavy at import.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from companion.audio.resample import Resampler
from companion.core.effects import CommandName
from companion.core.errors import CompanionError
from companion.listening.commands_vocab import Vocabulary, words_of

log = logging.getLogger(__name__)

POCKETSPHINX_RATE = 16_000
"""The bundled pocketsphinx model's sample rate; other rates are resampled to it."""


class ModelError(CompanionError):
    """A speech model is missing or cannot be loaded."""


@dataclass(frozen=True)
class Word:
    """One recognised word and the engine's confidence in it (0..1)."""

    text: str
    confidence: float


@dataclass(frozen=True)
class TimedWord:
    """A word of the second, open transcript and how long it lasted."""

    text: str
    seconds: float


class Recogniser(Protocol):
    """Streaming recognition of one utterance at a time (owned by one thread)."""

    engine: str
    rate: int

    def accept(self, chunk: bytes) -> list[Word] | None:
        """Feed audio; returns the words when the engine itself ended an utterance."""
        ...

    def partial(self) -> tuple[str, ...]:
        """The words heard so far in the current utterance (may still change)."""
        ...

    def finish(self) -> list[Word]:
        """End the current utterance now and return its words; the next one starts."""
        ...

    def second_opinion(self) -> list[TimedWord] | None:
        """The open transcript of the utterance `finish` last ended; None when this
        engine asks no second question (its closed answer then stands alone)."""
        ...


class Engine(Protocol):
    """A loaded model: makes recognisers and checks words (load once, share read-only)."""

    name: str

    def recogniser(self, vocab: Vocabulary, rate: int) -> Recogniser:
        """A fresh recogniser for `vocab` at `rate` samples per second."""
        ...

    def knows(self, word: str) -> bool:
        """Whether `word` is in the model's dictionary."""
        ...

    def phones(self, word: str) -> int:
        """How many sounds `word` has (short decoys like "a" or "is" soak up any noise)."""
        ...


def unknown_words(engine: Engine, phrase: str) -> list[str]:
    """The words of `phrase` the engine cannot recognise (empty: it can)."""
    return [w for w in words_of(phrase) if not engine.knows(w)]


def phrase_problem(engine: Engine, phrase: str, vocab: Vocabulary | None = None) -> str | None:
    """Why the couple's signal phrase cannot call a break, in one plain sentence; None when
    it can. Given the command vocabulary, a phrase that means another command cannot."""
    words = words_of(phrase)
    if not words:
        return "Say a word or short phrase to use as your signal."
    taken = vocab.match(words) if vocab is not None else None
    if taken is not None and taken.command is not CommandName.TIMEOUT:
        return (
            f"“{phrase}” already means “{taken.command.value}”, so it cannot call a break; "
            "choose another word."
        )
    missing = unknown_words(engine, phrase)
    if missing:
        listed = ", ".join(f"“{w}”" for w in missing)
        return (
            f"The {engine.name} speech model does not know {listed}, so “{phrase}” cannot be "
            "recognised; choose another word."
        )
    return None


def recognisable(phrase: str) -> str:
    """The sentence for a signal phrase that can call a break."""
    return f"“{phrase}” can be recognised."


def check_phrase(engine: Engine, phrase: str, vocab: Vocabulary | None = None) -> str:
    """One plain sentence: whether the couple's signal phrase can be recognised (and, given
    the command vocabulary, whether it already means something else)."""
    return phrase_problem(engine, phrase, vocab) or recognisable(phrase)


def grammar_words(engine: Engine, vocab: Vocabulary) -> tuple[list[tuple[str, ...]], list[str]]:
    """Phrases and decoys the engine knows; decoys that are command words are dropped."""
    phrases = [p for p in vocab.phrases() if all(engine.knows(w) for w in p)]
    skipped = [p for p in vocab.phrases() if p not in phrases]
    if skipped:
        log.warning("%s model lacks words of: %s", engine.name, [" ".join(p) for p in skipped])
    used = vocab.command_words()
    decoys = sorted(
        {d for d in vocab.decoys if d not in used and engine.knows(d) and engine.phones(d) >= 3}
    )
    return phrases, decoys


# --- vosk -----------------------------------------------------------------------------


def check_vosk_model(path: Path) -> None:
    """Raise ModelError with a plain sentence if `path` is not a usable vosk model folder."""
    if not path.is_dir():
        raise ModelError(
            f"No vosk model at {path}; run `companion model download` to get the English one."
        )
    if not (path / "am" / "final.mdl").is_file() or not (path / "conf").is_dir():
        raise ModelError(
            f"The vosk model at {path} is incomplete; delete it and run "
            "`companion model download` again."
        )


class VoskEngine:
    """A loaded vosk model (hundreds of MB in memory: load once, in the background)."""

    name = "vosk"

    def __init__(self, path: Path) -> None:
        check_vosk_model(path)
        import vosk  # heavy: only when a model is really wanted

        vosk.SetLogLevel(-1)
        try:
            self._model = vosk.Model(str(path))  # always a path: vosk may download otherwise
        except Exception:  # vosk raises a bare Exception on a bad model
            raise ModelError(
                f"The vosk model at {path} cannot be loaded (corrupt?); delete it and run "
                "`companion model download` again."
            ) from None
        self.path = path

    def knows(self, word: str) -> bool:
        return int(self._model.vosk_model_find_word(word)) >= 0

    def phones(self, word: str) -> int:
        # vosk does not expose pronunciations; letters are a fair stand-in for length.
        return len(word)

    def recogniser(self, vocab: Vocabulary, rate: int) -> Recogniser:
        return VoskRecogniser(self, vocab, rate)


class VoskRecogniser:
    """vosk's KaldiRecognizer with a closed grammar (plus [unk] when the model has it)."""

    engine = "vosk"

    def __init__(self, engine: VoskEngine, vocab: Vocabulary, rate: int) -> None:
        import vosk

        phrases, decoys = grammar_words(engine, vocab)
        grammar = [" ".join(p) for p in phrases] + decoys
        if engine.knows("[unk]"):
            grammar.append("[unk]")
        self.rate = rate
        self._rec: Any = vosk.KaldiRecognizer(
            engine._model, float(rate), json.dumps(grammar, ensure_ascii=False)
        )
        self._rec.SetWords(True)

    @staticmethod
    def _words(result: str) -> list[Word]:
        # "[unk]" stays a word: something outside the grammar was said, so no match.
        return [
            Word(str(w["word"]), float(w.get("conf", 1.0)))
            for w in json.loads(result).get("result", [])
            if w.get("word")
        ]

    def accept(self, chunk: bytes) -> list[Word] | None:
        if self._rec.AcceptWaveform(chunk):
            return self._words(self._rec.Result())
        return None

    def partial(self) -> tuple[str, ...]:
        return tuple(json.loads(self._rec.PartialResult()).get("partial", "").split())

    def finish(self) -> list[Word]:
        return self._words(self._rec.FinalResult())

    def second_opinion(self) -> list[TimedWord] | None:
        return None


# --- pocketsphinx ---------------------------------------------------------------------


FILLER_TOKENS = frozenset({"<s>", "</s>", "<sil>", "(NULL)", "[NOISE]", "+NSN+", "+SPN+"})
"""pocketsphinx's segment names that are not words."""

DITHER = 64
"""Peak of the uniform noise floor added before pocketsphinx (int16 units)."""


class PocketsphinxEngine:
    """The US-English model that ships inside the pocketsphinx wheel: works out of the box."""

    name = "pocketsphinx"

    def __init__(self, verify: bool = True) -> None:
        import pocketsphinx

        self.verify = verify
        """Whether recognisers also ask the open question (`second_opinion`)."""
        try:
            # A dictionary-only decoder for word checks; recognisers build their own.
            self._dict = pocketsphinx.Decoder(samprate=POCKETSPHINX_RATE, lm=None, loglevel="FATAL")
        except Exception as error:  # a broken install: say so plainly
            raise ModelError(f"pocketsphinx cannot start: {error}.") from None

    def knows(self, word: str) -> bool:
        return self._dict.lookup_word(word) is not None

    def phones(self, word: str) -> int:
        return len((self._dict.lookup_word(word) or "").split())

    def recogniser(self, vocab: Vocabulary, rate: int) -> Recogniser:
        return PocketsphinxRecogniser(self, vocab, rate, self.verify)


OPEN_WEIGHT = 0.03
"""In the open grammar, how much less likely a command with other words around it is
than a command alone or other words alone: low, so a command said alone still comes
out alone, yet a sentence's remaining words are heard as words."""


def jsgf_grammar(
    phrases: Sequence[tuple[str, ...]],
    vocab: Vocabulary,
    decoys: Sequence[str],
    open_tail: bool = False,
) -> str:
    """A JSGF grammar: an utterance is either `[fillers] command [fillers]` or other words;
    with `open_tail`, also a command utterance with other words before or after it."""
    commands = [p for p in phrases if any(p in ps for ps in vocab.commands.values())]
    before = [p for p in phrases if p in vocab.before]
    after = [p for p in phrases if p in vocab.after]
    # Command words stay out of <other>: the decoder must choose between a command
    # utterance and a sentence of other words, and a sentence cannot borrow "stop".
    command_words = {w for p in commands for w in p}
    other = sorted((set(decoys) | {w for p in before + after for w in p}) - command_words)

    def alts(items: Sequence[tuple[str, ...]]) -> str:
        return " | ".join(" ".join(p) for p in items) or "<VOID>"

    n = max(vocab.max_filler_words, 0)
    top = "<command_utterance> | <other>"
    if open_tail:
        w = OPEN_WEIGHT
        top = (
            f"/1/ <command_utterance> | /1/ <other> | /{w}/ <command_utterance> <other> | "
            f"/{w}/ <other> <command_utterance>"
        )
    return (
        "#JSGF V1.0;\ngrammar companion;\n"
        f"public <utterance> = {top};\n"
        f"<command_utterance> = {'[<before>] ' * n}<command>{' [<after>]' * min(n, 2)};\n"
        f"<before> = {alts(before)};\n<after> = {alts(after)};\n"
        f"<command> = {alts(commands)};\n"
        f"<other> = ({' | '.join(other)})+;\n"
    )


FRAME_SECONDS = 0.01
"""pocketsphinx's frame step."""

WARM_SECONDS = 3.0
"""Speech heard before the model's normalisation fits the room and the voice. Until then
each utterance is decoded twice: the model was trained with each utterance's own mean
taken out (batch CMN, feat.params), but live decoding starts from a stock mean that fits
few microphones, so a lone first "pause" was often lost; the second pass decodes with the
mean the first just measured on this very utterance."""


def _grammar_decoder(grammar: str) -> Any:
    import pocketsphinx

    # bestpath=False: the lattice rescoring pass takes seconds on a grammar this size.
    decoder = pocketsphinx.Decoder(
        samprate=POCKETSPHINX_RATE, lm=None, loglevel="FATAL", bestpath=False
    )
    decoder.add_jsgf_string("commands", grammar)
    decoder.activate_search("commands")
    decoder.start_utt()
    return decoder


class PocketsphinxRecogniser:
    """pocketsphinx with the JSGF grammar above; the caller decides where utterances end.

    Two decoders hear the same audio as it comes: the closed grammar, whose partial and
    final words drive listening, and the open one (`second_opinion`). Both run only while
    someone speaks, so a quiet room costs no more.
    """

    engine = "pocketsphinx"

    def __init__(
        self, engine: PocketsphinxEngine, vocab: Vocabulary, rate: int, verify: bool = True
    ) -> None:
        phrases, decoys = grammar_words(engine, vocab)
        self.rate = rate
        self._resampler = Resampler(rate, POCKETSPHINX_RATE)  # one stream: no block edges
        self._decoder: Any = _grammar_decoder(jsgf_grammar(phrases, vocab, decoys))
        self._open: Any = (
            _grammar_decoder(jsgf_grammar(phrases, vocab, decoys, open_tail=True))
            if verify
            else None
        )
        self._opinion: list[TimedWord] | None = None
        self._rng = np.random.default_rng(0)
        self._heard_seconds = 0.0
        self._utterance: list[bytes] = []
        """The current utterance as decoded, kept while the model is cold (`WARM_SECONDS`)."""

    def accept(self, chunk: bytes) -> list[Word] | None:
        samples = np.frombuffer(self._resampler.process(chunk), dtype="<i2").astype(np.int32)
        # A faint noise floor (about -60 dBFS): digital silence or very clean audio throws
        # the model's normalisation off and it then hears words in nothing. Real rooms
        # always have this much noise; this makes a silent line or a clean file behave alike.
        samples += self._rng.integers(-DITHER, DITHER + 1, len(samples), dtype=np.int32)
        raw = np.clip(samples, -32768, 32767).astype("<i2").tobytes()
        if self._heard_seconds < WARM_SECONDS:
            self._utterance.append(raw)
        self._decode(raw)
        return None

    def _decode(self, raw: bytes) -> None:
        self._decoder.process_raw(raw)
        if self._open is not None:
            self._open.process_raw(raw)

    def _end_utterance(self) -> None:
        """End the utterance in both decoders; while cold, decode it again (see WARM_SECONDS)."""
        self._decoder.end_utt()
        if self._open is not None:
            self._open.end_utt()
        if not self._utterance:
            return
        audio = b"".join(self._utterance)
        self._utterance = []
        self._heard_seconds += len(audio) / 2 / POCKETSPHINX_RATE
        self._decoder.start_utt()
        if self._open is not None:
            self._open.start_utt()
        self._decode(audio)
        self._decoder.end_utt()
        if self._open is not None:
            self._open.end_utt()

    def partial(self) -> tuple[str, ...]:
        hyp = self._decoder.hyp()
        return tuple(hyp.hypstr.split()) if hyp is not None else ()

    def finish(self) -> list[Word]:
        self._end_utterance()
        hyp = self._decoder.hyp()
        # Word posteriors (seg().prob) cost a lattice pass that can take seconds on long
        # speech, and are not useful with a grammar: rejection rests on the grammar's
        # "other words" branch and on whole-utterance matching instead.
        words = [Word(w, 1.0) for w in (hyp.hypstr.split() if hyp is not None else [])]
        self._decoder.start_utt()
        if self._open is not None:
            self._opinion = [
                TimedWord(
                    seg.word.split("(")[0], (seg.end_frame - seg.start_frame + 1) * FRAME_SECONDS
                )
                for seg in (self._open.seg() or [])
                if seg.word not in FILLER_TOKENS
            ]
            self._open.start_utt()
        return words

    def second_opinion(self) -> list[TimedWord] | None:
        return self._opinion


# --- choosing -------------------------------------------------------------------------


def default_vosk_path() -> Path:
    """Where `companion model download` puts the English vosk model."""
    from companion.listening.models import default_model_dir

    return default_model_dir()


def load_engine(name: str, vosk_path: Path | None) -> tuple[Engine, str]:
    """Load `name` ("auto", "vosk", "pocketsphinx"); returns the engine and a status note.

    "auto" prefers vosk and falls back to pocketsphinx, saying how to get the better one.
    Raises ModelError when the asked-for engine cannot be loaded.
    """
    path = vosk_path or default_vosk_path()
    if name == "vosk":
        return VoskEngine(path), f"Listening with vosk ({path.name})."
    if name == "pocketsphinx":
        return PocketsphinxEngine(), "Listening with pocketsphinx (built-in English model)."
    if name != "auto":
        raise ModelError(f"Unknown engine {name!r}; choose vosk, pocketsphinx or off.")
    try:
        return VoskEngine(path), f"Listening with vosk ({path.name})."
    except ModelError as error:
        log.info("vosk unavailable: %s", error)
        return PocketsphinxEngine(), (
            "Listening with the basic built-in recogniser; run `companion model download` "
            "for better recognition."
        )
