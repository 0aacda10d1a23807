// A speaker-listener turn: who has the floor, who listens, and the turn's clock.

import { left, mmss } from "./clock.js";
import { $ } from "./dom.js";

// What each stage of a turn says: its name, the part of the partner named first (during
// the paraphrase, the listener), the other's part, and the hint under the clock.
const STAGES = {
  floor: {
    name: "Speaking",
    first: "has the floor",
    second: "listens",
    hint: (floor) => `Speak for yourself, in short “I” sentences. Pause so ${floor.listener} can say it back.`,
  },
  paraphrase: {
    name: "Saying back",
    first: "says back what they heard",
    second: "listens: did they get it?",
    hint: () => `“If I got it, you said…”`,
  },
  check: {
    name: "Did I get it?",
    first: "answers: is there more?",
    second: "asked: did I get it?",
    hint: () => `“Did I get it? Is there more?”`,
  },
};

export function renderFloor(floor) {
  const paraphrase = floor.stage === "paraphrase";
  const stage = Object.hasOwn(STAGES, floor.stage) ? STAGES[floor.stage] : STAGES.floor;
  $("floor-round").textContent = `Round ${floor.round} of ${floor.rounds} · ${stage.name}`;
  $("floor-speaker").textContent = paraphrase ? floor.listener : floor.speaker;
  $("floor-speaker-role").textContent = stage.first;
  $("floor-listener").textContent = paraphrase ? floor.speaker : floor.listener;
  $("floor-listener-role").textContent = stage.second;
  $("floor-hint").textContent = stage.hint(floor);
  $("view-floor").classList.toggle("warning", Boolean(floor.warning));
}

export function tickFloor(floor) {
  const t = left(floor.remaining);
  $("floor-time").textContent = t === null ? "" : mmss(t);
  const total = floor.seconds || 1;
  $("floor-fill").style.width = t === null ? "100%" : `${(t / total) * 100}%`;
}
