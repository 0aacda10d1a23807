// The time-out's view: the break's clock, when to come back, and its end ("Come back",
// "We need more time", "End"); "Come back early" asks first.

import { clockAt, left, mmss } from "./clock.js";
import { command } from "./connection.js";
import { $, bind } from "./dom.js";
import { heardPrompt } from "./prompts.js";

export function moreMinutes(state) {
  const waiting = state && state.waiting;
  if (waiting && typeof waiting.more_minutes === "number") return waiting.more_minutes;
  return (state && state.break && state.break.more_minutes) || 20;
}

// Whether the break is as long as it may be (less than a day): "more time" does nothing.
export function atLimit(state) {
  const waiting = state && state.waiting;
  return Boolean((state && state.break && state.break.at_limit) || (waiting && waiting.at_limit));
}

export function renderBreak(state) {
  const waiting = state.waiting;
  const asking = Boolean(waiting && waiting.for === "return");
  $("return-choice").hidden = !asking;
  // A break lasts less than a day in all: at that limit only coming back is offered.
  $("more-time").textContent = `We need more time (+${Math.round(moreMinutes(state))} min)`;
  $("more-time").hidden = atLimit(state);
  $("break-limit").hidden = !atLimit(state);
  $("break-hint").textContent = asking
    ? heardPrompt(waiting.prompt || "The break is over. Come back, or agree on more time.")
    : "Go to separate places. Breathe slowly. Let the argument rest.";
}

export function tickBreak(state) {
  const t = state.break ? left(state.break.remaining) : 0;
  $("break-time").textContent = mmss(t || 0);
  $("break-back").textContent = state.break && t > 0 ? `Back at ${clockAt(t)}` : "Time to come back";
}

// "Come back early" asks first, with "keep the break" focused: a slip never ends a break.
function askEarly() {
  $("early-confirm").hidden = false;
  $("early-no").focus();
}

function answerEarly(comeBack) {
  $("early-confirm").hidden = true;
  if (comeBack) command("return", { early: true });
}

export function bindBreak() {
  bind("return", () => command("return"));
  bind("more-time", () => command("more_time"));
  bind("end-break", () => command("stop"));
  bind("bar-more", () => command("more_time"));
  bind("bar-return", askEarly);
  bind("early-yes", () => answerEarly(true));
  bind("early-no", () => answerEarly(false));
}
