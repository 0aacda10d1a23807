// Time on the page: counted down from the server's `remaining` and performance.now() at
// receipt (never a per-tick decrement, which drifts); nothing counts while paused.

import { page } from "./state.js";

// Seconds left of a server `remaining`, counted from its receipt; frozen while paused.
export function left(remaining) {
  if (typeof remaining !== "number") return null;
  if (!page.state || page.state.status === "paused") return Math.max(0, remaining);
  const elapsed = (performance.now() - page.receivedAt) / 1000;
  return Math.max(0, remaining - elapsed);
}

export function mmss(seconds) {
  const whole = Math.max(0, Math.ceil(seconds));
  const m = Math.floor(whole / 60);
  const s = whole % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

export function clockAt(secondsFromNow) {
  const at = new Date(Date.now() + secondsFromNow * 1000);
  return at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export const ease = (p) => (1 - Math.cos(Math.PI * Math.min(1, Math.max(0, p)))) / 2;
