// The partners' names: the two fields, and sending them before a session starts.

import { send } from "./connection.js";
import { $ } from "./dom.js";
import { showToast } from "./notices.js";
import { page } from "./state.js";

export function renderNames(names) {
  if (!names) return;
  // Never overwrite what someone is typing.
  for (const key of ["a", "b"]) {
    const input = $(`name-${key}`);
    if (document.activeElement !== input && !page.namesTyped) input.value = names[key] || "";
  }
}

function currentNames() {
  const a = $("name-a").value.trim();
  const b = $("name-b").value.trim();
  return a && b ? { a, b } : null;
}

export function sendNames() {
  const names = currentNames();
  if (!names) {
    showToast("Please give both names (1 to 40 characters each).");
    return false;
  }
  const known = page.state && page.state.names;
  if (!known || known.a !== names.a || known.b !== names.b) send("names", names);
  page.namesTyped = false;
  return true;
}

export function bindNames() {
  for (const key of ["a", "b"]) {
    const input = $(`name-${key}`);
    input.addEventListener("input", () => (page.namesTyped = true));
    input.addEventListener("change", () => currentNames() && sendNames());
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") input.blur();
    });
  }
}
