"""The companion assembled: library, engine and runner at the centre, adapters around.

`Companion` is what the web layer drives (`companion.webapp.controller.Controller`). Every
adapter is optional: with no voice, no microphone or no model the session still
runs, and `status()` says in one sentence what is off and why.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from companion.core.clock import Clock, MonotonicClock
from companion.core.effects import (
    Command,
    CommandName,
    Effect,
    HoldVoice,
    Milestone,
    Notice,
    ReleaseVoice,
    SoundEffect,
)
from companion.core.engine import BREAK_COMMANDS, Engine
from companion.core.phase import estimate_speech_seconds
from companion.core.script import Names, Script
from companion.library.catalogue import (
    BREAK_SCRIPT_ID,
    find_break_script,
    script_info,
    spoken_lines,
)
from companion.library.loader import load_library
from companion.listening.commands_vocab import SIGNAL_OFF_NOTE
from companion.options import Options
from companion.runner import Runner
from companion.terminal import TerminalNews
from companion.webapp import messages
from companion.webapp.hub import Hub
from companion.webapp.messages import Preload, Scripts, Snapshot

if TYPE_CHECKING:
    from companion.audio.sound import SoundSystem
    from companion.listening.heard import Heard, ListenStatus, SpeakingNow
    from companion.practice.journal import Journal
    from companion.practice.settings import Settings
    from companion.voice.speech_out import SpeechOut, VoiceStatus

log = logging.getLogger(__name__)


class Companion:
    """One running companion: owns the runner thread and the adapters."""

    def __init__(
        self,
        options: Options,
        *,
        clock: Clock | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.options = options
        # News for the person at the terminal (`companion serve` prints it).
        self._terminal = TerminalNews(say or (lambda line: log.info("%s", line)))
        clock = clock or MonotonicClock()
        # One clock for the engine and the pages: a state is aged on it until it is sent.
        self.hub = Hub(clock=clock)
        loaded = load_library(options.scripts_dir)
        for problem in loaded.errors:
            log.warning("%s", problem)
        self.library: dict[str, Script] = dict(loaded)
        # A time-out must work with any library: the built-in break stands in when needed.
        break_script, self._break_note = find_break_script(loaded)
        if break_script is not None:
            self.library[BREAK_SCRIPT_ID] = break_script
        if self._break_note:
            log.warning("%s", self._break_note)
        self._names = options.names
        self._voice_status: dict[str, Any] = {"on": False, "reason": "The voice is starting."}
        self._listen_status: dict[str, Any] = {
            "on": False,
            "engine": "off",
            "reason": "Listening is off.",
        }
        self._signal = options.signal_phrase
        self._heard_count = 0
        self._held_count = 0
        """Commands acted on and holds of the voice from speech, since start (counts only)."""
        self._echo_canceller = "none"
        """Who takes the companion's voice out of the mic: "companion", "system" or "none"."""
        self.speech: SpeechOut | None = None
        self._sound: SoundSystem | None = None
        self._listener: Any = None
        self._journal: Any = None
        # One writer thread for the settings file: saves happen in order, off the handlers.
        self._settings_writer = ThreadPoolExecutor(1, thread_name_prefix="companion-settings")
        self.engine = Engine(
            self.library,
            break_script_id=BREAK_SCRIPT_ID,
            names=options.names,
            speech_seconds=self._speech_seconds,
        )
        self.runner = Runner(
            self.engine,
            clock,
            on_effects=self._on_effects,
            on_state=lambda state, at: self.hub.send(Snapshot("state", state), taken_at=at),
            prepare=self._prepare,
        )
        self._builtin = dict(self.library)
        self._scripts = [script_info(s, options.names) for s in self.library.values()]

    # -- lifecycle ---------------------------------------------------------

    def sound(self) -> SoundSystem:
        """The one owner of the sound device, shared by the voice and the listener."""
        if self._sound is None:
            from companion.audio.sound import SoundSystem

            self._sound = SoundSystem(self.options.input_device, self.options.output_device)
        return self._sound

    def start(self) -> None:
        """Start every part; none of them blocks or raises for missing hardware."""
        self._start_voice()
        self._start_journal()
        if not self._signal:
            self._signal = self._remembered_settings().signal_phrase
        self._start_listening()
        self.runner.start()
        self.hub.send(Snapshot("status", self.status()))
        self._tell_terminal()
        if self.speech is not None:
            threading.Thread(target=self._warm_voice, name="companion-warm", daemon=True).start()

    def close(self) -> None:
        self.runner.close()
        for part in (self._listener, self.speech, self._journal):
            if part is not None:
                try:
                    part.close()
                except Exception:  # closing must finish whatever one part does
                    log.exception("closing %r failed", part)
        self._settings_writer.shutdown(wait=True)
        self.hub.close()

    # -- the web layer's Controller ------------------------------------------

    def submit(self, command: Command) -> None:
        self.runner.submit(command)

    def set_names(self, names: Names) -> None:
        self._names = names
        self.runner.submit(names)

    def set_signal(self, phrase: str) -> None:
        """Listen for the couple's own break word from now on and remember it; never blocks.

        `phrase` is already clean (`clean_signal_phrase`); "" means none. Every page learns
        whether it can be recognised from the status.
        """
        self._signal = phrase
        if self._listener is not None:
            self._listener.set_signal(phrase)  # its status change is published
        else:
            self.hub.send(Snapshot("status", self.status()))
        self._settings_writer.submit(self._remember_settings)

    @property
    def names(self) -> Names:
        """The partners' names as last set from the page or the command line."""
        return self._names

    def scripts(self) -> list[dict[str, object]]:
        return list(self._scripts)

    def status(self) -> dict[str, object]:
        if self.speech is not None:
            voice = self.speech.status()
            self._voice_status = {
                "on": voice.on,
                "reason": voice.reason,
                "underruns": self.speech.underruns(),
            }
        if self._listener is not None:
            listening = self._listener.status()
            self._listen_status = {
                "on": listening.on,
                "engine": listening.engine,
                "reason": listening.reason,
                "overflows": listening.overflows,
                "echo": self._echo_canceller,
                "heard": self._heard_count,
                "held": self._held_count,
            }
            signal = {"phrase": listening.signal, "note": listening.signal_note}
        else:
            signal = {"phrase": self._signal, "note": SIGNAL_OFF_NOTE if self._signal else ""}
        return {
            "voice": dict(self._voice_status),
            "listening": dict(self._listen_status),
            "signal": signal,
            "timeout": {"on": BREAK_SCRIPT_ID in self.library, "reason": self._break_note},
            "page_audio": {"on": self.speech is not None and self.speech.can_render},
        }

    def state(self) -> dict[str, object]:
        return self.runner.state()

    # -- adapters ------------------------------------------------------------

    def _start_voice(self) -> None:
        if not self.options.voice:
            self._voice_status = {
                "on": False,
                "reason": "The voice is off (--no-voice), so the companion shows captions only.",
            }
            return
        from companion.voice.speech_out import SpeechOut
        from companion.voice.tts import VoiceSettings

        settings = VoiceSettings(
            voice=self.options.voice_name, rate=self.options.rate, volume=self.options.volume
        )
        self.speech = SpeechOut(
            settings, self._cache_dir(), sound=self.sound(), on_status=self._on_voice_status
        )
        self.speech.start()

    def _on_voice_status(self, status: VoiceStatus) -> None:
        """Any thread: the speakers went away or came back."""
        self.hub.send(Snapshot("status", self.status()))
        self._tell_terminal()

    def _start_journal(self) -> None:
        if not self.options.journal:
            return
        from companion.practice.recorder import JournalRecorder

        # Look scripts up at record time: plans add scripts to the library as they arrive.
        self._journal = JournalRecorder(self.options.data_dir, lambda key: self.library.get(key))
        self.refresh_library()

    def open_journal(self) -> Journal:
        """A journal connection for one request (each request opens and closes its own)."""
        from companion.practice.journal import Journal

        return Journal(self.options.data_dir)

    def refresh_library(self) -> None:
        """Add the scripts that homework plans carry, so the page can start them."""
        if not self.options.journal:
            return
        from companion.practice.homework import embedded_scripts

        with self.open_journal() as journal:
            embedded = embedded_scripts(journal.plans())
        # Built-in ids win: a plan cannot replace a library script under the same name.
        added = {key: script for key, script in embedded.items() if key not in self._builtin}
        self.runner.call(lambda engine: self._set_scripts(engine, {**self._builtin, **added}))

    def _set_scripts(self, engine: Engine, scripts: dict[str, Script]) -> None:
        """Runs on the runner thread: the engine's library changes between events only."""
        self.library = scripts
        engine.library = scripts
        self._scripts = [script_info(s, self._names) for s in scripts.values()]
        self.hub.send(Scripts(self.scripts()))

    def _start_listening(self) -> None:
        if self.options.listen_engine == "off":
            self._listen_status = {
                "on": False,
                "engine": "off",
                "reason": "Listening is off (--engine off).",
            }
            return
        try:
            from companion.listening.heard import ListenSettings
            from companion.listening.speech_in import Listener
        except ImportError:
            return
        from companion.audio.capture import DeviceSource

        settings = ListenSettings(engine=self.options.listen_engine, signal_phrase=self._signal)
        sound = self.sound()
        # What the voice just played lets the listener take the companion's echo out of the
        # mic, unless the sound server's own echo canceller already did.
        played = self.speech.recent_output if self.speech is not None else None
        if sound.echo_cancelled_input():
            played = None
            self._echo_canceller = "system"
            log.warning("the system's echo canceller cleans the mic: %s", sound.input_server_name)
        elif played is not None:
            self._echo_canceller = "companion"
        self._listener = Listener(
            settings,
            on_heard=self._on_heard,
            speaking=self._speaking,
            source=lambda: DeviceSource(None, settings.block_seconds, sound=sound),
            played=played,
            on_status=self._on_listen_status,
            on_hold=self._on_hold,
        )
        self._listener.start()

    def _on_listen_status(self, status: ListenStatus) -> None:
        """Any thread: the mic came on or went off, or the signal word was checked.

        The terminal hears each change (loading, on, off and why), not only the first."""
        self.hub.send(Snapshot("status", self.status()))
        self._tell_terminal()

    def _tell_terminal(self) -> None:
        self._terminal.tell(self.status())

    def _settings_dir(self) -> Path:
        from companion.practice.journal_file import resolve_data_dir

        return resolve_data_dir(self.options.data_dir)

    def _remembered_settings(self) -> Settings:
        from companion.practice.settings import load_settings

        return load_settings(self._settings_dir())

    def _remember_settings(self) -> None:
        """On the settings writer's thread: the latest choices, written whole."""
        from companion.practice.settings import Settings, save_settings

        folder = self._settings_dir()
        try:
            save_settings(folder, Settings(signal_phrase=self._signal))
        except OSError as error:
            log.warning("could not remember the settings in %s: %s", folder, error)

    def _cache_dir(self) -> Path:
        from companion.voice.tts import default_cache_dir

        return self.options.cache_dir or default_cache_dir()

    def _speech_seconds(self, text: str) -> float:
        if self.speech is not None:
            return self.speech.seconds(text)
        return estimate_speech_seconds(text, self.options.rate)

    def _prepare(self, script: Script, progress: Callable[[int, int], None]) -> None:
        # Rendered even with no sound device here: pages may play the lines themselves.
        if self.speech is None or not self.speech.can_render:
            return
        lines = spoken_lines(script, self._names, self.library.get(BREAK_SCRIPT_ID))
        self.speech.prepare(lines, progress)
        # Pages that play the guidance fetch every line now, so each starts in step.
        keys = [self.speech.audio_key(line) for line in lines]
        self.hub.send(Preload([f"/audio/{key}.wav" for key in keys if key]))

    def _warm_voice(self) -> None:
        """Render every built-in line in the background so any start speaks at once."""
        assert self.speech is not None
        break_script = self.library.get(BREAK_SCRIPT_ID)
        for script in list(self.library.values()):
            if not self.speech.can_render:
                return
            try:
                self.speech.prepare(spoken_lines(script, self._names, break_script))
            except Exception:
                log.exception("rendering %s ahead failed", script.id)

    def audio_file(self, key: str) -> Path | None:
        """A rendered line's WAV, for pages that play the guidance themselves."""
        return self.speech.audio_file(key) if self.speech is not None else None

    def _sound_for_pages(self, effect: SoundEffect) -> None:
        """Tell pages that play the guidance what the computer plays now (`sound`)."""
        speech = self.speech
        if speech is not None and speech.can_render:
            self.hub.send(messages.sound_message(effect, speech.audio_key))

    def _on_effects(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, SoundEffect):
                if self.speech is not None:
                    self.speech.handle(effect)
                self._sound_for_pages(effect)
            elif isinstance(effect, Notice):
                self.hub.send(messages.Notice(effect.text))
            elif isinstance(effect, Milestone) and self._journal is not None:
                try:
                    self._journal.record(effect)
                except Exception:  # the journal must never stop a session
                    log.exception("the journal could not record %r", effect)

    def _on_heard(self, heard: Heard) -> None:
        """Runs on the recogniser's thread: queue the command, tell every page what was heard."""
        if heard.command is not None:
            self._heard_count += 1
            self.submit(Command(heard.command, source="voice"))
        action = messages.ACTIONS.get(heard.command, "") if heard.command is not None else ""
        state = self.state()
        waiting = cast("dict[str, object]", state.get("waiting") or {})
        if waiting.get("for") == "role" and heard.command in (CommandName.READY, CommandName.NEXT):
            # In a role question "ready" and "next" choose a partner: say whom.
            names = self._names
            action = f"{names.a if heard.command is CommandName.READY else names.b} chosen"
        elif action and heard.command not in BREAK_COMMANDS and state.get("on_break"):
            action = "not during a break"
        self.hub.send(messages.Heard(heard.text, str(heard.command or ""), action))
        self.hub.send(Snapshot("status", self.status()))

    def _on_hold(self, held: bool) -> None:
        """Runs on the recogniser's thread: what may be "pause" holds the voice, and the
        release follows the command it decided; both go through the runner, the voice's one
        driver, so a paused voice never plays on for a moment before the pause reaches it."""
        if self.speech is None:
            return
        if held:
            self._held_count += 1
        self.runner.submit(HoldVoice() if held else ReleaseVoice())

    def _speaking(self) -> SpeakingNow:
        from companion.listening.heard import SpeakingNow

        if self.speech is None:
            return SpeakingNow("", 0.0)
        return SpeakingNow(self.speech.playing_text(), self.speech.last_sound_end())
