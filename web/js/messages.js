// What each message from the companion does on this page (docs/protocol.md).

import { send } from "./connection.js";
import { renderControls } from "./controls.js";
import { loadHomework, renderHomework } from "./homework.js";
import { renderLibrary } from "./library.js";
import { showHeard, showToast } from "./notices.js";
import { playSound, preload, renderSpeakers } from "./page-audio.js";
import { loadPairing } from "./pairing.js";
import { renderState } from "./session.js";
import { refuseSignal } from "./signal-word.js";
import { page } from "./state.js";
import { renderStatus } from "./status.js";

export function onMessage(message) {
  const data = message && message.data;
  switch (message && message.type) {
    case "hello":
      page.scripts = Array.isArray(data.scripts) ? data.scripts : [];
      renderLibrary();
      if (renderStatus(data.status) && page.state) renderState();
      loadHomework();
      loadPairing();
      if (page.playHere) send("speaker", { on: true }); // a new connection: say so again
      break;
    case "sound":
      playSound(data);
      break;
    case "preload":
      preload(data.urls);
      break;
    case "speakers":
      page.speakers = Number(data.pages) || 0;
      renderSpeakers();
      break;
    case "scripts":
      // The library changed (a plan brought its own scripts); the choice stays if still there.
      page.scripts = Array.isArray(data.scripts) ? data.scripts : [];
      renderLibrary();
      renderHomework();
      renderControls();
      break;
    case "state":
      page.state = data;
      page.receivedAt = performance.now();
      renderState();
      break;
    case "status":
      if (renderStatus(data) && page.state) renderState(); // prompts follow the mic
      break;
    case "heard":
      showHeard(data);
      break;
    case "error":
      if (data.about === "signal") refuseSignal(data.message);
      else showToast(data.message);
      break;
    case "notice":
      showToast(data.message);
      break;
    default:
      break;
  }
}
