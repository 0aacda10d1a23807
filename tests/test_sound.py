"""The one owner of the sound device: when PortAudio may re-read its devices, the device
clocks, what a sound server says about a device, and an output that refuses the voice's
rate. A fake PortAudio and a fake `pactl` stand in here (no device here refuses a rate:
ALSA's file and null devices and PulseAudio take any); tests/test_full_duplex.py runs
the real ones."""

from __future__ import annotations

import contextlib
import subprocess
from typing import Any

import numpy as np
import pytest

from companion.audio.sound import ServerDevice, SoundServer, SoundSystem, StreamClock
from companion.voice.cue_tones import SAMPLE_RATE
from companion.voice.player import Clip, PlayedRing, Player


class FakeStream:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def start(self) -> None:
        pass

    def abort(self, ignore_errors: bool = True) -> None:
        pass

    def close(self, ignore_errors: bool = True) -> None:
        pass


class FakePortAudio:
    """Counts re-initialisations; refuses to open while `refuse` is set."""

    class PortAudioError(Exception):
        pass

    def __init__(self) -> None:
        self.initialised = 0
        self.refuse = False

    def _terminate(self) -> None:
        pass

    def _initialize(self) -> None:
        self.initialised += 1

    def query_devices(self, device: Any = None, kind: Any = None) -> Any:
        return {"default_samplerate": 48000.0}

    def _open(self, **kwargs: Any) -> FakeStream:
        if self.refuse:
            raise self.PortAudioError("no such device")
        return FakeStream(**kwargs)

    RawInputStream = OutputStream = _open


class NoServer(SoundServer):
    def devices(self, fresh: bool = False) -> list[ServerDevice] | None:
        return None


def sound_with(portaudio: FakePortAudio, server: SoundServer | None = None) -> SoundSystem:
    sound = SoundSystem(server=server or NoServer())
    sound._sd = portaudio
    return sound


def test_portaudio_rereads_its_devices_only_when_no_stream_is_open() -> None:
    portaudio = FakePortAudio()
    sound = sound_with(portaudio)
    output = sound.open_stream("output", samplerate=22050)
    portaudio.refuse = True
    for _ in range(3):  # the microphone is missing: every try fails while the voice plays
        with contextlib.suppress(FakePortAudio.PortAudioError):
            sound.open_stream("input")
    assert portaudio.initialised == 0  # the voice's stream was never torn down
    sound.close_stream(output)
    assert portaudio.initialised == 1  # nothing open now: the device list is read again


def test_stream_times_become_monotonic_times_with_the_smallest_offset_seen() -> None:
    now = iter([100.0, 100.5, 101.03])
    clock = StreamClock(now=lambda: next(now))
    # PortAudio's clock runs 1000 s ahead; callbacks run a little late, by varying amounts.
    assert clock.to_monotonic(1100.05, 1099.99) == pytest.approx(100.06)
    assert clock.to_monotonic(1100.55, 1100.49) == pytest.approx(100.56)
    late = clock.to_monotonic(1101.05, 1100.99)  # this callback ran 40 ms late
    assert late is not None and abs(late - 101.06) < 0.001
    assert clock.to_monotonic(0.0, 0.0) is None  # a host that gives no times


def test_a_sound_server_device_chosen_by_name_is_watched_by_name() -> None:
    listed = {"sinks": "1\tspeaker\tx\n", "sources": "1\tmic\tx\n"}
    gone = False

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        out = listed["sinks"] if command[-1] == "sinks" else listed["sources"]
        return subprocess.CompletedProcess(command, 1 if gone else 0, out, "")

    server = SoundServer(run=run)
    server._pactl = "pactl"
    sound = SoundSystem("mic", "speaker", server=server)
    assert sound.input_device == "pulse" and sound.input_server_name == "mic"
    assert server.devices(fresh=True) is not None and sound.present("input") is True
    listed["sources"] = "2\tspeaker.monitor\tx\n"  # the microphone was unplugged
    server.devices(fresh=True)
    assert sound.present("input") is False
    assert sound.present("output") is True
    gone = True  # the sound server went away
    server.devices(fresh=True)
    assert sound.present("output") is False


