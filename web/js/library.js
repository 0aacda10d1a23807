// The exercise picker: the library as a radio group, the chosen script's notes, Start.

import { command } from "./connection.js";
import { $ } from "./dom.js";
import { sendNames } from "./names.js";
import { ACTIVE, page } from "./state.js";

export const knownScript = (id) => page.scripts.some((s) => s.id === id);

export function renderLibrary() {
  const box = $("library");
  box.replaceChildren();
  if (!page.scripts.length) {
    const empty = document.createElement("p");
    empty.className = "muted";
    empty.textContent = "No exercises were found in the library.";
    box.append(empty);
    return;
  }
  if (!page.scripts.some((s) => s.id === page.chosen)) page.chosen = page.scripts[0].id;
  for (const info of page.scripts) {
    const card = document.createElement("button");
    card.type = "button";
    card.className = "script-card";
    card.dataset.script = info.id;
    card.setAttribute("role", "radio");
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = info.title;
    const length = document.createElement("span");
    length.className = "length";
    length.textContent = info.seconds ? `about ${Math.max(1, Math.round(info.seconds / 60))} min` : "";
    const summary = document.createElement("span");
    summary.className = "summary";
    summary.textContent = info.summary || "";
    card.append(title, length, summary);
    card.addEventListener("click", () => chooseScript(info.id));
    box.append(card);
  }
  markChosen();
  renderScriptNotes(page.state);
}

export function chooseScript(id) {
  page.chosen = id;
  markChosen();
  if (page.state) renderScriptNotes(page.state);
}

function markChosen() {
  for (const card of $("library").querySelectorAll(".script-card")) {
    const chosen = card.dataset.script === page.chosen;
    card.setAttribute("aria-checked", String(chosen));
    card.tabIndex = chosen ? 0 : -1;
  }
}

// The running script's safety caption and pointer to help; when idle, the chosen script's.
export function renderScriptNotes(state) {
  const live = state && state.script && ACTIVE.has(state.status) ? state.script : null;
  const info = live || page.scripts.find((s) => s.id === page.chosen) || null;
  const safety = (info && info.safety) || "";
  const help = (info && info.help) || "";
  $("script-safety").textContent = safety;
  $("script-safety").hidden = !safety;
  $("script-help").textContent = help;
  $("script-help").hidden = !help;
  $("script-notes").hidden = !safety && !help;
}

export function start() {
  if (!page.chosen || !sendNames()) return;
  command("start", { script: page.chosen });
}

export function bindLibrary() {
  $("library").addEventListener("keydown", (event) => {
    // Arrow keys move within the radio group, as in any radio group.
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (!step || !page.scripts.length) return;
    event.preventDefault();
    const ids = page.scripts.map((s) => s.id);
    const next = ids[(ids.indexOf(page.chosen) + step + ids.length) % ids.length];
    chooseScript(next);
    $("library").querySelector(`[data-script="${CSS.escape(next)}"]`).focus();
  });
}
