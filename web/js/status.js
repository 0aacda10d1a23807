// What is on and off: the voice and listening pills, the reasons under the bar, and the
// parts of the status other modules show (break word, page audio, whether a time-out runs).

import { renderControls } from "./controls.js";
import { $ } from "./dom.js";
import { renderSpeakers, setPlayHere } from "./page-audio.js";
import { renderSignal } from "./signal-word.js";
import { page } from "./state.js";

// Returns true when listening came on or went off: the prompts on the stage follow it.
export function renderStatus(status) {
  if (!status) return false;
  const voice = status.voice || {};
  const listening = status.listening || {};
  setPill($("voice"), voice.on, "Voice on", "Voice off", voice.reason);
  const engine = listening.engine && listening.engine !== "off" ? ` (${listening.engine})` : "";
  setPill($("listening"), listening.on, `Listening${engine}`, "Not listening", listening.reason);
  const listens = Boolean(listening.on);
  const changed = listens !== page.listeningOn;
  page.listeningOn = listens;
  // The reasons in full, one line under the bar: what is off and what to do about it.
  if (status.timeout) page.timeout = status.timeout;
  page.voiceOn = Boolean(voice.on);
  page.pageAudio = Boolean(status.page_audio && status.page_audio.on);
  $("play-here").hidden = !page.pageAudio;
  if (!page.pageAudio && page.playHere) setPlayHere(false);
  renderSpeakers();
  const reasons = [
    voice.on ? "" : voice.reason,
    listening.on ? "" : listening.reason,
    page.timeout.reason,
  ].filter(Boolean);
  $("status-detail").textContent = reasons.join(" ");
  $("status-detail").hidden = reasons.length === 0;
  renderSignal(status.signal);
  renderControls();
  return changed;
}

function setPill(pill, on, onText, offText, reason) {
  pill.classList.toggle("on", Boolean(on));
  pill.classList.toggle("off", !on);
  pill.textContent = on ? onText : offText;
  pill.title = reason || "";
}
