// The page's one state object and the reducers that fold server messages into it.
// Pure: no DOM. Incoming messages only change state and set `dirty`; the
// requestAnimationFrame loop in main.js draws the latest state.

import { Series } from "./series.js";
import { heatmapsOf, layerArrays, nestedToArray } from "./protocol.js";

export const LOSS_CAPACITY = 4096;
export const EVAL_CAPACITY = 2048;
export const NORM_CAPACITY = 1024;

export function createState() {
  return {
    session: { id: null, token: null, role: "none", status: "idle", viewers: 0 },
    revision: -1, // the newest session info applied (REST replies and events are ordered by it)
    options: null,
    config: null, // the running session's config (normalised by the server)
    info: null, // the last session info (GET /api/sessions/{id})
    architecture: null,
    data: null,
    generation: -1,
    step: 0,
    epoch: 0,
    playing: false,
    lockstep: false,
    play: {},
    divergence: null,
    stopReason: null, // why play last stopped ("paused", "reached max_steps 50", …), null while playing
    eval: null,
    summary: null,
    time: 0,
    layers: [], // per model layer: {W, b, grad_W, grad_b, update_W, update_b, a, z, delta} as {data, shape}
    batch: null, // {X, indices} of the last step
    heat: { output: null, outputClass: null, input: null, layers: [] },
    loss: new Series(["loss", "lr"], LOSS_CAPACITY),
    evals: new Series(["train_loss", "test_loss", "train_accuracy", "test_accuracy"], EVAL_CAPACITY),
    norms: [], // per layer Series(["grad_norm", "update_ratio", "weight_norm"])
    custom: null, // points the user is adding: {x: [[x1, x2]], y: [label]} on top of the dataset's
    stats: { messages: 0, frames: 0, dropped: 0, stale: 0 },
    ui: {
      edgeMode: "weight", // weight | grad | update
      nodeMode: "activation", // activation | delta
      logScale: false,
      layerChart: "grad", // grad | ratio
      showTest: true,
      discretize: false,
      presenter: false,
      addClass: null, // null: clicking the plane does nothing; else the label of added points
      hover: null, // {kind: node|edge|bias, column, unit | i, j}
      selected: null, // explain target {kind, layer, param, index | node}
      explain: null, // {status, response, error}
      anim: null, // the one-sample forward/backward animation (see animation.js)
      message: null, // {text, kind}
    },
    dirty: true,
  };
}

/** Forget everything that belongs to the previous run (generation). */
export function resetRun(state) {
  state.loss.clear();
  state.evals.clear();
  for (const s of state.norms) s.clear();
  state.summary = null;
  state.eval = null;
  state.batch = null;
  for (const layer of state.layers) {
    for (const key of Object.keys(layer)) if (!isParamName(key)) delete layer[key];
  }
  state.ui.anim = null;
  state.dirty = true;
}

/** Parameter arrays (W, b, W_h…) as opposed to per-step arrays (a, z, delta, grad_*, update_*). */
export function isParamName(key) {
  return !(key === "a" || key === "z" || key === "delta" || TRACE_EXTRAS.has(key) || key.startsWith("grad_") || key.startsWith("update_"));
}

/** Per-step arrays of conv, pooling and recurrent layers (docs/cnn-rnn.md), besides a, z and delta. */
const TRACE_EXTRAS = new Set(["input", "argmax", "h", "dh", "c", "dc", "i", "f", "g", "o"]);

function setLayerCount(state, n) {
  while (state.norms.length < n) state.norms.push(new Series(["grad_norm", "update_ratio", "weight_norm"], NORM_CAPACITY));
  state.norms.length = n;
  while (state.layers.length < n) state.layers.push({});
  state.layers.length = n;
}

/**
 * Apply a session info object (GET /api/sessions/{id}, hello.session, event.session).
 * `fromRest`: a REST answer while the websocket is live. It may have been taken
 * before events the socket already delivered (a divergence right after play), so
 * it does not override what the events own: playing, divergence and eval.
 */
