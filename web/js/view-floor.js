// A speaker-listener turn: who has the floor, who listens, and the turn's clock.

import { left, mmss } from "./clock.js";
import { $ } from "./dom.js";

export function renderFloor(floor) {
  const paraphrase = floor.stage === "paraphrase";
  const check = floor.stage === "check";
  const stage = paraphrase ? "Saying back" : check ? "Did I get it?" : "Speaking";
  $("floor-round").textContent = `Round ${floor.round} of ${floor.rounds} · ${stage}`;
  $("floor-speaker").textContent = paraphrase ? floor.listener : floor.speaker;
  $("floor-speaker-role").textContent = paraphrase
    ? "says back what they heard"
    : check
      ? "answers: is there more?"
      : "has the floor";
  $("floor-listener").textContent = paraphrase ? floor.speaker : floor.listener;
  $("floor-listener-role").textContent = paraphrase
    ? "listens: did they get it?"
    : check
      ? "asked: did I get it?"
      : "listens";
  $("floor-hint").textContent = paraphrase
    ? `“If I got it, you said…”`
    : check
      ? `“Did I get it? Is there more?”`
      : `Speak for yourself, in short “I” sentences. Pause so ${floor.listener} can say it back.`;
  $("view-floor").classList.toggle("warning", Boolean(floor.warning));
}

export function tickFloor(floor) {
  const t = left(floor.remaining);
  $("floor-time").textContent = t === null ? "" : mmss(t);
  const total = floor.seconds || 1;
  $("floor-fill").style.width = t === null ? "100%" : `${(t / total) * 100}%`;
}
