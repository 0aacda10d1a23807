"""pocketsphinx, the fallback recogniser: its US-English model ships inside the wheel.

Two decoders hear each utterance: the closed grammar, whose words drive listening, and an
open one in which a command may come with other words around it (`second_opinion`), so
the rest of a sentence is heard as words rather than as fillers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from companion.audio.resample import Resampler
from companion.listening.commands_vocab import Vocabulary
from companion.listening.recognisers import (
    ModelError,
    Recogniser,
    TimedWord,
    Word,
    grammar_words,
)

POCKETSPHINX_RATE = 16_000
"""The bundled model's sample rate; other rates are resampled to it."""

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

FEED_BYTES = 2 * round(POCKETSPHINX_RATE * 0.02)
"""Audio handed to a decoder per call (20 ms). pocketsphinx holds Python's lock while it
decodes, and the voice's sound callback needs that lock every 23 ms: one call on a whole
utterance (the warm start's second pass) held it for 0.7 s, and the voice ran dry."""

MAX_HMMS_PER_FRAME = 3000
"""The decoder's search is cut to this many active states per frame (pocketsphinx's
default is 30000). It holds Python's lock while it searches: one 50 ms block took up to
157 ms, the voice's sound callback waited, and the voice ran dry (7 and 12 underruns a
minute on the rig). At 3000, 68 ms at most and 0 and 2 underruns a minute; the same
commands were heard (116 of 156 clean, 125 in noise, on voices in neither the tests nor
the bench) and 3 false commands in 10 minutes of arguing, as before."""

WARM_SECONDS = 3.0
"""Speech heard before the model's normalisation fits the room and the voice. Until then
each utterance is decoded twice: the model was trained with each utterance's own mean
taken out (batch CMN, feat.params), but live decoding starts from a stock mean that fits
few microphones, so a lone first "pause" was often lost; the second pass decodes with the
mean the first just measured on this very utterance."""

WARM_MAX_UTTERANCE_SECONDS = 2.5
"""Only utterances up to this long are decoded twice while cold: a command is shorter, and
a second pass over a long one (a sentence, the companion's own echo) is seconds of work."""


def _grammar_decoder(grammar: str) -> Any:
    import pocketsphinx

    # bestpath=False: the lattice rescoring pass takes seconds on a grammar this size.
    decoder = pocketsphinx.Decoder(
        samprate=POCKETSPHINX_RATE,
        lm=None,
        loglevel="FATAL",
        bestpath=False,
        maxhmmpf=MAX_HMMS_PER_FRAME,
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
        self._decoders: tuple[Any, ...] = (self._decoder,) + (
            (self._open,) if self._open is not None else ()
        )
        """Every decoder that hears the audio: the closed one, then the open one if asked."""
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
        for start in range(0, len(raw), FEED_BYTES):
            piece = raw[start : start + FEED_BYTES]
            for decoder in self._decoders:
                decoder.process_raw(piece)

    def _end_utterance(self) -> None:
        """End the utterance in every decoder; while cold, decode it again (WARM_SECONDS)."""
        for decoder in self._decoders:
            decoder.end_utt()
        if not self._utterance:
            return
        audio = b"".join(self._utterance)
        self._utterance = []
        seconds = len(audio) / 2 / POCKETSPHINX_RATE
        self._heard_seconds += seconds
        if seconds > WARM_MAX_UTTERANCE_SECONDS:
            return
        for decoder in self._decoders:
            decoder.start_utt()
        self._decode(audio)
        for decoder in self._decoders:
            decoder.end_utt()

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
        if self._open is not None:
            self._opinion = [
                TimedWord(
                    seg.word.split("(")[0], (seg.end_frame - seg.start_frame + 1) * FRAME_SECONDS
                )
                for seg in (self._open.seg() or [])
                if seg.word not in FILLER_TOKENS
            ]
        for decoder in self._decoders:
            decoder.start_utt()
        return words

    def second_opinion(self) -> list[TimedWord] | None:
        return self._opinion


# --- choosing -------------------------------------------------------------------------
