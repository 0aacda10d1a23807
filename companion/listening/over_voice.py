"""The listener's echo side: each microphone block without the companion's own voice, and
how far the canceller's word that someone else spoke over it can be trusted just now."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from companion.audio.echo import SEARCH_REACH_SECONDS, EchoPath, PlayedAudio
from companion.audio.echo_cancel import Floats

log = logging.getLogger(__name__)

PlayedSource = Callable[[float], PlayedAudio]
"""`SpeechOut.recent_output`: the last seconds played, their rate and when the last is heard."""

REFERENCE_SECONDS = 1.5  # played audio asked for per block: the longest echo delay and a block
REFERENCE_MAX_SECONDS = 4.5  # however far behind the listener is: the voice keeps 5 s
DEBUG_EVERY_SECONDS = 2.0  # of audio, between the canceller's lines in the debug log


class OverVoice:
    """Cleans microphone blocks of the echo of what was played; time is passed in."""

    def __init__(self, rate: int, played: PlayedSource, clock: Callable[[], float]) -> None:
        self.path = EchoPath(rate)
        self.canceller = self.path.canceller
        self._played = played
        self._clock = clock
        self._moves = 0
        self._seconds = 0.0
        self.lagging = False
        """So far behind the microphone that the voice no longer keeps what played then."""

    def clean(self, samples: Floats, now: float, captured: float | None) -> tuple[Floats, bool]:
        """`samples` (the last captured at `now`; `captured` is the device's own time, if
        it gave one) without the echo; and whether what the canceller took for another
        voice until now turned out to be its own echo, moved (`EchoCanceller.moves`)."""
        # Behind (a busy machine), a block's echo was played that much longer ago.
        behind = self._clock() - captured if captured is not None else 0.0
        wanted = min(REFERENCE_SECONDS + max(0.0, behind), REFERENCE_MAX_SECONDS)
        if self.path.lost:  # the echo is looked for in all that was played
            wanted = max(wanted, SEARCH_REACH_SECONDS)
        if (REFERENCE_SECONDS + behind > REFERENCE_MAX_SECONDS) != self.lagging:
            self.lagging = not self.lagging
            log.info("listening is %.1f s behind the microphone", behind)
        anchors = self.path.anchors
        cleaned = self.path.clean(samples, now, self._played(wanted))
        if self.path.anchors != anchors:
            log.debug("echo reference placed afresh: %s", self.path.describe())
        moved = self.canceller.moves != self._moves
        self._moves = self.canceller.moves
        if moved:
            log.debug("echo moved unannounced: %s", self.canceller.describe())
        before, self._seconds = self._seconds, self._seconds + len(samples) / self.path.rate
        if log.isEnabledFor(logging.DEBUG) and (
            int(before / DEBUG_EVERY_SECONDS) != int(self._seconds / DEBUG_EVERY_SECONDS)
        ):
            left = float(np.sqrt(np.mean(cleaned * cleaned)))
            log.debug("echo: %s, left rms %.0f", self.canceller.describe(), left)
        return cleaned, moved

    @property
    def unsure(self) -> bool:
        """Whether a voice heard over the companion's may still be its own: the canceller is
        checking whether its echo moved, or the listener lags so far behind that the echo
        reference no longer reaches back (what played then would pass for another voice)."""
        return self.canceller.checking or self.lagging
