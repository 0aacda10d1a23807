// The Homework panel (key H) and its summary on the stage: this week's practice against
// the therapist's plan, a Start per exercise, and the report for the therapist. All of it
// over the JSON API; when the journal is off those routes are absent (404) and the
// homework button stays hidden.

import { renderControls } from "./controls.js";
import { $, bind, el } from "./dom.js";
import { chooseScript, knownScript, start } from "./library.js";
import { showToast } from "./notices.js";
import { page } from "./state.js";

export async function loadHomework() {
  const asked = ++page.homeworkAsked;
  let response;
  try {
    response = await fetch("/api/homework", { cache: "no-store" });
  } catch {
    return; // not reachable just now; the next hello asks again
  }
  if (asked !== page.homeworkAsked) return;
  if (!response.ok) {
    page.journal = false;
    page.homework = null;
    renderHomework();
    return;
  }
  let data;
  try {
    data = await response.json();
  } catch {
    return;
  }
  if (asked !== page.homeworkAsked) return;
  page.journal = true;
  page.homework = data;
  renderHomework();
}

// "2025-03-03" as a local calendar day (new Date("2025-03-03") would be UTC midnight).
function day(iso) {
  const [y, m, d] = String(iso).split("-").map(Number);
  return new Date(y, (m || 1) - 1, d || 1);
}

function dayText(iso, withYear = false) {
  const options = { day: "numeric", month: "long" };
  if (withYear) options.year = "numeric";
  return day(iso).toLocaleDateString([], options);
}

function progressText(item) {
  return `${item.done} of ${item.target} this week`;
}

export function renderHomework() {
  $("homework-open").hidden = !page.journal;
  const data = page.homework;
  const plans = (data && data.plans) || [];
  const progress = (data && data.progress) || [];
  renderSummary(progress);
  if (!page.journal) return;

  $("homework-week").textContent = data
    ? `This week: ${dayText(data.from)} to ${dayText(data.until, true)}`
    : "";
  const box = $("homework-plans");
  box.replaceChildren();
  if (!plans.length) {
    box.append(
      el("p", "muted", "No homework for this week yet. If your therapist gave you a plan file, add it below."),
    );
    return;
  }
  for (const plan of plans) {
    const card = el("article", "plan");
    card.dataset.plan = plan.id;
    card.append(el("h3", "plan-title", plan.title));
    card.append(el("p", "plan-dates muted small", `${dayText(plan.from, true)} to ${dayText(plan.until, true)}`));
    if (plan.note) {
      const note = el("blockquote", "plan-note");
      note.append(el("p", "", plan.note));
      card.append(note);
    }
    const list = el("ul", "practice-list");
    for (const item of progress.filter((p) => p.plan === plan.id)) {
      list.append(practiceRow(item));
    }
    card.append(list);
    box.append(card);
  }
  renderControls();
}

function practiceRow(item) {
  const row = el("li", "practice");
  row.dataset.script = item.script;
  const done = item.done >= item.target;
  row.classList.toggle("done", done);
  const text = el("div", "practice-text");
  text.append(el("span", "practice-title", item.title));
  text.append(el("span", "practice-count", progressText(item) + (done ? " ✓" : "")));
  const meter = el("div", "practice-meter");
  meter.setAttribute("aria-hidden", "true");
  const fill = el("div");
  fill.style.width = `${Math.min(1, item.done / Math.max(1, item.target)) * 100}%`;
  meter.append(fill);
  text.append(meter);
  const go = el("button", "", "Start");
  go.type = "button";
  go.dataset.startScript = item.script;
  go.setAttribute("aria-label", `Start ${item.title}`);
  go.addEventListener("click", () => startPractice(item.script));
  row.append(text, go);
  return row;
}

function renderSummary(progress) {
  const box = $("homework-summary");
  box.hidden = !page.journal || !progress.length;
  const list = $("summary-list");
  list.replaceChildren(
    ...progress.map((item) => {
      const row = el("li", item.done >= item.target ? "done" : "");
      row.dataset.script = item.script;
      row.append(el("span", "", item.title), el("span", "muted", progressText(item)));
      return row;
    }),
  );
}

function startPractice(id) {
  if (!knownScript(id)) {
    showToast("That exercise is not in the library yet; please try again in a moment.");
    return;
  }
  chooseScript(id);
  const dialog = $("homework");
  if (dialog.open) dialog.close();
  start();
}

export function toggleHomework() {
  if (!page.journal) return;
  const dialog = $("homework");
  if (dialog.open) {
    dialog.close();
    return;
  }
  loadHomework();
  dialog.showModal();
}

function openReport() {
  // download=0: the browser shows the report instead of saving it.
  window.open("/api/journal/export?format=html&download=0", "_blank", "noopener");
}

export function bindHomework() {
  bind("homework-open", toggleHomework);
  bind("summary-open", toggleHomework);
  bind("export-html", openReport);
}
