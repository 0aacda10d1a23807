"""Spoken command vocabularies: one TOML file per language, and whole-utterance matching.

A command fires only when the *whole* utterance is a command phrase, optionally wrapped in
a few polite or filler words ("let's pause", "pause please"). The same word inside a longer
sentence never matches. Pure data and functions: no audio, no recogniser.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from companion.core.effects import CommandName
from companion.core.errors import CompanionError

VOCAB_DIR = Path(__file__).parent / "vocab"
"""Where the built-in vocabulary files live, one `<language>.toml` each."""

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*", re.UNICODE)

SIGNAL_MAX_CHARS = 40
SIGNAL_MAX_WORDS = 4
"""A signal is said in a heated moment: a word or a short phrase, never a sentence."""
SIGNAL_OFF_NOTE = "Listening is off, so the word cannot be checked now."
SIGNAL_LOADING_NOTE = (
    "The speech model is still loading; the word will be checked when it is ready."
)


class VocabularyError(CompanionError):
    """A vocabulary file is missing or malformed."""


class SignalPhraseError(ValueError):
    """A signal word or phrase cannot be used as typed; `str()` says why in one sentence."""


def words_of(text: str) -> tuple[str, ...]:
    """Lower-case words of `text`, keeping inner apostrophes ("let's") and any script."""
    return tuple(_WORD.findall(text.lower().replace("\u2019", "'")))


def clean_signal_phrase(text: str) -> str:
    """`text` trimmed, with single spaces ("" means no signal word); raises SignalPhraseError.

    Only letters, spaces and apostrophes: a speech model has no words with digits or
    symbols in them, so such a phrase could never be heard.
    """
    phrase = " ".join(text.split())
    if len(phrase) > SIGNAL_MAX_CHARS:
        raise SignalPhraseError(f"A break word must be at most {SIGNAL_MAX_CHARS} characters.")
    if len(phrase.split()) > SIGNAL_MAX_WORDS:
        raise SignalPhraseError(f"A break word must be at most {SIGNAL_MAX_WORDS} words.")
    for char in phrase:
        if char not in " '\u2019" and unicodedata.category(char)[0] not in "LM":
            shown = f"“{char}”" if char.isprintable() else f"U+{ord(char):04X}"
            raise SignalPhraseError(
                f"A break word may use only letters, spaces and apostrophes, not {shown}."
            )
    if phrase and not words_of(phrase):
        raise SignalPhraseError("A break word needs at least one letter.")
    return phrase


@dataclass(frozen=True)
class Match:
    """A whole utterance recognised as a command."""

    command: CommandName
    phrase: tuple[str, ...]
    """The command phrase's words, without the filler words around it."""
    start: int
    """Index of the phrase's first word in the utterance."""


@dataclass(frozen=True)
class Vocabulary:
    """Command phrases, filler words allowed around them, and decoys for one language."""

    language: str
    commands: dict[CommandName, tuple[tuple[str, ...], ...]]
    before: tuple[tuple[str, ...], ...]
    """Filler phrases allowed before a command ("let's", "can we")."""
    after: tuple[tuple[str, ...], ...]
    """Filler phrases allowed after a command ("please", "now")."""
    decoys: tuple[str, ...]
    """Everyday words the recogniser may choose instead of a command word.

    A closed grammar forces any speech onto its words, so without these a sentence is
    squeezed into command words; with them it comes out as a non-command utterance.
    """
    max_filler_words: int = 3

    def with_phrase(self, command: CommandName, phrase: str) -> Vocabulary:
        """A copy that also accepts `phrase` for `command` (e.g. the couple's signal word)."""
        words = words_of(phrase)
        if not words or words in self.commands.get(command, ()):
            return self
        commands = dict(self.commands)
        commands[command] = (*commands.get(command, ()), words)
        return Vocabulary(
            self.language, commands, self.before, self.after, self.decoys, self.max_filler_words
        )

    def phrases(self) -> list[tuple[str, ...]]:
        """Every command and filler phrase, longest first."""
        found = (
            {p for ps in self.commands.values() for p in ps} | set(self.before) | set(self.after)
        )
        return sorted(found, key=lambda p: (-len(p), p))

    def words(self) -> set[str]:
        """Every word the command and filler phrases use."""
        return {w for p in self.phrases() for w in p}

    def command_words(self) -> set[str]:
        """Every word that appears in some command phrase."""
        return {w for ps in self.commands.values() for p in ps for w in p}

    def match(self, words: Sequence[str]) -> Match | None:
        """The command if the whole utterance is `filler* phrase filler*`, else None."""
        n = len(words)
        best: Match | None = None
        for command, phrases in self.commands.items():
            for phrase in phrases:
                k = len(phrase)
                for start in range(n - k + 1):
                    if tuple(words[start : start + k]) != phrase:
                        continue
                    head, tail = words[:start], words[start + k :]
                    if len(head) + len(tail) > self.max_filler_words:
                        continue
                    # Prefer the longest phrase: "go back" over "back".
                    longer = best is None or len(phrase) > len(best.phrase)
                    if longer and _covers(head, self.before) and _covers(tail, self.after):
                        best = Match(command, phrase, start)
        return best


