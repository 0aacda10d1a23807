"""Talking and listening at once, as a couple runs the companion, on a real sound server.

The real `companion serve` (voice and listening both on, the default engine) runs in a
child process against a PulseAudio server with no sound card (tests/pulse_rig.py): its
voice plays into a sink, a room carries it back into its microphone, and a partner's
voice (espeak-ng) is mixed into the same air. The page's JSON API and WebSocket drive it.
Only the physical loudspeaker and microphone are stand-ins.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from duplex_support import ServedCompanion
from pulse_rig import KITCHEN, LIVING_ROOM, PulseRig, Room, rig_missing
from spoken import WARM_UP, speak

from companion.voice.speech_out import DEVICE_FAILED

pytestmark = [pytest.mark.audio, pytest.mark.realtime, pytest.mark.alone]

if rig_missing():
    pytest.skip(rig_missing(), allow_module_level=True)

PARTNERS = [("en-gb", 150, 50), ("en-us", 140, 40), ("en+m3", 160, 55)]
"""Three partners' voices (espeak-ng voice, words a minute, pitch)."""

LEVELS = [1.0, 1.6]
"""How loud the partner is: 1.0 is espeak-ng's own level, about the companion's in the air."""


@pytest.fixture(scope="module")
def voice_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rendered lines shared by every companion in this file (rendering is not under test)."""
    return tmp_path_factory.mktemp("voice-cache")


def run_companion(
    root: Path, cache: Path, room: Room
) -> Iterator[tuple[PulseRig, ServedCompanion]]:
    rig = PulseRig(root, room).start()
    companion = ServedCompanion(rig, root, cache)
    try:
        companion.wait_ready()
        # A couple mid-conversation: the recogniser has heard them before any command.
        rig.say(speak(WARM_UP, "en-gb"))
        time.sleep(1.0)
        yield rig, companion
    finally:
        companion.close()
        rig.stop()


@pytest.fixture(scope="module")
def kitchen(
    tmp_path_factory: pytest.TempPathFactory, voice_cache: Path
) -> Iterator[tuple[PulseRig, ServedCompanion]]:
    yield from run_companion(tmp_path_factory.mktemp("kitchen"), voice_cache, KITCHEN)


@pytest.fixture(scope="module")
def living_room(
    tmp_path_factory: pytest.TempPathFactory, voice_cache: Path
) -> Iterator[tuple[PulseRig, ServedCompanion]]:
    yield from run_companion(tmp_path_factory.mktemp("living"), voice_cache, LIVING_ROOM)


def start_speaking(rig: PulseRig, companion: ServedCompanion, script: str) -> float:
    """Start `script` and return once its voice is heard on the speaker."""
    companion.command("start", script=script)
    companion.wait_until(lambda: rig.speaker.playing(), timeout=15)
    return time.monotonic()


def into_the_exercise(rig: PulseRig, companion: ServedCompanion) -> None:
    """Start naming sensations and return while the line after its opening is spoken.

    Its opening line tells the couple they can say "pause" at any moment, and a word the
    companion is saying never commands it (its own echo could): so not over that line.
    """
    start_speaking(rig, companion, "naming-sensations")
    companion.wait_until(lambda: "pause" in companion.state()["caption"], timeout=30)
    companion.wait_until(lambda: "pause" not in companion.state()["caption"], timeout=30)
    time.sleep(1.0)
    companion.wait_until(lambda: rig.speaker.playing(within=0.05), timeout=20)


def wait_status(companion: ServedCompanion, status: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while companion.state()["status"] != status:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def end_session(companion: ServedCompanion) -> None:
    companion.command("stop")
    companion.wait_until(lambda: companion.state()["status"] == "ended", timeout=10)


def test_a_whole_script_plays_with_the_microphone_open_and_its_voice_commands_nothing(
    kitchen: tuple[PulseRig, ServedCompanion],
) -> None:
    rig, companion = kitchen
    before = companion.status()["listening"]
    started = time.monotonic()
    companion.command("start", script="breathing-4-7-8")  # the shortest in the library
    statuses = []

    def ended() -> bool:
        statuses.append(companion.status())
        return bool(companion.state()["status"] == "ended")

    companion.wait_until(ended, timeout=400)
    assert companion.state()["ended"] == "completed"
    # The voice and listening stayed on throughout.
    assert all(s["voice"]["on"] and s["listening"]["on"] for s in statuses), statuses[-1]
    # Every line it said was heard on the speaker while its caption was up.
    said = [
        (at, data["phase"]["seconds"])
        for at, data in companion.received("state", since=started)
        if data["status"] == "running" and (data.get("phase") or {}).get("kind") == "say"
    ]
    assert len(said) >= 3
    for at, seconds in said:
        assert rig.speaker.loud_since(at) - rig.speaker.loud_since(at + seconds + 0.5) > 0.2
    # Its own voice, back through the room, never commanded it nor held it.
    after = companion.status()["listening"]
    assert after["heard"] == before["heard"]
    assert after["held"] == before["held"], companion.log_lines("voice held")
    assert not companion.received("heard", since=started)


# Three voices at two levels in one room, and the three again in a room unlike it.
TRIALS = [("kitchen", partner, level) for partner in PARTNERS for level in LEVELS] + [
    ("living_room", partner, 1.3) for partner in PARTNERS
]


def test_partners_saying_pause_over_the_voice_pause_it_and_resume_resumes(
    request: pytest.FixtureRequest,
) -> None:
    # One trial can miss (bench/bench_duplex.py measures how often, over 30 a room); what
    # this pins is that most get through, the voice falls silent for each, and none of
    # them is taken for anything else.
    outcomes = []
    for room_name, (voice, rate, pitch), level in TRIALS:
        rig, companion = request.getfixturevalue(room_name)
        into_the_exercise(rig, companion)
        rig.say(speak("pause", voice, rate, pitch), level)
        paused = wait_status(companion, "paused", 5.0)
        silent = resumed = False
        if paused:
            paused_at = time.monotonic()
            time.sleep(2.0)  # the room falls quiet; then the partner asks to go on
            silent = rig.speaker.last_loud() < paused_at + 0.3
            # In quiet; a partner who is not heard says it again, as people do.
            for _ in range(2):
                rig.say(speak("resume", voice, rate, pitch), level)
                if wait_status(companion, "running", 4.0):
                    resumed = True
                    break
        outcomes.append((room_name, voice, level, paused, silent, resumed))
        end_session(companion)
    report = "\n".join(str(outcome) for outcome in outcomes)
    assert sum(paused for *_, paused, _, _ in outcomes) >= 5, report
    assert all(silent for *_, paused, silent, _ in outcomes if paused), report
    assert any(resumed for *_, resumed in outcomes), report


def test_the_microphone_going_away_and_coming_back_never_stops_the_voice(
    kitchen: tuple[PulseRig, ServedCompanion],
) -> None:
    rig, companion = kitchen
    start_speaking(rig, companion, "grounding")
    since = time.monotonic()
    rig.unplug("air")
    # The page is told, in a sentence about the microphone.
    gone = companion.wait_message("status", since, lambda s: not s["listening"]["on"], 10)
    assert "microphone" in gone["listening"]["reason"]
    rig.plug("air")
    companion.wait_message("status", since, lambda s: s["listening"]["on"], 20)
    # The voice played on throughout, and is heard (the script's own silences, for
    # looking around, can fill the few seconds the microphone was away).
    assert all(status["voice"]["on"] for _, status in companion.received("status", since))
    companion.wait_until(lambda: rig.speaker.loud_since(since) > 0.5, timeout=20)
    end_session(companion)


def test_the_speakers_going_away_leave_captions_and_the_voice_comes_back_with_them(
    kitchen: tuple[PulseRig, ServedCompanion],
) -> None:
    rig, companion = kitchen
    start_speaking(rig, companion, "grounding")
    since = time.monotonic()
    rig.unplug("speaker")
    gone = companion.wait_message("status", since, lambda s: not s["voice"]["on"], 10)
    assert gone["voice"]["reason"] == DEVICE_FAILED
    captions = len(companion.received("state", since))
    rig.plug("speaker")
    companion.wait_message("status", since, lambda s: s["voice"]["on"], 20)
    # The session went on meanwhile, and the next line is heard again.
    assert companion.state()["status"] == "running"
    assert len(companion.received("state", since)) >= captions
    back = time.monotonic()
    companion.command("next")
    companion.wait_until(lambda: rig.speaker.loud_since(back) > 0.3, timeout=15)
    assert companion.status()["listening"]["on"]
    end_session(companion)


def test_a_sound_server_that_restarts_brings_back_the_voice_and_listening(
    kitchen: tuple[PulseRig, ServedCompanion],
) -> None:
    rig, companion = kitchen
    start_speaking(rig, companion, "grounding")
    since = time.monotonic()
    rig.restart_server()
    companion.wait_message("status", since, lambda s: not s["voice"]["on"], 15)
    companion.wait_until(
        lambda: (s := companion.status())["voice"]["on"] and s["listening"]["on"], 40
    )
    assert companion.state()["status"] == "running"  # the session never stopped
    back = time.monotonic()
    companion.command("next")
    companion.wait_until(lambda: rig.speaker.loud_since(back) > 0.3, timeout=15)
    end_session(companion)


def test_speech_level_of_the_partner_voices_is_near_the_companions() -> None:
    """Keeps LEVELS honest: 1.0 is about as loud as the companion's own rendered voice."""
    partner = np.sqrt(np.mean(speak("pause, please", "en-gb") ** 2))
    companion = np.sqrt(np.mean(speak("pause, please", "en-us") ** 2)) * 0.9
    assert 0.5 < partner / companion < 2.0
