// Captions: the line being (or last) spoken, and the earlier lines folded under it.

import { $ } from "./dom.js";
import { page } from "./state.js";

const HISTORY_LINES = 12;

export function renderCaption(caption) {
  const current = $("caption");
  if (caption === current.textContent) return;
  if (current.textContent) {
    page.history.unshift(current.textContent);
    page.history.length = Math.min(page.history.length, HISTORY_LINES);
    const list = $("history");
    list.replaceChildren(
      ...page.history.map((line) => {
        const item = document.createElement("li");
        item.textContent = line;
        return item;
      }),
    );
  }
  current.textContent = caption;
  $("history-box").hidden = page.history.length === 0;
}
