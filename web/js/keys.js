// Keyboard shortcuts (the Help dialog lists them): they wait while someone types, leave
// a focused button its own Space and Enter, and during a break skip nothing by accident.

import { hideCalm } from "./calm.js";
import { command } from "./connection.js";
import { timeout, togglePause } from "./controls.js";
import { $, toggleDialog } from "./dom.js";
import { toggleHomework } from "./homework.js";
import { showToast } from "./notices.js";
import { hideDropZone } from "./plan-import.js";
import { ACTIVE, page } from "./state.js";
import { chooseRole, readyByKey } from "./view-gates.js";

// The server refuses the same during a break and says so (companion/engine.py).
const ON_BREAK_TEXT = "During a break only Pause, More time, Come back early and Stop work.";
const NOT_ON_BREAK = new Set(["n", "b", "r", "-", "_", "+", "="]);

const KEYS = {
  " ": () => togglePause("key"),
  t: () => (page.timeout.on === false ? showToast(page.timeout.reason) : !$("timeout").disabled && timeout("key")),
  n: () => command("next", {}, "key"),
  b: () => command("back", {}, "key"),
  r: () => command("repeat", {}, "key"),
  s: () => command("stop", {}, "key"),
  "-": () => command("slower", {}, "key"),
  _: () => command("slower", {}, "key"),
  "+": () => command("faster", {}, "key"),
  "=": () => command("faster", {}, "key"),
  Enter: () => readyByKey(),
  1: () => chooseRole("a", "key"),
  2: () => chooseRole("b", "key"),
};

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  const typing = target.closest && target.closest("input, select, textarea, [contenteditable]");
  if (typing) return;
  if (event.key === "?") {
    event.preventDefault();
    toggleDialog($("help"));
    return;
  }
  if ((event.key === "h" || event.key === "H") && page.journal && !$("help").open && !$("safety").open) {
    event.preventDefault();
    toggleHomework();
    return;
  }
  if (event.key === "Escape") {
    // Open dialogs close themselves on Escape; these two are not dialogs.
    if (!hideDropZone() && page.calmAsked && !document.querySelector("dialog[open]")) {
      hideCalm("before");
      hideCalm("after");
    }
    return;
  }
  if (document.querySelector("dialog[open]")) return;
  // A focused button answers Space and Enter itself, as every button does.
  if ((event.key === " " || event.key === "Enter") && target.closest && target.closest("button")) return;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  const action = KEYS[key];
  if (!action) return;
  event.preventDefault();
  if (key !== "Enter" && key !== "t" && !(page.state && ACTIVE.has(page.state.status))) return;
  if (page.state && page.state.on_break && NOT_ON_BREAK.has(key)) {
    showToast(ON_BREAK_TEXT);
    return;
  }
  action();
}

export function bindKeys() {
  document.addEventListener("keydown", onKey);
}
