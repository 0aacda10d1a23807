"""A script's cue timeline as the engine would run it, computed at once (no clock)."""

from __future__ import annotations

from collections.abc import Callable

from companion.core.effects import Command, CommandName
from companion.core.engine import Engine, Tick
from companion.core.phase import LINE_GAP_SECONDS, TimelineEntry, estimate_speech_seconds
from companion.core.script import Names, Partner, Script


def preview(
    script: Script,
    names: Names | None = None,
    speech_seconds: Callable[[str], float] = estimate_speech_seconds,
    *,
    break_script: Script | None = None,
    choose: Partner = "a",
) -> list[TimelineEntry]:
    """The cue timeline of a script as the engine would run it, computed instantly.

    Ready gates, role questions and the end-of-break choice are answered as soon as the
    line asking has been said ("ready", the partner `choose` for every role, "come back"),
    so the offsets show the script's own timing and a rendered file lets every question
    be heard; a gate with a reminder is answered just after its reminder, so the timeline
    shows when "take your time" would be said, and the length allows for it.
    """
    library = {script.id: script}
    if break_script is not None:
        library.setdefault(break_script.id, break_script)
    engine = Engine(library, names=names, speech_seconds=speech_seconds, record_timeline=True)
    now = 0.0
    engine.handle(Command(CommandName.START, source="cli", script=script.id), now)
    # A script is finite; the guard only protects against a runaway loop bug.
    for _ in range(1_000_000):
        if not engine.running:
            break
        deadline = engine.next_deadline()
        if deadline is not None:
            now = max(now, deadline)
            engine.handle(Tick(), now)
            continue
        # Waiting: the question (or reminder) just said is heard to its end, then answered.
        said = engine.timeline[-1] if engine.timeline else None
        if said is not None and said.spoken:
            heard = said.at + speech_seconds(said.spoken) + LINE_GAP_SECONDS
            now = max(now, heard)
        kind = engine._phase.kind if engine._phase else ""
        if kind == "role":
            engine.handle(Command(CommandName.READY, source="cli", partner=choose), now)
            continue
        answer = CommandName.READY if kind == "ready" else CommandName.RETURN
        engine.handle(Command(answer, source="cli"), now)
    assert engine.timeline is not None
    return engine.timeline


def timeline_seconds(timeline: list[TimelineEntry]) -> float:
    """Where a timeline ends: the latest entry's start plus its length."""
    return max((entry.at + entry.seconds for entry in timeline), default=0.0)
