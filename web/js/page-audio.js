// "Play on this device": this page plays every line and cue as the computer does, through
// Web Audio, and falls silent when the computer does; and the pill saying what speaks.

import { send } from "./connection.js";
import { $, bind } from "./dom.js";
import { page } from "./state.js";

// Cue tones a page plays itself: each breathing phase sounds different, as on the computer.
const TONES = { countdown: 660, inhale: 440, inhale2: 494, hold: 392, exhale: 330, warning: 880, end: 523 };
const CUE_WORD_GAP = 0.12; // seconds between a cue's tone and its word (companion/speech_out.py)
const HOLD_MAX_MS = 2000; // a held page plays on by itself after this long (HOLD_MAX_SECONDS, player.py)

// Which devices speak, plainly: the computer, and how many pages (this one or others).
export function renderSpeakers() {
  const pages = page.speakers;
  const others = Math.max(0, pages - (page.playHere ? 1 : 0));
  const parts = [];
  // This device first: on a phone the pill is cut short, and what it says of itself matters most.
  if (page.playHere) parts.push("this device");
  if (page.voiceOn) parts.push("this computer");
  if (others) parts.push(others === 1 ? "1 other page" : `${others} other pages`);
  const text = parts.length ? `Speaking: ${parts.join(", ").replace(/, ([^,]*)$/, " and $1")}` : "Nothing speaks: captions only";
  // The same in a few words, for a phone's narrow top bar mid-session: two places at most,
  // else the first and how many more ("Sound: here + 2 more"), whole on a 390 px phone.
  const brief = parts.map((part) =>
    part.replace("this device", "here").replace("this computer", "computer").replace(" other", ""));
  // Three parts are here, the computer and other pages: after "here", 1 + others more.
  const said = brief.length > 2 ? [brief[0], `${1 + others} more`] : brief;
  const short = said.length ? `Sound: ${said.join(" + ")}` : "Captions only";
  for (const [id, words] of [["speakers", text], ["speakers-short", short]]) {
    const pill = $(id);
    if (pill.textContent !== words) pill.textContent = words;
    pill.classList.toggle("on", parts.length > 0);
  }
}

export function setPlayHere(on) {
  const sound = page.audio;
  if (on && !sound.ctx) {
    // Made on a click: browsers let a page sound only after a person asked it to.
    sound.ctx = new AudioContext();
    sound.analyser = sound.ctx.createAnalyser();
    sound.analyser.connect(sound.ctx.destination);
  }
  page.playHere = on;
  $("play-here").setAttribute("aria-pressed", String(on));
  if (on) sound.ctx.resume();
  else stopSound();
  send("speaker", { on });
  renderSpeakers();
}

function loadBuffer(url) {
  const sound = page.audio;
  if (!sound.buffers.has(url)) {
    const loading = fetch(url)
      .then((response) => (response.ok ? response.arrayBuffer() : Promise.reject(new Error(url))))
      .then((bytes) => sound.ctx.decodeAudioData(bytes))
      .catch(() => {
        sound.buffers.delete(url); // try again next time it is said
        return null;
      });
    sound.buffers.set(url, loading);
  }
  return sound.buffers.get(url);
}

// Every line of the session ahead, fetched and decoded now: each starts in step.
export function preload(urls) {
  if (page.playHere && page.audio.ctx && Array.isArray(urls)) urls.forEach(loadBuffer);
}

function stopSound() {
  const sound = page.audio;
  sound.generation += 1;
  for (const node of sound.playing) {
    try {
      node.stop();
    } catch {
      // already ended
    }
  }
  sound.playing.clear();
}

function startNode(node, output, at) {
  const sound = page.audio;
  node.connect(output);
  sound.playing.add(node);
  node.addEventListener("ended", () => sound.playing.delete(node));
  node.start(at);
}

// While the companion decides whether a partner said "pause", this page holds what it plays
// in place, as the computer does: the whole context waits, and plays on from the same place
// when released, or by itself if the release never comes (a lost connection).
function holdSound(on) {
  const sound = page.audio;
  clearTimeout(sound.holdTimer);
  if (on) {
    sound.holdTimer = setTimeout(() => holdSound(false), HOLD_MAX_MS);
    sound.ctx.suspend();
  } else {
    sound.ctx.resume();
  }
}

// What the computer plays now, played here too: a new line or cue replaces what plays,
// "stop" (pause, stop, skip) silences it at once, "hold" and "release" as above.
export async function playSound(data) {
  const sound = page.audio;
  if (!page.playHere || !sound.ctx) return;
  if (data.action === "hold" || data.action === "release") {
    holdSound(data.action === "hold");
    return;
  }
  sound.askedAt = performance.now();
  stopSound();
  if (data.action === "stop") return;
  const generation = sound.generation;
  let wordAt = sound.ctx.currentTime;
  if (data.action === "cue") {
    const at = sound.ctx.currentTime;
    const tone = sound.ctx.createOscillator();
    const gain = sound.ctx.createGain();
    tone.frequency.value = TONES[data.tone] || 523;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.3, at + 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.45);
    gain.connect(sound.analyser);
    startNode(tone, gain, at);
    tone.stop(at + 0.5);
    wordAt = at + 0.5 + CUE_WORD_GAP;
  }
  if (!data.url) return;
  const buffer = await loadBuffer(data.url);
  if (!buffer || generation !== sound.generation) return; // something newer was asked
  const source = sound.ctx.createBufferSource();
  source.buffer = buffer;
  startNode(source, sound.analyser, Math.max(wordAt, sound.ctx.currentTime));
  // From the message to the line starting here (bench/bench_page_audio.py reads it).
  $("play-here").dataset.lag = (performance.now() - sound.askedAt).toFixed(1);
}

// How loud this page plays now, for the button's light (and for tests: data-level).
export function meterSound() {
  const sound = page.audio;
  if (!sound.analyser) return;
  const samples = new Float32Array(sound.analyser.fftSize);
  sound.analyser.getFloatTimeDomainData(samples);
  let peak = 0;
  // Held, the analyser keeps its last block though nothing is heard: show nothing then.
  if (sound.ctx.state === "running") {
    for (const value of samples) peak = Math.max(peak, Math.abs(value));
  }
  const button = $("play-here");
  button.dataset.level = peak.toFixed(3);
  button.classList.toggle("sounding", peak > 0.01);
}

export function bindPageAudio() {
  bind("play-here", () => setPlayHere(!page.playHere));
}
