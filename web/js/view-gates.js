// The gates a session waits at: "ready" (one button per partner the gate waits for) and
// "who takes this part?" (one button per name; by voice "ready" or "next").

import { command } from "./connection.js";
import { $, bind } from "./dom.js";
import { heardPrompt } from "./prompts.js";
import { page } from "./state.js";

export function renderReady(state) {
  const waiting = state.waiting;
  const names = state.names || { a: "Partner A", b: "Partner B" };
  $("ready-prompt").textContent = heardPrompt(
    waiting.prompt || "Let the companion know when you are ready.",
  );
  const ready = new Set(waiting.ready || []);
  for (const key of ["a", "b"]) {
    const button = $(`ready-${key}`);
    const shown = waiting.who === "either" || waiting.who === "both" || waiting.who === key;
    button.hidden = !shown;
    button.textContent = `${names[key]} is ready`;
    button.setAttribute("aria-label", `${names[key]} is ready`);
    button.setAttribute("aria-pressed", String(ready.has(key)));
  }
}

// Who takes a role: one button per partner; by voice "ready" is the first name, "next" the second.
export function renderRole(state) {
  const names = state.names || { a: "Partner A", b: "Partner B" };
  $("role-prompt").textContent = state.waiting.prompt || "Who takes this part?";
  for (const key of ["a", "b"]) {
    const button = $(`role-${key}`);
    button.textContent = names[key];
  }
  $("role-hint").textContent = `Or say “ready” for ${names.a}, or “next” for ${names.b}.`;
  $("role-hint").hidden = !page.listeningOn;
}

export function chooseRole(partner, source = "page") {
  const waiting = page.state && page.state.waiting;
  if (!waiting || waiting.for !== "role") return;
  command("ready", { partner }, source);
}

function ready(partner, source = "page") {
  command("ready", { partner }, source);
}

// Enter: the partner the gate waits for; with two, the first not yet ready.
export function readyByKey() {
  const waiting = page.state && page.state.waiting;
  if (!waiting || waiting.for !== "ready") return;
  const done = new Set(waiting.ready || []);
  let partner = "";
  if (waiting.who === "a" || waiting.who === "b") partner = waiting.who;
  else if (waiting.who === "both") partner = done.has("a") ? "b" : "a";
  ready(partner, "key");
}

export function bindGates() {
  bind("ready-a", () => ready("a"));
  bind("ready-b", () => ready("b"));
  bind("role-a", () => chooseRole("a"));
  bind("role-b", () => chooseRole("b"));
}
