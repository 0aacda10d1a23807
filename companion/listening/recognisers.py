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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from companion.core.effects import CommandName
from companion.core.errors import CompanionError
from companion.listening.commands_vocab import Vocabulary, words_of

log = logging.getLogger(__name__)


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


class SpeechEngine(Protocol):
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


def unknown_words(engine: SpeechEngine, phrase: str) -> list[str]:
    """The words of `phrase` the engine cannot recognise (empty: it can)."""
    return [w for w in words_of(phrase) if not engine.knows(w)]


def phrase_problem(
    engine: SpeechEngine, phrase: str, vocab: Vocabulary | None = None
) -> str | None:
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


def check_phrase(engine: SpeechEngine, phrase: str, vocab: Vocabulary | None = None) -> str:
    """One plain sentence: whether the couple's signal phrase can be recognised (and, given
    the command vocabulary, whether it already means something else)."""
    return phrase_problem(engine, phrase, vocab) or recognisable(phrase)


def grammar_words(
    engine: SpeechEngine, vocab: Vocabulary
) -> tuple[list[tuple[str, ...]], list[str]]:
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


def default_vosk_path() -> Path:
    """Where `companion model download` puts the English vosk model."""
    from companion.listening.models import default_model_dir

    return default_model_dir()


def load_engine(
    name: str, vosk_path: Path | None, child_process: bool = False
) -> tuple[SpeechEngine, str]:
    """Load `name` ("auto", "vosk", "pocketsphinx"); returns the engine and a status note.

    "auto" prefers vosk and falls back to pocketsphinx, saying how to get the better one.
    With `child_process`, pocketsphinx decodes in a child process (it holds Python's lock
    while it decodes; vosk releases it); the caller then closes the engine when done.
    Raises ModelError when the asked-for engine cannot be loaded.
    """
    from companion.listening.pocketsphinx_engine import PocketsphinxEngine

    def pocketsphinx() -> SpeechEngine:
        if not child_process:
            return PocketsphinxEngine()
        from companion.listening.child_process import ChildProcessEngine

        return ChildProcessEngine(PocketsphinxEngine.name, PocketsphinxEngine)

    path = vosk_path or default_vosk_path()
    if name == "vosk":
        return VoskEngine(path), f"Listening with vosk ({path.name})."
    if name == "pocketsphinx":
        return pocketsphinx(), "Listening with pocketsphinx (built-in English model)."
    if name != "auto":
        raise ModelError(f"Unknown engine {name!r}; choose vosk, pocketsphinx or off.")
    try:
        return VoskEngine(path), f"Listening with vosk ({path.name})."
    except ModelError as error:
        log.info("vosk unavailable: %s", error)
        return pocketsphinx(), (
            "Listening with the basic built-in recogniser; run `companion model download` "
            "for better recognition."
        )
