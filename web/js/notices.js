// Short-lived words for everyone in the room: the toast and what the microphone heard.

import { $ } from "./dom.js";
import { page } from "./state.js";

export function showHeard(data) {
  const pill = $("heard");
  const action = data.action ? ` – ${data.action}` : "";
  pill.textContent = `heard: ${data.command || data.text || ""}${action}`;
  pill.hidden = false;
  clearTimeout(page.heardTimer);
  page.heardTimer = setTimeout(() => (pill.hidden = true), 4000);
}

export function showToast(text) {
  const toast = $("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(page.toastTimer);
  page.toastTimer = setTimeout(() => (toast.hidden = true), 5000);
}