export function applySessionInfo(state, info, fromRest = false) {
  if (!info) return;
  if (state.session.id && info.id && info.id !== state.session.id) return;
  // REST replies and socket events can cross: an older one must not undo a newer change (two
  // quick edits of the play options: the first reply, arriving last, put the first edit back).
  if (typeof info.revision === "number") {
    if (info.revision < state.revision) return;
    state.revision = info.revision;
  }
  if (typeof info.generation === "number" && info.generation !== state.generation) {
    if (state.generation >= 0) resetRun(state);
    state.generation = info.generation;
    state.step = info.step ?? 0;
  } else if (typeof info.step === "number") {
    state.step = Math.max(state.step, info.step);
  }
  state.info = info;
  if (info.epoch !== undefined) state.epoch = info.epoch;
  if (!fromRest && info.playing !== undefined) state.playing = info.playing;
  if (info.lockstep !== undefined) state.lockstep = info.lockstep;
  if (info.play) state.play = info.play;
  if (info.config) state.config = info.config;
  if (info.architecture) state.architecture = info.architecture;
  if (!fromRest && "eval" in info) state.eval = info.eval;
  if (!fromRest && "divergence" in info) state.divergence = info.divergence;
  if (!fromRest && "stop_reason" in info) state.stopReason = info.stop_reason;
  if (info.viewers !== undefined) state.session.viewers = info.viewers;
  if (state.architecture) setLayerCount(state, state.architecture.layers.length);
  if (state.eval) pushEval(state, state.eval);
  state.dirty = true;
}

function pushEval(state, ev) {
  if (ev && typeof ev.step === "number") {
    state.evals.push(ev.step, ev.train_loss ?? NaN, ev.test_loss ?? NaN, ev.train_accuracy ?? NaN, ev.test_accuracy ?? NaN);
  }
}

/** The websocket's first message. */
export function applyHello(state, msg) {
  if (msg.session && msg.session.generation !== state.generation && state.generation >= 0) {
    // a reconnect into a newer generation
    resetRun(state);
  }
  state.generation = -1; // accept hello's generation as is
  state.revision = -1; // and its revision (a restarted server counts from 0 again)
  applySessionInfo(state, msg.session);
  state.architecture = msg.architecture || state.architecture;
  if (state.architecture) setLayerCount(state, state.architecture.layers.length);
  const d = msg.data || {};
  state.data = {
    name: d.name,
    kind: d.kind,
    task: d.task,
    domain: d.domain || null,
    featureNames: d.feature_names || [],
    nClasses: d.n_classes || 0,
    classNames: d.class_names || null,
    pointsTrain: d.points_train || [],
    pointsTest: d.points_test || [],
    labelsTrain: d.labels_train || [],
    labelsTest: d.labels_test || [],
    targetsTrain: d.targets_train || null,
    targetsTest: d.targets_test || null,
  };
  if (msg.params && msg.params.layers) {
    msg.params.layers.forEach((p, k) => {
      if (!state.layers[k]) return;
      for (const [name, value] of Object.entries(p)) state.layers[k][name] = nestedToArray(value);
    });
  }
  state.heat = { output: null, outputClass: null, input: null, layers: [] };
  state.dirty = true;
}

/**
 * A decoded binary frame. Returns false when it was dropped as stale
 * (older generation, or an older step than already shown).
 */
