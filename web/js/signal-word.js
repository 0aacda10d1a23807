// The couple's own break word: the field, its check as typed, and the server's answer
// (whether the speech model can recognise it) shown under it.

import { send } from "./connection.js";
import { $ } from "./dom.js";
import { page } from "./state.js";

const SIGNAL_HINT = "A word you both agree on, in a calm moment, to call a time-out.";
// The server checks the same (companion/commands_vocab.py, clean_signal_phrase); this copy
// answers as the word is typed, before anything is sent. tests/test_browser_signal_rules.py
// holds the two to the same sentences.
const SIGNAL_MAX_CHARS = 40;
const SIGNAL_MAX_WORDS = 4;

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

// What is wrong with a break word as typed ("" when nothing is); the server checks again.
export function signalProblem(phrase) {
  if (phrase.length > SIGNAL_MAX_CHARS) return `A break word must be at most ${SIGNAL_MAX_CHARS} characters.`;
  if (phrase.split(" ").length > SIGNAL_MAX_WORDS) return `A break word must be at most ${SIGNAL_MAX_WORDS} words.`;
  const odd = phrase.match(/[^\p{L}\p{M} '\u2019]/u);
  if (odd) return `A break word may use only letters, spaces and apostrophes, not “${odd[0]}”.`;
  if (phrase && !/\p{L}/u.test(phrase)) return "A break word needs at least one letter.";
  return "";
}

function setSignal(event) {
  event.preventDefault();
  const input = $("signal-word");
  const phrase = input.value.trim().replace(/\s+/g, " ");
  page.signalProblem = signalProblem(phrase);
  if (page.signalProblem) {
    setSignalNote(page.signalProblem, "problem");
    return;
  }
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
