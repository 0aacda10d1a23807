// The page's state, in one object every module imports from here: nothing else on the
// page keeps state of its own.

// The statuses in which a session is under way and the controls act.
export const ACTIVE = new Set(["preparing", "running", "paused", "waiting"]);
export const MIN_SCALE = 0.5; // the breathing circle, lungs empty

export const page = {
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
  signal: null, // the break word and its check, as the server last said
  timeout: { on: true, reason: "" }, // whether a time-out can run, as the server last said
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
  playHere: false, // this page plays the guidance itself ("Play on this device")
  speakers: 0, // how many pages play it, as the server last said
  pageAudio: false, // whether the server has rendered lines to send
  voiceOn: false, // whether the computer itself speaks
  listeningOn: false, // whether it listens: prompts ask to "say" something only then
  // Web Audio for "Play on this device": one context, rendered lines cached by URL.
  audio: {
    ctx: null,
    analyser: null,
    buffers: new Map(),
    playing: new Set(),
    generation: 0,
    askedAt: 0, // performance.now() when the last `sound` arrived
    holdTimer: 0, // plays on by itself if a hold is never released
  },
};
