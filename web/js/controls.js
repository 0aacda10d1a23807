// The control bar: which buttons act now (and, during a break, which are shown at all),
// and what each one sends.

import { command } from "./connection.js";
import { $, bind, toggleDialog } from "./dom.js";
import { knownScript, start } from "./library.js";
import { ACTIVE, page } from "./state.js";
import { atLimit, moreMinutes } from "./view-break.js";

export function renderControls() {
  const state = page.state;
  const status = state ? state.status : "idle";
  const active = ACTIVE.has(status);
  const online = page.connected;
  const paused = status === "paused";
  const pause = $("pause");
  // The accessible name is the visible text ("Pause Space"), as voice control expects.
  $("pause-text").textContent = paused ? "Resume" : "Pause";
  pause.disabled = !online || !active;
  for (const id of ["back", "repeat", "next", "stop"]) $(id).disabled = !online || !active;
  for (const id of ["slower", "faster"]) $(id).disabled = !online || !active;
  // During a break the bar holds only what acts then: Pause, more time, come back, Stop.
  const onBreak = Boolean(state && state.on_break);
  const choosing = Boolean(state && state.waiting && state.waiting.for === "return");
  for (const id of ["back", "repeat", "next", "slower", "faster"]) $(id).hidden = onBreak;
  document.querySelector(".timeout-group").hidden = onBreak;
  for (const gap of document.querySelectorAll(".control-gap")) gap.hidden = onBreak;
  $("bar-more").hidden = !onBreak || choosing;
  $("bar-more").disabled = !online || atLimit(state);
  $("bar-more-text").textContent = `More time (+${Math.round(moreMinutes(state))} min)`;
  $("bar-return").hidden = !onBreak || choosing;
  $("bar-return").disabled = !online;
  if (!onBreak || choosing) $("early-confirm").hidden = true;
  const canBreak = page.timeout.on !== false;
  $("timeout").disabled = !online || onBreak || !canBreak;
  $("timeout").title = canBreak ? "" : page.timeout.reason || "";
  $("timeout-minutes").disabled = !online || onBreak || !canBreak;
  $("start").disabled = !online || !page.chosen || active;
  for (const button of document.querySelectorAll("[data-start-script]")) {
    button.disabled = !online || active || !knownScript(button.dataset.startScript);
  }
}

export function togglePause(source = "page") {
  if (!page.state) return;
  command(page.state.status === "paused" ? "resume" : "pause", {}, source);
}

export function timeout(source = "page") {
  command("timeout", { minutes: Number($("timeout-minutes").value) || 20 }, source);
}

export function bindControls() {
  bind("start", start);
  bind("pause", () => togglePause());
  bind("back", () => command("back"));
  bind("repeat", () => command("repeat"));
  bind("next", () => command("next"));
  bind("slower", () => command("slower"));
  bind("faster", () => command("faster"));
  bind("stop", () => command("stop"));
  bind("timeout", () => timeout());
  bind("help-open", () => toggleDialog($("help")));
  bind("safety-open", () => toggleDialog($("safety")));
}
