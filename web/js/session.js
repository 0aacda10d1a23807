// The session on the stage: which view a state shows (welcome, breathing, the floor, the
// break, a gate, a timer, the end), drawn on every state and its clocks on every frame.

import { hideCalm, noticeEnding, noticeStart } from "./calm.js";
import { renderCaption } from "./captions.js";
import { left, mmss } from "./clock.js";
import { renderControls } from "./controls.js";
import { $ } from "./dom.js";
import { renderScriptNotes } from "./library.js";
import { renderNames } from "./names.js";
import { ACTIVE, page } from "./state.js";
import { renderBreak, tickBreak } from "./view-break.js";
import { renderBreathText, tickBreath } from "./view-breath.js";
import { renderEnded } from "./view-ended.js";
import { renderFloor, tickFloor } from "./view-floor.js";
import { renderReady, renderRole } from "./view-gates.js";

function viewFor(state) {
  if (state.status === "idle") return "welcome";
  if (state.status === "ended") return "ended";
  const waiting = state.waiting;
  if (waiting && waiting.for === "return") return "break";
  if (waiting && waiting.for === "ready") return "ready";
  if (waiting && waiting.for === "role") return "role";
  if (state.break) return "break";
  if (state.floor) return "floor";
  if (state.breath) return "breath";
  return "timer";
}

export function renderState() {
  const state = page.state;
  const body = document.body;
  body.dataset.status = state.status;
  body.classList.toggle("active", ACTIVE.has(state.status));

  const script = state.script;
  // An ended screen says one thing: its heading is how it ended.
  const ended = state.ended === "completed" ? "Well done" : "Stopped";
  $("script-title").textContent = script ? script.title : state.status === "ended" ? ended : "Welcome";
  const step = state.step;
  $("step-label").textContent = step ? `Step ${step.index + 1} of ${step.count}` : "";
  $("step-bar").style.width = step ? `${((step.index + 1) / step.count) * 100}%` : "0";
  $("paused-badge").hidden = state.status !== "paused";
  body.dataset.stepKind = step ? step.kind : "";

  const view = viewFor(state);
  for (const name of ["welcome", "breath", "floor", "break", "ready", "role", "timer", "ended"]) {
    $(`view-${name}`).hidden = name !== view;
  }
  body.dataset.view = view;

  renderNames(state.names);
  renderCaption(state.caption || "");
  if (view === "floor") renderFloor(state.floor);
  if (view === "break") renderBreak(state);
  if (view === "ready") renderReady(state);
  if (view === "role") renderRole(state);
  renderScriptNotes(state);
  if (view === "ended") renderEnded(state);
  noticeEnding(state);
  noticeStart(state);
  if (state.on_break) hideCalm("before"); // a break is no moment to rate how calm you began
  if (view === "breath") renderBreathText(state.breath);
  renderControls();
  tick();
}

// The clocks and the pacer, from the latest state; called on every animation frame.
export function tick() {
  const state = page.state;
  if (!state) return;
  const view = document.body.dataset.view;
  if (view === "floor" && state.floor) {
    tickFloor(state.floor);
  } else if (view === "break") {
    tickBreak(state);
  } else if (view === "breath" && state.breath) {
    tickBreath(state.breath);
  } else if (view === "timer") {
    const phase = state.phase;
    const t = phase && phase.kind === "silence" ? left(phase.remaining) : null;
    $("timer-time").textContent = t === null ? "" : mmss(t);
  }
}
