"""SpeechOut through the real sounddevice/PortAudio/ALSA stack, into ALSA's file device.

Each test runs the player in a subprocess whose HOME holds the `.asoundrc` (PortAudio
reads it once, at start-up). The "sound card" is a FIFO drained in real time
(tests/alsa.py), so stopping is observed exactly as a listener would hear it.
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from alsa import AlsaFileDevice, PacedSink

from companion.voice.cue_tones import SAMPLE_RATE
from companion.voice.player import BLOCK_FRAMES, HOLD_MAX_SECONDS, OUTPUT_LATENCY
from companion.voice.speech_out import DEVICE_FAILED, NO_DEVICE
from companion.voice.tts import VoiceSettings, cache_key, pyttsx3_version, read_wav

pytestmark = [pytest.mark.audio, pytest.mark.realtime]

LONG_LINE = (
    "Let your breath slow down, and feel the weight of your body resting on the chair, "
    "while your shoulders soften and your hands grow warm and heavy."
)

# Reads one JSON command per line, acts, answers with the status as one JSON line.
PLAYER = """
import json, sys
from pathlib import Path
from companion.core.effects import Cue, HoldSound, ReleaseSound, Speak, StopSound
from companion.voice.speech_out import SpeechOut
from companion.voice.tts import VoiceSettings

out = SpeechOut(VoiceSettings(**json.loads(sys.argv[2])), Path(sys.argv[1]))
out.start()
for line in sys.stdin:
    cmd = json.loads(line)
    kind = cmd["do"]
    if kind == "prepare":
        out.prepare(cmd["texts"])
    elif kind == "speak":
        out.handle(Speak(cmd["text"], cmd["text"]))
    elif kind == "cue":
        out.handle(Cue(cmd["name"], cmd.get("word", "")))
    elif kind == "stop":
        out.handle(StopSound())
    elif kind == "hold":
        out.handle(HoldSound())
    elif kind == "release":
        out.handle(ReleaseSound())
    elif kind == "quit":
        break
    # Any other command (e.g. "status") only reports.
    status = out.status()
    print(json.dumps({"on": status.on, "reason": status.reason,
                      "playing": out.playing_text()}), flush=True)
