// The companion's page: renders server state, sends commands. No build step, no dependencies.
// Times count down from the server's `remaining` and performance.now() at receipt (never a
// per-tick decrement, which drifts); nothing counts while the session is paused.

const $ = (id) => document.getElementById(id);

const ACTIVE = new Set(["preparing", "running", "paused", "waiting"]);
const BREATH_WORDS = {
  countdown: "Get ready",
  inhale: "Breathe in",
  inhale2: "A little more",
  hold: "Hold",
  exhale: "Breathe out",
};
const MIN_SCALE = 0.5;
const IN_SCALE = 0.9; // the end of the first inhale; a second sip (inhale2) takes it to 1
const HISTORY_LINES = 12;
const RECONNECT_DELAYS = [500, 1000, 2000, 4000, 8000];
const SIGNAL_HINT = "A word you both agree on, in a calm moment, to call a time-out.";
const SIGNAL_MAX_CHARS = 40; // the server checks the same (companion/commands_vocab.py)
const SIGNAL_MAX_WORDS = 4;
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

const page = {
  ws: null,
  connected: false,
  attempts: 0,
  scripts: [],
  chosen: "",
  state: null,
  receivedAt: 0,
  history: [],
  breathKey: "",
  breathFrom: MIN_SCALE,
  orbScale: MIN_SCALE,
  namesTyped: false,
  listeningOn: false,
  signal: null, // the break word and its check, as the server last said
  signalTyped: false,
  signalProblem: "", // what is wrong with the word as typed, until it is changed
  heardTimer: 0,
  toastTimer: 0,
  journal: false, // true once /api/homework answers: the journal routes are served
  homework: null,
  homeworkAsked: 0, // a counter, so an older answer never overwrites a newer one
  endedSeen: "", // the `ended` value last acted on, to refresh homework once per ending
  stoppedAt: null, // where a stopped session can go on from (`state.stopped_at`)
  calmAsked: false,
  liveSeen: false, // a session is live and its "before" rating was offered
  dragDepth: 0,
};

// ---- connection ---------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  page.ws = ws;
  ws.addEventListener("open", () => {
    page.connected = true;
    page.attempts = 0;
    setConnection("connected");
  });
  ws.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    onMessage(message);
  });
  ws.addEventListener("close", () => {
    if (page.ws !== ws) return;
    page.connected = false;
    setConnection("lost");
    const base = RECONNECT_DELAYS[Math.min(page.attempts, RECONNECT_DELAYS.length - 1)];
    page.attempts += 1;
    // Jitter so several tabs do not knock on the server at the same instant.
    setTimeout(connect, base + Math.random() * 300);
  });
}

function setConnection(kind) {
  document.body.dataset.connection = kind;
  const label = { connected: "Connected", lost: "Reconnecting…", connecting: "Connecting…" }[kind];
  const pill = $("connection");
  pill.textContent = label;
  pill.classList.toggle("on", kind === "connected");
  renderControls();
}

function send(type, data) {
  if (!page.connected || page.ws.readyState !== WebSocket.OPEN) {
    showToast("Not connected to the companion yet; reconnecting…");
    return false;
  }
  page.ws.send(JSON.stringify({ type, data }));
  return true;
}

function command(name, extra = {}, source = "page") {
  return send("command", { name, source, ...extra });
}

function onMessage(message) {
  const data = message && message.data;
  switch (message && message.type) {
    case "hello":
      page.scripts = Array.isArray(data.scripts) ? data.scripts : [];
      renderLibrary();
      renderStatus(data.status);
      loadHomework();
      break;
    case "scripts":
      // The library changed (a plan brought its own scripts); the choice stays if still there.
      page.scripts = Array.isArray(data.scripts) ? data.scripts : [];
      renderLibrary();
      renderHomework();
      renderControls();
      break;
    case "state":
      page.state = data;
      page.receivedAt = performance.now();
      renderState();
      break;
    case "status":
      renderStatus(data);
      break;
    case "heard":
      showHeard(data);
      break;
    case "error":
      showToast(data.message);
      break;
    default:
      break;
  }
}

