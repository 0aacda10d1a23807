// "How calm do you feel?", 0 to 10 per partner: offered once as a session starts and once
// as it ends, small and skippable, saved in the journal.

import { $, bind, el } from "./dom.js";
import { loadHomework } from "./homework.js";
import { page } from "./state.js";

// When a session ends: refresh the homework once and offer the calm rating.
export function noticeEnding(state) {
  const ended = state.status === "ended" && state.ended ? state.ended : "";
  if (ended === page.endedSeen) return;
  page.endedSeen = ended;
  if (!ended) {
    hideCalm();
    return;
  }
  loadHomework();
  if (page.journal) askCalm(state.names || { a: "Partner A", b: "Partner B" });
}

// When a session starts: offer the "before" rating once, small and skippable.
export function noticeStart(state) {
  const live = ["running", "waiting", "paused"].includes(state.status) && Boolean(state.script);
  if (!live) {
    if (state.status !== "preparing") page.liveSeen = false;
    hideCalm("before");
    return;
  }
  if (page.liveSeen) return;
  page.liveSeen = true;
  if (page.journal) askCalm(state.names || { a: "Partner A", b: "Partner B" }, "before");
}

// The 0-10 rating rows; `moment` is "before" (as a session starts) or "after" (at its end).
function askCalm(names, moment = "after") {
  const prefix = moment === "after" ? "calm" : "calm-before";
  const rows = $(`${prefix}-rows`);
  rows.replaceChildren();
  for (const key of ["a", "b"]) {
    const row = el("div", "calm-row");
    row.setAttribute("role", "radiogroup");
    const label = el("span", "calm-name", names[key]);
    label.id = `${prefix}-name-${key}`;
    row.setAttribute("aria-labelledby", label.id);
    const scale = el("div", "calm-scale");
    for (let value = 0; value <= 10; value += 1) {
      const button = el("button", "calm-value", String(value));
      button.type = "button";
      button.setAttribute("role", "radio");
      button.setAttribute("aria-checked", "false");
      button.setAttribute("aria-label", `${names[key]}: ${value} of 10`);
      button.addEventListener("click", () => rateCalm(key, value, scale, button, moment));
      scale.append(button);
    }
    row.append(label, scale);
    rows.append(row);
  }
  $(`${prefix}-done`).textContent = "";
  $(`${prefix}-skip`).textContent = "Skip";
  $(prefix).hidden = false;
  page.calmAsked = true;
}

async function rateCalm(partner, value, scale, button, moment) {
  const prefix = moment === "after" ? "calm" : "calm-before";
  let ok = false;
  try {
    const response = await fetch("/api/journal/calm", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ partner, moment, value }),
    });
    ok = response.ok;
  } catch {
    ok = false;
  }
  if (!ok) {
    $(`${prefix}-done`).textContent = "That rating could not be saved; it is fine to skip it.";
    return;
  }
  for (const other of scale.querySelectorAll(".calm-value")) {
    other.setAttribute("aria-checked", String(other === button));
  }
  $(`${prefix}-done`).textContent = "Saved in your journal, on this computer only.";
  $(`${prefix}-skip`).textContent = "Done";
}

export function hideCalm(moment = "after") {
  $(moment === "after" ? "calm" : "calm-before").hidden = true;
  page.calmAsked = !$("calm").hidden || !$("calm-before").hidden;
}

export function bindCalm() {
  bind("calm-skip", () => hideCalm("after"));
  bind("calm-before-skip", () => hideCalm("before"));
}