out.close()
print(json.dumps({"closed": True}), flush=True)
"""


class Player:
    """The child process running SpeechOut, driven one command at a time."""

    def __init__(self, device: AlsaFileDevice, cache: Path, **settings: object) -> None:
        self.process = device.start_python(PLAYER, str(cache), json.dumps(settings))

    def send(self, **command: object) -> dict[str, object]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        assert reply, (
            f"the player died: {self.process.stderr.read() if self.process.stderr else ''}"
        )
        answer: dict[str, object] = json.loads(reply)
        return answer

    def close(self) -> str:
        """Quit the child; returns its stderr (warnings, tracebacks)."""
        if self.process.poll() is None:
            self.send(do="quit")
        try:
            _, err = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return err


@pytest.fixture
def device(tmp_path: Path) -> AlsaFileDevice:
    return AlsaFileDevice(tmp_path)


@pytest.fixture
def sink(device: AlsaFileDevice) -> Iterator[PacedSink]:
    with device.paced_playback() as paced:
        yield paced


BLOCK_BYTES = BLOCK_FRAMES * 2
THRESHOLD = 64  # well above dither, well below the quietest speech
# Audio PortAudio has already taken from the callback but not yet handed to ALSA's file
# plugin: its buffer (OUTPUT_LATENCY, 60 ms: 2.6 blocks) and the block being handed over.
PORTAUDIO_RING_BYTES = (math.ceil(OUTPUT_LATENCY * SAMPLE_RATE / BLOCK_FRAMES) + 1) * BLOCK_BYTES


def test_stop_silences_speech_within_two_blocks_and_speak_plays_again(
    device: AlsaFileDevice, sink: PacedSink, tmp_path: Path
) -> None:
    player = Player(device, tmp_path / "cache")
    try:
        assert player.send(do="prepare", texts=[LONG_LINE])["on"] is True
        assert player.send(do="speak", text=LONG_LINE)["playing"] == LONG_LINE

        # The line is heard: the device keeps receiving non-silent audio.
        assert sink.wait_for(lambda: sink.sound_end(THRESHOLD) > 12 * BLOCK_BYTES)
        player.send(do="stop")
        at_stop = sink.size()
        # Let everything queued before the stop, and a good deal more, reach the "card".
        queued = sink.pipe_bytes + PORTAUDIO_RING_BYTES
        assert sink.wait_for(lambda: sink.size() > at_stop + queued + 10 * BLOCK_BYTES)
        after_stop = sink.sound_end(THRESHOLD) - at_stop
        # Audio reaching the card after the stop, beyond what the pipe and PortAudio's
        # ring already held: the callback must have gone silent within two blocks.
        assert after_stop < queued + 2 * BLOCK_BYTES, f"{after_stop / BLOCK_BYTES:.1f} blocks"
        assert player.send(do="stop")["playing"] == ""

        silent_end = sink.size()
        player.send(do="speak", text=LONG_LINE)
        assert sink.wait_for(lambda: sink.sound_end(THRESHOLD) > silent_end + 4 * BLOCK_BYTES)
    finally:
        err = player.close()
    assert "Traceback" not in err


def held_while_speaking(player: Player, sink: PacedSink) -> int:
    """Speak the long line, hold it once it is heard; returns the byte from which the card
    must hear silence (beyond what the pipe and PortAudio had queued, two blocks)."""
    player.send(do="prepare", texts=[LONG_LINE])
    player.send(do="speak", text=LONG_LINE)
    assert sink.wait_for(lambda: sink.sound_end(THRESHOLD) > 12 * BLOCK_BYTES)
    player.send(do="hold")
    return sink.size() + sink.pipe_bytes + PORTAUDIO_RING_BYTES + 2 * BLOCK_BYTES


def test_a_held_line_falls_silent_and_plays_on_from_the_same_place_when_released(
    device: AlsaFileDevice, sink: PacedSink, tmp_path: Path
) -> None:
    # What a partner's "pause" over the voice does before it is even decided.
    player = Player(device, tmp_path / "cache")
    try:
        silent_from = held_while_speaking(player, sink)
        assert sink.wait_for(lambda: sink.size() > silent_from + 40 * BLOCK_BYTES)
        assert player.send(do="release")["playing"] == LONG_LINE
        held = sink.samples()[silent_from // 2 : sink.size() // 2]
        assert len(held) > 30 * BLOCK_FRAMES and not held.any()
        assert sink.wait_for(lambda: player.send(do="status")["playing"] == "", timeout=30)
        assert sink.wait_for(lambda: sink.size() > sink.sound_end() + 10 * BLOCK_BYTES)
    finally:
        err = player.close()
    assert "Traceback" not in err
    # Every sample of the line reached the card once and in order: none skipped while
    # held, none repeated on release (zeros aside: the line has silences of its own).
    line = read_wav(
        tmp_path / "cache" / f"{cache_key(LONG_LINE, VoiceSettings(), pyttsx3_version())}.wav"
    )
    heard = sink.samples()
    assert np.array_equal(heard[heard != 0], line[line != 0])


def test_a_held_voice_plays_on_by_itself_if_never_released(
    device: AlsaFileDevice, sink: PacedSink, tmp_path: Path
) -> None:
    player = Player(device, tmp_path / "cache")
    try:
        silent_from = held_while_speaking(player, sink)
        assert sink.wait_for(lambda: sink.size() > silent_from + 20 * BLOCK_BYTES)
        assert sink.sound_end(THRESHOLD) < silent_from
        # A listener that died mid-utterance must not leave the companion mute for good.
        assert sink.wait_for(
            lambda: sink.sound_end(THRESHOLD) > silent_from, timeout=HOLD_MAX_SECONDS + 10
        )
    finally:
        err = player.close()
    assert "Traceback" not in err


def test_a_line_not_prepared_is_rendered_on_demand_and_played(
    device: AlsaFileDevice, sink: PacedSink, tmp_path: Path
) -> None:
    player = Player(device, tmp_path / "cache")
    try:
        player.send(do="speak", text="Notice where your feet touch the floor.")
        assert sink.wait_for(lambda: sink.sound_end(THRESHOLD) > 8 * BLOCK_BYTES)
    finally:
        err = player.close()
    assert "Traceback" not in err


def test_cue_with_a_word_plays_the_tone_then_the_word(
    device: AlsaFileDevice, sink: PacedSink, tmp_path: Path
) -> None:
    player = Player(device, tmp_path / "cache")
    try:
        player.send(do="prepare", texts=["in"])
        start = sink.size()
        assert player.send(do="cue", name="inhale", word="in")["playing"] == "in"
        # Tone (0.7 s) + gap + word: sound keeps arriving for well over a second.
        assert sink.wait_for(
            lambda: sink.sound_end(THRESHOLD) > start + int(1.0 * 22_050 * 2), timeout=20
        )
    finally:
        err = player.close()
    assert "Traceback" not in err


def test_unknown_voice_still_speaks_and_status_says_the_default_voice_is_used(
    device: AlsaFileDevice, sink: PacedSink, tmp_path: Path
) -> None:
    player = Player(device, tmp_path / "cache", voice="xx-no-such-voice")
    try:
        status = player.send(do="prepare", texts=["Hello."])
        assert status["on"] is True
        reason = str(status["reason"])
        assert "xx-no-such-voice" in reason and reason.endswith(".")
    finally:
        err = player.close()
    assert "Traceback" not in err


def test_device_failing_mid_session_goes_captions_only_and_effects_do_not_raise(
    device: AlsaFileDevice, sink: PacedSink, tmp_path: Path
) -> None:
    player = Player(device, tmp_path / "cache")
    try:
        player.send(do="prepare", texts=[LONG_LINE])
        player.send(do="speak", text=LONG_LINE)
        assert sink.wait_for(lambda: sink.sound_end(THRESHOLD) > 4 * BLOCK_BYTES)
        sink.unplug()
        assert sink.wait_for(lambda: player.send(do="status")["reason"] == DEVICE_FAILED)
        for command in ({"do": "speak", "text": LONG_LINE}, {"do": "cue", "name": "end"}):
            assert player.send(**command) == {"on": False, "reason": DEVICE_FAILED, "playing": ""}
    finally:
        err = player.close()
    assert "Traceback" not in err


def test_without_any_output_device_status_says_captions_only_and_effects_do_not_raise(
    tmp_path: Path,
) -> None:
    device = AlsaFileDevice(tmp_path, usable=False)
    player = Player(device, tmp_path / "cache")
    try:
        assert player.send(do="prepare", texts=[LONG_LINE]) == {
            "on": False,
            "reason": NO_DEVICE,
            "playing": "",
        }
        for command in (
            {"do": "speak", "text": LONG_LINE},
            {"do": "cue", "name": "exhale", "word": "out"},
            {"do": "stop"},
        ):
            assert player.send(**command)["reason"] == NO_DEVICE
    finally:
        err = player.close()
    assert "Traceback" not in err
    assert DEVICE_FAILED not in err
