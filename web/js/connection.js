// The WebSocket to the companion: connect, reconnect by itself, send. What each message
// does is messages.js's job; this module only carries them.

import { $ } from "./dom.js";
import { showToast } from "./notices.js";
import { page } from "./state.js";

const RECONNECT_DELAYS = [500, 1000, 2000, 4000, 8000];

// `onMessage(message)` gets every parsed message; `onConnection()` runs when the
// connection opens or is lost.
export function connect(handlers) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  page.ws = ws;
  ws.addEventListener("open", () => {
    page.connected = true;
    page.attempts = 0;
    setConnection("connected", handlers);
  });
  ws.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    handlers.onMessage(message);
  });
  ws.addEventListener("close", () => {
    if (page.ws !== ws) return;
    page.connected = false;
    setConnection("lost", handlers);
    const base = RECONNECT_DELAYS[Math.min(page.attempts, RECONNECT_DELAYS.length - 1)];
    page.attempts += 1;
    // Jitter so several tabs do not knock on the server at the same instant.
    setTimeout(() => connect(handlers), base + Math.random() * 300);
  });
}

function setConnection(kind, handlers) {
  document.body.dataset.connection = kind;
  const label = { connected: "Connected", lost: "Reconnecting…", connecting: "Connecting…" }[kind];
  const pill = $("connection");
  pill.textContent = label;
  pill.classList.toggle("on", kind === "connected");
  handlers.onConnection();
}

export function send(type, data) {
  if (!page.connected || page.ws.readyState !== WebSocket.OPEN) {
    showToast("Not connected to the companion yet; reconnecting…");
    return false;
  }
  page.ws.send(JSON.stringify({ type, data }));
  return true;
}

export function command(name, extra = {}, source = "page") {
  return send("command", { name, source, ...extra });
}
