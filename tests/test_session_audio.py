"""The whole companion speaking through the real audio stack, paused and resumed.

The companion (engine, runner thread, pyttsx3, sounddevice, PortAudio, ALSA) runs in a
child process whose default ALSA device is a file (tests/alsa.py); the "sound card" is a
pipe drained in real time, so what stops is what a listener would stop hearing. Only the
speakers themselves are missing.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alsa import AlsaFileDevice, PacedSink

from companion.voice.player import BLOCK_FRAMES

pytestmark = [pytest.mark.audio, pytest.mark.realtime]

# Reads one command name per line, submits it, answers with the session's state.
COMPANION = """
import json, sys
from pathlib import Path
from companion.app import Companion, Options
from companion.core.effects import Command, CommandName

companion = Companion(Options(listen_engine="off", journal=False, cache_dir=Path(sys.argv[1])))
companion.start()
for line in sys.stdin:
    name, _, script = line.strip().partition(" ")
    if name == "quit":
        break
    if name != "state":
        companion.submit(Command(CommandName(name), source="test", script=script))
    state = companion.state()
    voice = companion.status()["voice"]
    print(json.dumps({"status": state["status"], "caption": state["caption"],
                      "voice": voice}), flush=True)
companion.close()
"""

BLOCK_BYTES = BLOCK_FRAMES * 2
THRESHOLD = 64


class Child:
    """The companion process, driven one command at a time."""

    def __init__(self, device: AlsaFileDevice, cache: Path) -> None:
        self.process: subprocess.Popen[str] = device.start_python(COMPANION, str(cache))

    def send(self, line: str) -> dict[str, object]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        assert reply, (
            f"the companion died: {self.process.stderr.read() if self.process.stderr else ''}"
        )
        answer: dict[str, object] = json.loads(reply)
        return answer

    def until(self, key: str, value: object, timeout: float = 60.0) -> dict[str, object]:
        """Ask for the state until `key` has `value` (the runner acts on its own thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.send("state")
            if state[key] == value:
                return state
            time.sleep(0.05)
        raise AssertionError(f"{key} never became {value!r}; last state {state}")

    def close(self) -> str:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return err


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[AlsaFileDevice, PacedSink]]:
    device = AlsaFileDevice(tmp_path)
    with device.paced_playback() as paced:
        yield device, paced


def test_pausing_a_session_silences_its_voice_and_resuming_speaks_the_line_again(
    sink: tuple[AlsaFileDevice, PacedSink], tmp_path: Path
) -> None:
    device, card = sink
    child = Child(device, tmp_path / "voice-cache")
    try:
        assert child.send("state")["voice"] == {"on": True, "reason": "", "underruns": 0}
        child.send("start slow-breathing")
        first_line = "Let's breathe slowly together. In for four, and out for six."
        child.until("caption", first_line)  # the voice renders the script first, then speaks
        assert card.wait_for(lambda: card.sound_end(THRESHOLD) > 12 * BLOCK_BYTES, timeout=60)

        child.send("pause")
        child.until("status", "paused")
        at_pause = card.size()
        # Let what the pipe and PortAudio had already taken drain, and much more.
        assert card.wait_for(lambda: card.size() > at_pause + card.pipe_bytes + 40 * BLOCK_BYTES)
        heard_after = card.sound_end(THRESHOLD) - at_pause
        assert heard_after < card.pipe_bytes + 6 * BLOCK_BYTES, (
            f"{heard_after / BLOCK_BYTES} blocks"
        )

        silent_until = card.size()
        child.send("resume")
        resumed = child.until("status", "running")
        assert resumed["caption"] == first_line  # the same line, from its start
        assert card.wait_for(lambda: card.sound_end(THRESHOLD) > silent_until + 8 * BLOCK_BYTES)
    finally:
        err = child.close()
    assert "Traceback" not in err