def _covers(words: Sequence[str], fillers: Iterable[tuple[str, ...]]) -> bool:
    """Whether `words` is a concatenation of filler phrases (the empty sequence is)."""
    if not words:
        return True
    return any(
        tuple(words[: len(f)]) == f and _covers(words[len(f) :], fillers) for f in fillers if f
    )


def _phrase_list(value: object, where: str) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise VocabularyError(f"{where}: expected a list of phrases in quotes")
    return tuple(w for w in (words_of(v) for v in value) if w)


def parse_vocabulary(text: str, source: str = "<vocabulary>") -> Vocabulary:
    """Parse a vocabulary TOML document; errors name the file and the key at fault."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise VocabularyError(f"{source}: {error}") from None
    language = data.get("language")
    if not isinstance(language, str) or not language:
        raise VocabularyError(f'{source}: expected `language = "xx"` at the top')
    table = data.get("commands")
    if not isinstance(table, dict) or not table:
        raise VocabularyError(f"{source}: expected a [commands] table")
    commands: dict[CommandName, tuple[tuple[str, ...], ...]] = {}
    for key, value in table.items():
        try:
            name = CommandName(key)
        except ValueError:
            known = ", ".join(c.value for c in CommandName)
            raise VocabularyError(
                f"{source}: unknown command {key!r}, expected one of {known}"
            ) from None
        commands[name] = _phrase_list(value, f"{source}: commands.{key}")
    fillers = data.get("fillers", {})
    if not isinstance(fillers, dict):
        raise VocabularyError(f"{source}: [fillers] must be a table")
    max_words = fillers.get("max_words", 3)
    if not isinstance(max_words, int) or max_words < 0:
        raise VocabularyError(f"{source}: fillers.max_words must be a whole number")
    decoys = data.get("decoys", {}).get("words", [])
    return Vocabulary(
        language=language,
        commands=commands,
        before=_phrase_list(fillers.get("before", []), f"{source}: fillers.before"),
        after=_phrase_list(fillers.get("after", []), f"{source}: fillers.after"),
        decoys=tuple(w for p in _phrase_list(decoys, f"{source}: decoys.words") for w in p),
        max_filler_words=max_words,
    )


def available_languages() -> list[str]:
    """Languages with a built-in vocabulary file."""
    return sorted(p.stem for p in VOCAB_DIR.glob("*.toml"))


def _load_builtin(language: str) -> Vocabulary:
    path = VOCAB_DIR / f"{language}.toml"
    if not path.is_file():
        have = ", ".join(available_languages())
        raise VocabularyError(f"No vocabulary for language {language!r}; available: {have}.")
    return parse_vocabulary(path.read_text(encoding="utf-8"), str(path))


def load_vocabulary(language: str = "en", path: Path | None = None) -> Vocabulary:
    """The vocabulary for `language` (built in), or the file at `path` if given."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise VocabularyError(f"Cannot read vocabulary {path}: {error.strerror}.") from None
        return parse_vocabulary(text, str(path))
    return _load_builtin(language)
