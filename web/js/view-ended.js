// The end of a session: how it ended, and after a stop past the first step, "Go on".

import { command } from "./connection.js";
import { $, bind } from "./dom.js";
import { sendNames } from "./names.js";
import { page } from "./state.js";

export function renderEnded(state) {
  const completed = state.ended === "completed";
  // A stop past the first step can be undone: a misheard "stop" costs nobody their place.
  const at = completed ? null : state.stopped_at || null;
  page.stoppedAt = at;
  $("ended-title").textContent = completed ? "That exercise is complete." : "That is all right.";
  $("ended-text").textContent = completed
    ? "Notice how you feel now. You can start another exercise whenever you like."
    : at
      ? "You can go on from where you stopped, or start again whenever you are both ready."
      : "You can start again whenever you are both ready.";
  const goOn = $("go-on");
  goOn.hidden = !at;
  if (at) {
    goOn.textContent = `Go on from step ${at.index + 1} of ${at.count}`;
    // The name starts with the visible text, as voice control expects, then says which.
    goOn.setAttribute("aria-label", `${goOn.textContent} (${at.title})`);
  }
}

function goOn() {
  const at = page.stoppedAt;
  if (!at || !sendNames()) return;
  command("start", { script: at.id, step: at.index });
}

export function bindEnded() {
  bind("go-on", goOn);
}
