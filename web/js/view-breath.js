// The breathing pacer: a circle that fills and empties with the phase (a bar instead under
// reduced motion, style.css), the phase's word, and one announcement per phase.

import { ease, left } from "./clock.js";
import { $ } from "./dom.js";
import { MIN_SCALE, page } from "./state.js";

const BREATH_WORDS = {
  countdown: "Get ready",
  inhale: "Breathe in",
  inhale2: "A little more",
  hold: "Hold",
  exhale: "Breathe out",
};
const IN_SCALE = 0.9; // the end of the first inhale; a second sip (inhale2) takes it to 1

export function renderBreathText(breath) {
  const perMinute = breath.per_minute;
  $("breath-pace").textContent =
    typeof perMinute === "number" ? `${perMinute.toFixed(1)} breaths/min` : "";
  $("breath-cycle").textContent =
    breath.cycles && breath.cycle ? `Breath ${breath.cycle} of ${breath.cycles}` : "";
  const word = BREATH_WORDS[breath.name] || "";
  $("breath-word").textContent = word;
  // One short announcement per phase for screen readers; the seconds are visual only.
  if ($("breath-spoken").textContent !== word) $("breath-spoken").textContent = word;
}

export function tickBreath(breath) {
  const name = breath.name;
  const t = left(breath.remaining) ?? 0;
  const seconds = breath.seconds || 1;
  const progress = ease(1 - t / seconds);
  const key = `${breath.cycle}:${name}`;
  if (key !== page.breathKey) {
    // A new phase starts from wherever the circle is now, so it never jumps.
    page.breathKey = key;
    page.breathFrom = page.orbScale;
  }
  const from = page.breathFrom;
  let scale = from;
  if (name === "inhale") scale = from + (IN_SCALE - from) * progress;
  else if (name === "inhale2") scale = from + (1 - from) * progress;
  else if (name === "exhale") scale = from + (MIN_SCALE - from) * progress;
  else if (name === "countdown") scale = MIN_SCALE;
  page.orbScale = scale;
  $("orb").style.transform = `scale(${scale.toFixed(4)})`;
  // The reduced-motion bar: full when the lungs are full, empty when empty.
  $("breath-fill").style.width = `${((scale - MIN_SCALE) / (1 - MIN_SCALE)) * 100}%`;
  $("breath-seconds").textContent = name === "countdown" ? String(Math.ceil(t) || "") : String(Math.ceil(t));
}
