// The companion's page: renders server state, sends commands. No build step, no
// dependencies: ES modules under js/, each one job (README, "How it is built"). This one
// only wires them together and starts the page.

import { bindCalm } from "./js/calm.js";
import { connect } from "./js/connection.js";
import { bindControls, renderControls } from "./js/controls.js";
import { bindHomework } from "./js/homework.js";
import { bindKeys } from "./js/keys.js";
import { bindLibrary } from "./js/library.js";
import { onMessage } from "./js/messages.js";
import { bindNames } from "./js/names.js";
import { bindPageAudio, meterSound } from "./js/page-audio.js";
import { bindPairing } from "./js/pairing.js";
import { bindPlanImport } from "./js/plan-import.js";
import { tick } from "./js/session.js";
import { bindSignalWord } from "./js/signal-word.js";
import { bindBreak } from "./js/view-break.js";
import { bindEnded } from "./js/view-ended.js";
import { bindGates } from "./js/view-gates.js";

const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

function frame() {
  tick();
  meterSound();
  requestAnimationFrame(frame);
}

function init() {
  bindControls();
  bindEnded();
  bindBreak();
  bindGates();
  bindPairing();
  bindPageAudio();
  bindHomework();
  bindPlanImport();
  bindCalm();
  bindNames();
  bindSignalWord();
  bindLibrary();
  bindKeys();
  reducedMotion.addEventListener("change", () => tick());
  renderControls();
  connect({ onMessage, onConnection: renderControls });
  requestAnimationFrame(frame);
}

init();