// ---- time ---------------------------------------------------------------------------

// Seconds left of a server `remaining`, counted from its receipt; frozen while paused.
function left(remaining) {
  if (typeof remaining !== "number") return null;
  if (!page.state || page.state.status === "paused") return Math.max(0, remaining);
  const elapsed = (performance.now() - page.receivedAt) / 1000;
  return Math.max(0, remaining - elapsed);
}

function mmss(seconds) {
  const whole = Math.max(0, Math.ceil(seconds));
  const m = Math.floor(whole / 60);
  const s = whole % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

function clockAt(secondsFromNow) {
  const at = new Date(Date.now() + secondsFromNow * 1000);
  return at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

const ease = (p) => (1 - Math.cos(Math.PI * Math.min(1, Math.max(0, p)))) / 2;

// ---- rendering: library and status ---------------------------------------------------

function renderLibrary() {
  const box = $("library");
  box.replaceChildren();
  if (!page.scripts.length) {
    const empty = document.createElement("p");
    empty.className = "muted";
    empty.textContent = "No exercises were found in the library.";
    box.append(empty);
    return;
  }
  if (!page.scripts.some((s) => s.id === page.chosen)) page.chosen = page.scripts[0].id;
  for (const info of page.scripts) {
    const card = document.createElement("button");
    card.type = "button";
    card.className = "script-card";
    card.dataset.script = info.id;
    card.setAttribute("role", "radio");
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = info.title;
    const length = document.createElement("span");
    length.className = "length";
    length.textContent = info.seconds ? `about ${Math.max(1, Math.round(info.seconds / 60))} min` : "";
    const summary = document.createElement("span");
    summary.className = "summary";
    summary.textContent = info.summary || "";
    card.append(title, length, summary);
    card.addEventListener("click", () => chooseScript(info.id));
    box.append(card);
  }
  markChosen();
  renderScriptNotes(page.state);
}

function chooseScript(id) {
  page.chosen = id;
  markChosen();
  if (page.state) renderScriptNotes(page.state);
}

function markChosen() {
  for (const card of $("library").querySelectorAll(".script-card")) {
    const chosen = card.dataset.script === page.chosen;
    card.setAttribute("aria-checked", String(chosen));
    card.tabIndex = chosen ? 0 : -1;
  }
}

function renderStatus(status) {
  if (!status) return;
  const voice = status.voice || {};
  const listening = status.listening || {};
  setPill($("voice"), voice.on, "Voice on", "Voice off", voice.reason);
  const engine = listening.engine && listening.engine !== "off" ? ` (${listening.engine})` : "";
  setPill($("listening"), listening.on, `Listening${engine}`, "Not listening", listening.reason);
  const heard = Boolean(listening.on);
  if (heard !== page.listeningOn) {
    page.listeningOn = heard;
    if (page.state) renderState(); // prompts that ask to say something follow the mic
  }
  // The reasons in full, one line under the bar: what is off and what to do about it.
  const reasons = [voice.on ? "" : voice.reason, listening.on ? "" : listening.reason].filter(Boolean);
  $("status-detail").textContent = reasons.join(" ");
  $("status-detail").hidden = reasons.length === 0;
  renderSignal(status.signal);
}

// The break word field and, under it, whether the speech model can recognise the word.
function renderSignal(signal) {
  const input = $("signal-word");
  if (signal) {
    page.signal = signal;
    // Never overwrite what someone is typing.
    if (document.activeElement !== input && !page.signalTyped) input.value = signal.phrase || "";
  }
  if (page.signalProblem) return;
  const current = page.signal || { phrase: "", note: "" };
  if (current.phrase) setSignalNote(current.note || "");
  else setSignalNote(SIGNAL_HINT, "hint");
}

function setSignalNote(text, kind = "") {
  const note = $("signal-note");
  note.className = kind ? `signal-note ${kind}` : "signal-note";
  if (note.textContent !== text) note.textContent = text;
}

function setPill(pill, on, onText, offText, reason) {
  pill.classList.toggle("on", Boolean(on));
  pill.classList.toggle("off", !on);
  pill.textContent = on ? onText : offText;
  pill.title = reason || "";
}

function showHeard(data) {
  const pill = $("heard");
  const action = data.action ? ` – ${data.action}` : "";
  pill.textContent = `heard: ${data.command || data.text || ""}${action}`;
  pill.hidden = false;
  clearTimeout(page.heardTimer);
  page.heardTimer = setTimeout(() => (pill.hidden = true), 4000);
}

function showToast(text) {
  const toast = $("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(page.toastTimer);
  page.toastTimer = setTimeout(() => (toast.hidden = true), 5000);
}

// ---- rendering: state ------------------------------------------------------------------

function viewFor(state) {
  if (state.status === "idle") return "welcome";
  if (state.status === "ended") return "ended";
  const waiting = state.waiting;
  if (waiting && waiting.for === "return") return "break";
  if (waiting && waiting.for === "ready") return "ready";
  if (waiting && waiting.for === "role") return "role";
  if (state.break) return "break";
  if (state.floor) return "floor";
  if (state.breath) return "breath";
  return "timer";
}

function renderState() {
  const state = page.state;
  const body = document.body;
  body.dataset.status = state.status;
  body.classList.toggle("active", ACTIVE.has(state.status));

  const script = state.script;
  $("script-title").textContent = script ? script.title : state.status === "ended" ? "Finished" : "Welcome";
  const step = state.step;
  $("step-label").textContent = step ? `Step ${step.index + 1} of ${step.count}` : "";
  $("step-bar").style.width = step ? `${((step.index + 1) / step.count) * 100}%` : "0";
  $("paused-badge").hidden = state.status !== "paused";
  body.dataset.stepKind = step ? step.kind : "";

  const view = viewFor(state);
  for (const name of ["welcome", "breath", "floor", "break", "ready", "role", "timer", "ended"]) {
    $(`view-${name}`).hidden = name !== view;
  }
  body.dataset.view = view;

  renderNames(state.names);
  renderCaption(state.caption || "");
  if (view === "floor") renderFloor(state.floor);
  if (view === "break") renderBreak(state);
  if (view === "ready") renderReady(state);
  if (view === "role") renderRole(state);
  renderScriptNotes(state);
  if (view === "ended") renderEnded(state);
  noticeEnding(state);
  noticeStart(state);
  if (view === "breath") renderBreathText(state.breath);
  renderControls();
  tick();
}

function renderNames(names) {
  if (!names) return;
  // Never overwrite what someone is typing.
  for (const key of ["a", "b"]) {
    const input = $(`name-${key}`);
    if (document.activeElement !== input && !page.namesTyped) input.value = names[key] || "";
  }
}

function renderCaption(caption) {
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

function renderFloor(floor) {
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

function renderBreak(state) {
  const waiting = state.waiting;
  const asking = Boolean(waiting && waiting.for === "return");
  $("return-choice").hidden = !asking;
  const offered = waiting && typeof waiting.more_minutes === "number" ? waiting.more_minutes : null;
  const more = offered ?? ((state.break && state.break.more_minutes) || 20);
  // A break lasts less than a day in all: at that limit only coming back is offered.
  $("more-time").hidden = asking && more < 1;
  $("more-time").textContent = `We need more time (+${Math.round(more)} min)`;
  $("break-hint").textContent = asking
    ? heardPrompt(waiting.prompt || "The break is over. Come back, or agree on more time.")
    : "Go to separate places. Breathe slowly. Let the argument rest.";
}

// A prompt as shown: while nothing listens, "…, say ready." asks for what cannot be heard.
function heardPrompt(text) {
  if (page.listeningOn) return text;
  const said = "(?:ready|next|we need more time|more time|come back)\\b";
  const asks = new RegExp(`^(?:or |and |then )?say ${said}`, "i");
  const clause = new RegExp(`,\\s*(?:or |and |then )?say ${said}[^.!?]*`, "i");
  const sentences = text.match(/[^.!?]+[.!?]*\s*/g) || [text];
  return sentences
    .filter((sentence) => !asks.test(sentence.trim()))
    .map((sentence) => sentence.replace(clause, ""))
    .join("")
    .trim() || "Press the button when you are ready.";
}

function renderReady(state) {
  const waiting = state.waiting;
  const names = state.names || { a: "Partner A", b: "Partner B" };
  $("ready-prompt").textContent = heardPrompt(
    waiting.prompt || "Let the companion know when you are ready.",
  );
  const ready = new Set(waiting.ready || []);
  for (const key of ["a", "b"]) {
    const button = $(`ready-${key}`);
    const shown = waiting.who === "either" || waiting.who === "both" || waiting.who === key;
    button.hidden = !shown;
    button.textContent = `${names[key]} is ready`;
    button.setAttribute("aria-label", `${names[key]} is ready`);
    button.setAttribute("aria-pressed", String(ready.has(key)));
  }
}

// Who takes a role: one button per partner; by voice "ready" is the first name, "next" the second.
function renderRole(state) {
  const names = state.names || { a: "Partner A", b: "Partner B" };
  $("role-prompt").textContent = state.waiting.prompt || "Who takes this part?";
  for (const key of ["a", "b"]) {
    const button = $(`role-${key}`);
    button.textContent = names[key];
  }
  $("role-hint").textContent = `Or say “ready” for ${names.a}, or “next” for ${names.b}.`;
  $("role-hint").hidden = !page.listeningOn;
}

// The running script's safety caption and pointer to help; when idle, the chosen script's.
function renderScriptNotes(state) {
  const live = state && state.script && ACTIVE.has(state.status) ? state.script : null;
  const info = live || page.scripts.find((s) => s.id === page.chosen) || null;
  const safety = (info && info.safety) || "";
  const help = (info && info.help) || "";
  $("script-safety").textContent = safety;
  $("script-safety").hidden = !safety;
  $("script-help").textContent = help;
  $("script-help").hidden = !help;
  $("script-notes").hidden = !safety && !help;
}

function chooseRole(partner, source = "page") {
  const waiting = page.state && page.state.waiting;
  if (!waiting || waiting.for !== "role") return;
  command("ready", { partner }, source);
}

function renderEnded(state) {
  const completed = state.ended === "completed";
  // A stop past the first step can be undone: a misheard "stop" costs nobody their place.
  const at = completed ? null : state.stopped_at || null;
  page.stoppedAt = at;
  $("ended-title").textContent = completed ? "Well done. That exercise is complete." : "Stopped.";
  $("ended-text").textContent = completed
    ? "Notice how you feel now. You can start another exercise whenever you like."
    : at
      ? "That is all right. You can go on from where you stopped, or start again whenever you are both ready."
      : "That is all right. You can start again whenever you are both ready.";
  const goOn = $("go-on");
  goOn.hidden = !at;
  if (at) {
    goOn.textContent = `Go on from step ${at.index + 1} of ${at.count}`;
    goOn.setAttribute("aria-label", `Go on with ${at.title} from step ${at.index + 1} of ${at.count}`);
  }
}

function goOn() {
  const at = page.stoppedAt;
  if (!at || !sendNames()) return;
  command("start", { script: at.id, step: at.index });
}

function renderBreathText(breath) {
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

function renderControls() {
  const state = page.state;
  const status = state ? state.status : "idle";
  const active = ACTIVE.has(status);
  const online = page.connected;
  const paused = status === "paused";
  const pause = $("pause");
  $("pause-text").textContent = paused ? "Resume" : "Pause";
  pause.setAttribute("aria-label", paused ? "Resume" : "Pause");
  pause.disabled = !online || !active;
  for (const id of ["back", "repeat", "next", "stop"]) $(id).disabled = !online || !active;
  for (const id of ["slower", "faster"]) $(id).disabled = !online || !active;
  const onBreak = Boolean(state && (state.timeout || state.break));
  $("timeout").disabled = !online || onBreak;
  $("timeout-minutes").disabled = !online || onBreak;
  $("start").disabled = !online || !page.chosen || active;
  for (const button of document.querySelectorAll("[data-start-script]")) {
    button.disabled = !online || active || !knownScript(button.dataset.startScript);
  }
}

// ---- homework, plan import, calm ratings and the report -----------------------------------
// All of it over the JSON API; when the journal is off those routes are absent (404) and
// the homework button stays hidden.

const knownScript = (id) => page.scripts.some((s) => s.id === id);

async function loadHomework() {
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

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderHomework() {
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

function toggleHomework() {
  if (!page.journal) return;
  const dialog = $("homework");
  if (dialog.open) {
    dialog.close();
    return;
  }
  loadHomework();
  dialog.showModal();
}

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

function openReport() {
  // download=0: the browser shows the report instead of saving it.
  window.open("/api/journal/export?format=html&download=0", "_blank", "noopener");
}

// When a session ends: refresh the homework once and offer the calm rating.
function noticeEnding(state) {
  const ended = state.status === "ended" && state.ended ? state.ended : "";
  if (ended === page.endedSeen) return;
  page.endedSeen = ended;
  if (!ended) {
    hideCalm();
    return;
  }
  loadHomework();
  if (page.journal) askCalm(state.names || { a: "Partner A", b: "Partner B" });
}

// When a session starts: offer the "before" rating once, small and skippable.
function noticeStart(state) {
  const live = ["running", "waiting", "paused"].includes(state.status) && Boolean(state.script);
  if (!live) {
    if (state.status !== "preparing") page.liveSeen = false;
    hideCalm("before");
    return;
  }
  if (page.liveSeen) return;
  page.liveSeen = true;
  if (page.journal) askCalm(state.names || { a: "Partner A", b: "Partner B" }, "before");
}

// The 0-10 rating rows; `moment` is "before" (as a session starts) or "after" (at its end).
function askCalm(names, moment = "after") {
  const prefix = moment === "after" ? "calm" : "calm-before";
  const rows = $(`${prefix}-rows`);
  rows.replaceChildren();
  for (const key of ["a", "b"]) {
    const row = el("div", "calm-row");
    row.setAttribute("role", "radiogroup");
    const label = el("span", "calm-name", names[key]);
    label.id = `${prefix}-name-${key}`;
    row.setAttribute("aria-labelledby", label.id);
    const scale = el("div", "calm-scale");
    for (let value = 0; value <= 10; value += 1) {
      const button = el("button", "calm-value", String(value));
      button.type = "button";
      button.setAttribute("role", "radio");
      button.setAttribute("aria-checked", "false");
      button.setAttribute("aria-label", `${names[key]}: ${value} of 10`);
      button.addEventListener("click", () => rateCalm(key, value, scale, button, moment));
      scale.append(button);
    }
    row.append(label, scale);
    rows.append(row);
  }
  $(`${prefix}-done`).textContent = "";
  $(`${prefix}-skip`).textContent = "Skip";
  $(prefix).hidden = false;
  page.calmAsked = true;
}

async function rateCalm(partner, value, scale, button, moment) {
  const prefix = moment === "after" ? "calm" : "calm-before";
  let ok = false;
  try {
    const response = await fetch("/api/journal/calm", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ partner, moment, value }),
    });
    ok = response.ok;
  } catch {
    ok = false;
  }
  if (!ok) {
    $(`${prefix}-done`).textContent = "That rating could not be saved; it is fine to skip it.";
    return;
  }
  for (const other of scale.querySelectorAll(".calm-value")) {
    other.setAttribute("aria-checked", String(other === button));
  }
  $(`${prefix}-done`).textContent = "Saved in your journal, on this computer only.";
  $(`${prefix}-skip`).textContent = "Done";
}

function hideCalm(moment = "after") {
  $(moment === "after" ? "calm" : "calm-before").hidden = true;
  page.calmAsked = !$("calm").hidden || !$("calm-before").hidden;
}

// Dragging a file over the page shows where to drop it; any other drag is left alone.
function carriesFiles(event) {
  return Boolean(event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files"));
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

// ---- the animation frame: clocks and the pacer ------------------------------------------

function tick() {
  const state = page.state;
  if (!state) return;
  const view = document.body.dataset.view;
  if (view === "floor" && state.floor) {
    const t = left(state.floor.remaining);
    $("floor-time").textContent = t === null ? "" : mmss(t);
    const total = state.floor.seconds || 1;
    $("floor-fill").style.width = t === null ? "100%" : `${(t / total) * 100}%`;
  } else if (view === "break") {
    const t = state.break ? left(state.break.remaining) : 0;
    $("break-time").textContent = mmss(t || 0);
    $("break-back").textContent = state.break && t > 0 ? `Back at ${clockAt(t)}` : "Time to come back";
  } else if (view === "breath" && state.breath) {
    tickBreath(state.breath);
  } else if (view === "timer") {
    const phase = state.phase;
    const t = phase && phase.kind === "silence" ? left(phase.remaining) : null;
    $("timer-time").textContent = t === null ? "" : mmss(t);
  }
}

function tickBreath(breath) {
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

function frame() {
  tick();
  requestAnimationFrame(frame);
}

// ---- actions ----------------------------------------------------------------------------

function currentNames() {
  const a = $("name-a").value.trim();
  const b = $("name-b").value.trim();
  return a && b ? { a, b } : null;
}

function sendNames() {
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

// What is wrong with a break word as typed ("" when nothing is); the server checks again.
function signalProblem(phrase) {
  if (phrase.length > SIGNAL_MAX_CHARS) return `A break word must be at most ${SIGNAL_MAX_CHARS} characters.`;
  if (phrase.split(" ").length > SIGNAL_MAX_WORDS) return `A break word must be at most ${SIGNAL_MAX_WORDS} words.`;
  const odd = phrase.match(/[^\p{L}\p{M} '\u2019]/u);
  if (odd) return `A break word may use only letters, spaces and apostrophes, not “${odd[0]}”.`;
  if (phrase && !/\p{L}/u.test(phrase)) return "A break word needs at least one letter.";
  return "";
}

function setSignal(event) {
  event.preventDefault();
  const input = $("signal-word");
  const phrase = input.value.trim().replace(/\s+/g, " ");
  page.signalProblem = signalProblem(phrase);
  if (page.signalProblem) {
    setSignalNote(page.signalProblem, "problem");
    return;
  }
  if (!send("signal", { phrase })) return;
  input.value = phrase;
  page.signalTyped = false;
  // The answer comes back in the status: can or cannot be recognised.
  setSignalNote(phrase ? `Checking “${phrase}”…` : SIGNAL_HINT, phrase ? "" : "hint");
}

function start() {
  if (!page.chosen || !sendNames()) return;
  command("start", { script: page.chosen });
}

function togglePause(source = "page") {
  if (!page.state) return;
  command(page.state.status === "paused" ? "resume" : "pause", {}, source);
}

function timeout(source = "page") {
  command("timeout", { minutes: Number($("timeout-minutes").value) || 20 }, source);
}

function ready(partner, source = "page") {
  command("ready", { partner }, source);
}

// Enter: the partner the gate waits for; with two, the first not yet ready.
function readyByKey() {
  const waiting = page.state && page.state.waiting;
  if (!waiting || waiting.for !== "ready") return;
  const done = new Set(waiting.ready || []);
  let partner = "";
  if (waiting.who === "a" || waiting.who === "b") partner = waiting.who;
  else if (waiting.who === "both") partner = done.has("a") ? "b" : "a";
  ready(partner, "key");
}

const KEYS = {
  " ": () => togglePause("key"),
  t: () => !$("timeout").disabled && timeout("key"),
  n: () => command("next", {}, "key"),
  b: () => command("back", {}, "key"),
  r: () => command("repeat", {}, "key"),
  s: () => command("stop", {}, "key"),
  "-": () => command("slower", {}, "key"),
  _: () => command("slower", {}, "key"),
  "+": () => command("faster", {}, "key"),
  "=": () => command("faster", {}, "key"),
  Enter: () => readyByKey(),
  1: () => chooseRole("a", "key"),
  2: () => chooseRole("b", "key"),
};

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  const typing = target.closest && target.closest("input, select, textarea, [contenteditable]");
  if (typing) return;
  if (event.key === "?") {
    event.preventDefault();
    toggleDialog($("help"));
    return;
  }
  if ((event.key === "h" || event.key === "H") && page.journal && !$("help").open && !$("safety").open) {
    event.preventDefault();
    toggleHomework();
    return;
  }
  if (event.key === "Escape") {
    // Open dialogs close themselves on Escape; these two are not dialogs.
    if (!$("drop-zone").hidden) {
      page.dragDepth = 0;
      $("drop-zone").hidden = true;
    } else if (page.calmAsked && !document.querySelector("dialog[open]")) {
      hideCalm("before");
      hideCalm("after");
    }
    return;
  }
  if (document.querySelector("dialog[open]")) return;
  // A focused button answers Space and Enter itself, as every button does.
  if ((event.key === " " || event.key === "Enter") && target.closest && target.closest("button")) return;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  const action = KEYS[key];
  if (!action) return;
  event.preventDefault();
  if (key !== "Enter" && key !== "t" && !(page.state && ACTIVE.has(page.state.status))) return;
  action();
}

function toggleDialog(dialog) {
  if (dialog.open) dialog.close();
  else dialog.showModal();
}

function bind(id, handler) {
  $(id).addEventListener("click", (event) => {
    handler();
    // After a mouse click let the shortcuts work at once (Space would press this button).
    if (event.detail > 0) event.currentTarget.blur();
  });
}

function init() {
  bind("start", start);
  bind("go-on", goOn);
  bind("pause", () => togglePause());
  bind("back", () => command("back"));
  bind("repeat", () => command("repeat"));
  bind("next", () => command("next"));
  bind("slower", () => command("slower"));
  bind("faster", () => command("faster"));
  bind("stop", () => command("stop"));
  bind("timeout", () => timeout());
  bind("return", () => command("return"));
  bind("more-time", () => command("more_time"));
  bind("end-break", () => command("stop"));
  bind("ready-a", () => ready("a"));
  bind("ready-b", () => ready("b"));
  bind("role-a", () => chooseRole("a"));
  bind("role-b", () => chooseRole("b"));
  bind("help-open", () => toggleDialog($("help")));
  bind("safety-open", () => toggleDialog($("safety")));
  bind("homework-open", toggleHomework);
  bind("summary-open", toggleHomework);
  bind("plan-choose", () => $("plan-file").click());
  bind("export-html", openReport);
  bind("calm-skip", () => hideCalm("after"));
  bind("calm-before-skip", () => hideCalm("before"));
  $("plan-file").addEventListener("change", (event) => {
    const input = event.currentTarget;
    importPlan(input.files[0]);
    input.value = ""; // choosing the same file again imports it again
  });
  bindDrop();
  for (const key of ["a", "b"]) {
    const input = $(`name-${key}`);
    input.addEventListener("input", () => (page.namesTyped = true));
    input.addEventListener("change", () => currentNames() && sendNames());
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") input.blur();
    });
  }
  $("signal-form").addEventListener("submit", setSignal);
  $("signal-set").addEventListener("click", (event) => {
    // After a mouse click let the shortcuts work at once, as the other buttons do.
    if (event.detail > 0) event.currentTarget.blur();
  });
  $("signal-word").addEventListener("input", () => {
    page.signalTyped = true;
    if (!page.signalProblem) return;
    page.signalProblem = "";
    renderSignal(null);
  });
  $("library").addEventListener("keydown", (event) => {
    // Arrow keys move within the radio group, as in any radio group.
    const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (!step || !page.scripts.length) return;
    event.preventDefault();
    const ids = page.scripts.map((s) => s.id);
    const next = ids[(ids.indexOf(page.chosen) + step + ids.length) % ids.length];
    chooseScript(next);
    $("library").querySelector(`[data-script="${CSS.escape(next)}"]`).focus();
  });
  document.addEventListener("keydown", onKey);
  reducedMotion.addEventListener("change", () => tick());
  renderControls();
  connect();
  requestAnimationFrame(frame);
}

init();