export function applyFrame(state, header, arrays) {
  state.stats.messages++;
  if (header.session && state.session.id && header.session !== state.session.id) return false;
  if (header.generation < state.generation) {
    state.stats.stale++;
    return false;
  }
  if (header.generation > state.generation) {
    if (state.generation >= 0) resetRun(state);
    state.generation = header.generation;
    state.step = 0;
  }
  pushPoints(state, arrays);
  if (header.type === "points") return true;
  if (header.step < state.step) {
    state.stats.stale++;
    return false;
  }
  state.stats.frames++;
  if (header.dropped) state.stats.dropped += header.dropped;
  state.step = header.step;
  if (header.epoch !== undefined) state.epoch = header.epoch;
  if (header.playing !== undefined) state.playing = header.playing;
  state.time = header.time || 0;
  // A frame may have been built just before a divergence was found: frames only
  // ever raise a divergence; the "recovered" / "reset" events and session info clear it.
  if (header.divergence) state.divergence = header.divergence;
  if (header.eval) {
    state.eval = header.eval;
    pushEval(state, header.eval);
  }
  if (header.summary) {
    state.summary = header.summary;
    (header.summary.layers || []).forEach((l, k) => {
      if (state.norms[k]) state.norms[k].push(header.summary.step ?? header.step, l.grad_norm, l.update_ratio, l.weight_norm);
    });
  }
  const perLayer = layerArrays(arrays);
  perLayer.forEach((arrs, k) => {
    if (!state.layers[k]) return;
    // Activations, deltas, grads and updates belong to the step just taken; keep
    // parameters when a frame carries none (large networks: summary only).
    Object.assign(state.layers[k], arrs);
  });
  if (arrays["batch.X"]) state.batch = { X: arrays["batch.X"], indices: arrays["batch.indices"] || null };
  if (arrays["heat.output"] || arrays["heat.input"]) {
    state.heat = heatmapsOf(arrays);
  }
  state.dirty = true;
  return true;
}

function pushPoints(state, arrays) {
  const s = arrays["points.step"];
  if (s && s.data.length) {
    state.loss.pushMany(s.data, arrays["points.loss"].data, arrays["points.lr"].data);
    state.dirty = true;
  }
}

/** A text event (reset, config, params, play, pause, divergence, recovered, deleted). */
export function applyEvent(state, msg) {
  if (msg.session) applySessionInfo(state, msg.session);
  if (typeof msg.generation === "number" && msg.generation > state.generation) {
    if (state.generation >= 0) resetRun(state);
    state.generation = msg.generation;
    state.step = msg.step ?? 0;
  }
  switch (msg.event) {
    case "play":
      state.playing = true;
      state.stopReason = null;
      break;
    case "pause":
      state.playing = false;
      state.stopReason = msg.reason || "paused";
      break;
    case "divergence":
      state.divergence = msg.divergence || state.divergence;
      state.playing = false;
      break;
    case "reset": // a reset also stops play, with no pause event of its own
      state.playing = false;
      state.divergence = null;
      break;
    case "recovered":
      state.divergence = null;
      break;
    case "deleted":
      state.session.status = "deleted";
      state.playing = false;
      break;
    default:
      break;
  }
  state.dirty = true;
}

/** GET …/history: fills the curves of a session that ran before this page attached. */
export function applyHistory(state, history) {
  const loss = new Series(["loss", "lr"], LOSS_CAPACITY);
  history.steps.forEach((step, i) => loss.push(step, history.loss[i] ?? NaN, history.lr[i] ?? NaN));
  const old = state.loss;
  for (let i = 0; i < old.length; i++) loss.push(old.steps[i], old.values[0][i], old.values[1][i]);
  state.loss = loss;
  const ev = history.evals || {};
  const evals = new Series(state.evals.fields, EVAL_CAPACITY);
  (ev.step || []).forEach((step, i) =>
    evals.push(step, ev.train_loss?.[i] ?? NaN, ev.test_loss?.[i] ?? NaN, ev.train_accuracy?.[i] ?? NaN, ev.test_accuracy?.[i] ?? NaN),
  );
  const oldE = state.evals;
  for (let i = 0; i < oldE.length; i++) evals.push(oldE.steps[i], ...oldE.values.map((c) => c[i]));
  state.evals = evals;
  state.dirty = true;
}

/** Output activation of the network (the last layer's). */
export function outputActivation(state) {
  const layers = state.architecture?.layers || [];
  return layers.length ? layers[layers.length - 1].activation : null;
}

/** Units per column for the network drawing: input features first. */
export function columnCounts(state) {
  const arch = state.architecture;
  if (!arch) return [];
  const inputs = arch.input_shape.reduce((n, d) => n * d, 1);
  return [inputs, ...arch.layers.map((l) => (l.output_shape || [l.units]).reduce((n, d) => n * d, 1))];
}

/** Whether the page can draw this architecture as a dense network. */
export function isDense(state) {
  return !!state.architecture && state.architecture.layers.every((l) => l.type === "dense") && state.architecture.input_shape.length === 1;
}
