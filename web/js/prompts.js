// Prompts as shown: while nothing listens, a line that asks to "say ready" asks for what
// cannot be heard, so that part goes and the buttons speak for themselves.

import { page } from "./state.js";

const SAID = "(?:ready|next|we need more time|more time|come back)\\b";
const ASKS = new RegExp(`^(?:or |and |then )?say ${SAID}`, "i");
const CLAUSE = new RegExp(`,\\s*(?:or |and |then )?say ${SAID}[^.!?]*`, "i");

export function heardPrompt(text) {
  if (page.listeningOn) return text;
  const sentences = text.match(/[^.!?]+[.!?]*\s*/g) || [text];
  const kept = sentences
    .filter((sentence) => !ASKS.test(sentence.trim()))
    .map((sentence) => sentence.replace(CLAUSE, ""))
    .join("")
    .trim();
  return kept || "Press the button when you are ready.";
}
