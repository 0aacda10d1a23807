// Importing a therapist's plan file: chosen in the Homework panel or dropped on the page;
// the couple gets one sentence, the file's problems are folded away for the therapist.

import { $, bind, el } from "./dom.js";
import { loadHomework } from "./homework.js";
import { page } from "./state.js";

async function importPlan(file) {
  if (!file) return;
  const result = $("import-result");
  result.className = "import-result";
  result.replaceChildren(el("p", "muted", `Checking ${file.name}…`));
  if (!$("homework").open) $("homework").showModal();
  let response;
  let body = {};
  try {
    response = await fetch(`/api/homework?name=${encodeURIComponent(file.name)}`, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: file,
    });
    body = await response.json().catch(() => ({}));
  } catch {
    showImportErrors("The plan could not be sent to the companion; is it still running?", []);
    return;
  }
  if (!response.ok) {
    const problems = Array.isArray(body.problems) ? body.problems : [];
    showImportErrors(body.error || "The plan could not be imported.", problems);
    return;
  }
  const title = (body.plan && body.plan.title) || file.name;
  const said = {
    added: `Imported ‘${title}’.`,
    replaced: `Imported ‘${title}’; it replaces the earlier version.`,
    unchanged: `‘${title}’ was already imported; nothing changed.`,
  }[body.result] || `Imported ‘${title}’.`;
  result.className = "import-result ok";
  result.replaceChildren(el("p", "", said));
  const warnings = Array.isArray(body.warnings) ? body.warnings : [];
  if (warnings.length) {
    result.append(el("p", "muted small", "Worth a look (the plan works as it is):"));
    const list = el("ul", "problems");
    list.append(...warnings.map((w) => el("li", "", w)));
    result.append(list);
  }
  loadHomework();
}

// The couple did not write the plan: one sentence for them, the file's lines folded away
// for whoever did.
function showImportErrors(message, problems) {
  const result = $("import-result");
  result.className = "import-result failed";
  result.replaceChildren(el("p", "", message));
  if (!problems.length) return;
  const details = el("details", "problem-details");
  details.append(el("summary", "", "Details for your therapist"));
  const list = el("ul", "problems");
  list.append(...problems.map((line) => el("li", "", line)));
  details.append(list);
  result.append(details);
}

// Dragging a file over the page shows where to drop it; any other drag is left alone.
function carriesFiles(event) {
  return Boolean(event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files"));
}

// Escape hides the drop zone (it is no dialog); true when there was one to hide.
export function hideDropZone() {
  if ($("drop-zone").hidden) return false;
  page.dragDepth = 0;
  $("drop-zone").hidden = true;
  return true;
}

function bindDrop() {
  const zone = $("drop-zone");
  document.addEventListener("dragenter", (event) => {
    if (!page.journal || !carriesFiles(event)) return;
    event.preventDefault();
    page.dragDepth += 1;
    zone.hidden = false;
  });
  document.addEventListener("dragover", (event) => {
    if (!page.journal || !carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("dragleave", () => {
    page.dragDepth = Math.max(0, page.dragDepth - 1);
    if (!page.dragDepth) zone.hidden = true;
  });
  document.addEventListener("drop", (event) => {
    page.dragDepth = 0;
    zone.hidden = true;
    if (!page.journal || !carriesFiles(event)) return;
    event.preventDefault();
    importPlan(event.dataTransfer.files[0]);
  });
}

export function bindPlanImport() {
  bind("plan-choose", () => $("plan-file").click());
  $("plan-file").addEventListener("change", (event) => {
    const input = event.currentTarget;
    importPlan(input.files[0]);
    input.value = ""; // choosing the same file again imports it again
  });
  bindDrop();
}
