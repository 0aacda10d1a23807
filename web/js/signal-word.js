// The couple's own break word: the field, and the server's answer shown under it (a
// refusal in the server's own words, or whether the speech model can recognise the word).
// The rules live only in the server (companion/listening/commands_vocab.py).

import { send } from "./connection.js";
import { $ } from "./dom.js";
import { page } from "./state.js";

const SIGNAL_HINT = "A word you both agree on, in a calm moment, to call a time-out.";

// The break word field and, under it, whether the speech model can recognise the word.
export function renderSignal(signal) {
  const input = $("signal-word");
  if (signal) {
    page.signal = signal;
    // Never overwrite what someone is typing.
    if (document.activeElement !== input && !page.signalTyped) input.value = signal.phrase || "";
  }
  if (page.signalProblem) return;
  const current = page.signal || { phrase: "", note: "" };
  if (current.phrase) setSignalNote(current.note || "");
  else setSignalNote(SIGNAL_HINT, "hint");
}

function setSignalNote(text, kind = "") {
  const note = $("signal-note");
  note.className = kind ? `signal-note ${kind}` : "signal-note";
  if (note.textContent !== text) note.textContent = text;
}

// The server refused the word as typed: say why under the field, until it is changed.
export function refuseSignal(sentence) {
  page.signalProblem = sentence;
  page.signalTyped = true; // keep what was typed, to be corrected
  setSignalNote(sentence, "problem");
}

function setSignal(event) {
  event.preventDefault();
  const input = $("signal-word");
  const phrase = input.value.trim().replace(/\s+/g, " ");
  page.signalProblem = "";
  if (!send("signal", { phrase })) return;
  input.value = phrase;
  page.signalTyped = false;
  // The answer comes back in the status: can or cannot be recognised.
  setSignalNote(phrase ? `Checking “${phrase}”…` : SIGNAL_HINT, phrase ? "" : "hint");
}

export function bindSignalWord() {
  $("signal-form").addEventListener("submit", setSignal);
  $("signal-set").addEventListener("click", (event) => {
    // After a mouse click let the shortcuts work at once, as the other buttons do.
    if (event.detail > 0) event.currentTarget.blur();
  });
  $("signal-word").addEventListener("input", () => {
    page.signalTyped = true;
    if (!page.signalProblem) return;
    page.signalProblem = "";
    renderSignal(null);
  });
}