def test_an_echo_cancelled_source_is_recognised_by_its_name() -> None:
    assert ServerDevice("echo-cancel-source", "input").echo_cancelled
    assert not ServerDevice("alsa_input.pci-0000_00_1f.3.analog-stereo", "input").echo_cancelled


CLI = "import sys; from companion.cli import main; sys.exit(main())"


def test_companion_devices_lists_what_it_finds_as_json_and_exits_0() -> None:
    import json
    import sys

    done = subprocess.run(
        [sys.executable, "-c", CLI, "devices", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert isinstance(listed["portaudio"], list)
    assert listed["server"] is None or isinstance(listed["server"], list)


OPEN_A_MISSING_PCM = """
import ctypes, ctypes.util, sys
if {quiet}:
    from companion.audio.sound import quiet_alsa
    assert quiet_alsa()
alsa = ctypes.CDLL(ctypes.util.find_library("asound"))
pcm = ctypes.c_void_p()
sys.exit(0 if alsa.snd_pcm_open(ctypes.byref(pcm), b"no-such-device", 0, 0) < 0 else 1)
"""


@pytest.mark.parametrize("quiet", [False, True])
def test_alsas_own_messages_go_to_the_log_not_the_terminal(quiet: bool) -> None:
    # The real ALSA library, asked for a device that does not exist: it complains on
    # stderr by itself ("ALSA lib pcm.c: Unknown PCM"), as it did for every underrun.
    import sys

    done = subprocess.run(
        [sys.executable, "-c", OPEN_A_MISSING_PCM.format(quiet=quiet)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert ("ALSA lib" in done.stderr) is not quiet


class PortAudioAt48k(FakePortAudio):
    """A device that plays only at its own 48 kHz, as many USB and HDMI outputs do."""

    def _open(self, **kwargs: Any) -> FakeStream:
        if self.refuse or kwargs.get("samplerate") != 48000:
            raise self.PortAudioError("Invalid sample rate [PaErrorCode -9997]")
        stream = FakeStream(**kwargs)
        stream.latency = 0.06  # type: ignore[attr-defined]
        return stream

    RawInputStream = OutputStream = _open


def test_an_output_that_refuses_the_voices_rate_plays_it_at_its_own() -> None:
    player = Player(sound_with(PortAudioAt48k()), on_failure=lambda: None)
    player.open()
    assert player.rate == 48000
    one_second = np.full(SAMPLE_RATE, 1000, dtype=np.int16)
    clip = Clip(one_second, "a line")
    player.play(clip)
    # Converted as it starts: still one second long, at the device's rate.
    assert len(clip.samples) == pytest.approx(48000, abs=2)
    player.extend(clip, one_second)
    assert len(clip.samples) == pytest.approx(96000, abs=4)
    # The echo reference the listener gets says the device's rate, so it lines up.
    rate = player.recent_output(1.0).rate
    assert rate == 48000


def test_an_output_that_refuses_every_rate_is_reported_as_refused() -> None:
    portaudio = PortAudioAt48k()
    portaudio.refuse = True
    player = Player(sound_with(portaudio), on_failure=lambda: None)
    with pytest.raises(FakePortAudio.PortAudioError):
        player.open()


def test_the_played_ring_gives_the_newest_samples_in_order_across_its_end() -> None:
    ring = PlayedRing(capacity=1000, rate=100)
    for start in range(0, 2300, 230):  # blocks that wrap around the ring's end
        ring.write(np.arange(start, start + 230, dtype=np.int16), start / 100)
    played = ring.recent(300)
    assert played.written == 2300 and played.rate == 100
    assert played.samples.tolist() == list(range(2000, 2300))
    assert played.end_time == pytest.approx(23.0)
    assert played.gaps == 0
    # A reader never asks for the part the writer may be overwriting while it copies.
    assert len(ring.recent(10_000).samples) == 1000 - round(PlayedRing.READ_MARGIN * 100)
    ring.write(np.zeros(230, dtype=np.int16), 23.5, gap=True)  # the device ran dry
    assert ring.recent(300).gaps == 1
