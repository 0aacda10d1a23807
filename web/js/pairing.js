// "Add a phone": a one-time code and its QR code, and the paired phones. Only on the
// companion's own computer, and only with --lan (the routes answer nothing else).

import { $, bind, el } from "./dom.js";

export async function loadPairing() {
  let data = null;
  try {
    const response = await fetch("/api/pairing", { cache: "no-store" });
    data = response.ok ? await response.json() : null;
  } catch {
    data = null;
  }
  $("pair-open").hidden = !(data && data.lan);
  if (data) renderDevices(data.devices || []);
}

function renderDevices(devices) {
  const list = $("pair-devices");
  list.replaceChildren();
  if (!devices.length) {
    list.append(el("li", "muted", "None yet."));
    return;
  }
  for (const device of devices) {
    const row = el("li", "pair-device");
    row.append(el("span", "", device.name));
    const remove = el("button", "quiet", "Remove");
    remove.type = "button";
    remove.setAttribute("aria-label", `Remove ${device.name}`);
    remove.addEventListener("click", () => unpair(device.id));
    row.append(remove);
    list.append(row);
  }
}

async function showPairingCode() {
  let body = {};
  try {
    const response = await fetch("/api/pairing/code", { method: "POST" });
    body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || "no code");
  } catch (error) {
    $("pair-qr").hidden = true;
    $("pair-link").textContent = body.error || "A pairing code could not be made just now.";
    return;
  }
  $("pair-qr").src = body.qr;
  $("pair-qr").hidden = false;
  $("pair-link").textContent = `${body.url} (code ${body.code})`;
}

async function unpair(id) {
  try {
    await fetch(`/api/pairing/devices/${encodeURIComponent(id)}`, { method: "DELETE" });
  } catch {
    // The list below says what is paired now, whatever happened.
  }
  loadPairing();
}

function openPairing() {
  const dialog = $("pairing");
  if (!dialog.open) dialog.showModal();
  showPairingCode();
  loadPairing();
}

export function bindPairing() {
  bind("pair-open", openPairing);
  bind("pair-new", showPairingCode);
}
