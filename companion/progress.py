"""Progress of a long command (a model download, a render) on stderr, for every command.

On a terminal, tqdm draws one bar per stage and redraws it in place. Anywhere else (a log,
a pipe, CI) redrawn lines are noise, so a stage says how far it is at each quarter instead.
"""

from __future__ import annotations

from typing import Any, TextIO

from tqdm import tqdm

STAGES: dict[str, tuple[str, str]] = {
    "lines": ("rendering lines", "{n}/{total}"),
    "audio": ("writing audio", "{percentage:3.0f}%"),
    "download": ("downloading", "{n:5.1f} / {total:.1f} MB"),
}
"""Each stage's label and how its figure reads on a terminal."""
BAR_WIDTH = 30
STEPS_WITHOUT_TTY = 4
"""Lines per stage when the stream is a log or a pipe: at 25%, 50%, 75% and 100%."""
MEGABYTE = 1_000_000


class ProgressBar:
    """Called as `progress(stage, done, total)`; a stage ends when `done` reaches `total`."""

    def __init__(self, stream: TextIO, tty: bool) -> None:
        self._stream = stream
        self._tty = tty
        self._stage = ""
        self._bar: Any = None
        self._step = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self.close()
            self._stage, self._step = stage, 0
        if self._tty:
            self._draw(stage, done, total)
        else:
            self._line(stage, done, total)

    def close(self) -> None:
        """End the bar being drawn, if any (its line stays)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _draw(self, stage: str, done: int, total: int) -> None:
        label, figure = STAGES.get(stage, (stage, "{n}/{total}"))
        # Megabytes for a download (tqdm's figures are the counts it is given).
        size: float = total / MEGABYTE if stage == "download" else total
        now: float = done / MEGABYTE if stage == "download" else done
        if self._bar is None:
            self._bar = tqdm(
                total=size,
                desc=f"{label:<16}",
                file=self._stream,
                ascii="-#",
                bar_format=f"{{desc}} [{{bar:{BAR_WIDTH}}}] {figure}",
                mininterval=0.1,
                leave=True,
            )
        self._bar.update(now - self._bar.n)
        if done >= total:
            self.close()

    def _line(self, stage: str, done: int, total: int) -> None:
        label = STAGES.get(stage, (stage, ""))[0]
        fraction = done / total if total > 0 else 1.0
        step = int(fraction * STEPS_WITHOUT_TTY)
        if step <= self._step:
            return  # the first line at the first quarter, then one per quarter
        self._step = step
        if stage == "lines":
            figure = f"{done}/{total}"
        elif stage == "download":
            figure = f"{done / MEGABYTE:.1f} / {total / MEGABYTE:.1f} MB"
        else:
            figure = f"{int(fraction * 100)}%"
        self._stream.write(f"{label}: {figure}\n")
