// Time travel, the pure part: the range of steps a page can revisit, a small
// LRU of fetched steps, latest-wins fetching while a scrub drags, a past step's
// arrays shaped like the live state the views read, and the numbers shown for
// compare, gradient-check and fork answers. No DOM, no fetch.

import { heatmapsOf, layerArrays, nestedToArray } from "./protocol.js";

export { nestedToArray }; // views and tests read it from here too

/**
 * The steps that can be revisited: session info's `recorded` ({first, last}) up to the live step.
 * @returns {{first: number, last: number} | null}  null when the session records nothing
 */
export function recordedRange(recorded, liveStep = 0) {
  if (!recorded || typeof recorded.first !== "number") return null;
  const last = Math.max(recorded.last ?? 0, liveStep ?? 0);
  return { first: Math.min(recorded.first, last), last };
}

/** A whole step inside the range. */
export function clampStep(step, range) {
  const s = Math.round(step);
  if (!range) return s;
  return s < range.first ? range.first : s > range.last ? range.last : s;
}

/**
 * ← / → by `delta` steps from the viewed step (`current`, null = live).
 * Returns the step to show, or null when that is the live end ("back to live").
 */
export function stepBy(current, delta, range) {
  if (!range) return null;
  const to = clampStep((current ?? range.last) + delta, range);
  return to >= range.last ? null : to;
}

/** The step under pixel `x` of a scale `sx` (with `.invert`), in the range; null at or past the live end. */
export function stepAtX(x, sx, range, snapPixels = 3) {
  if (!range) return null;
  if (x >= sx(range.last) - snapPixels) return null;
  return clampStep(sx.invert(x), range);
}

/** Least recently used cache, for fetched past steps. */
export class StepCache {
  constructor(capacity = 32) {
    if (!(capacity >= 1)) throw new Error("capacity must be ≥ 1");
    this.capacity = capacity;
    this.map = new Map();
  }

  get size() {
    return this.map.size;
  }

  has(key) {
    return this.map.has(key);
  }

  get(key) {
    if (!this.map.has(key)) return undefined;
    const value = this.map.get(key);
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  set(key, value) {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value);
    return this;
  }

  clear() {
    this.map.clear();
  }
}

/**
 * At most one `run(job)` in flight; a request made while one runs replaces any
 * waiting job, so a fast drag fetches the step it started with and then only
 * the latest one. `run` must not throw (catch inside).
 */
export function latestOnly(run) {
  let waiting = null;
  let running = false;
  async function pump() {
    running = true;
    try {
      while (waiting !== null) {
        const job = waiting;
        waiting = null;
        await run(job);
      }
    } finally {
      running = false;
    }
  }
  return {
    request(job) {
      waiting = job;
      if (!running) return pump();
      return undefined;
    },
    /** Whether a job runs or waits. */
    get busy() {
      return running || waiting !== null;
    },
    cancel() {
      waiting = null;
    },
  };
}


/**
 * A past step as the views read the live state: {step, epoch, layers, heat, summary, eval, batch}.
 * `frame` is a decoded `GET …/at/{step}/frame` ({header, arrays}: heatmaps, float32 tensors);
 * `at` is `GET …/at/{step}` (float64 parameters and trace, the evaluation at that step). The
 * float64 numbers win where both have them, so read-outs equal the API's.
 */
export function pastSnapshot(frame, at) {
  const header = frame?.header || {};
  const arrays = frame?.arrays || {};
  const layers = layerArrays(arrays).map((l) => ({ ...l }));
  const put = (k, name, value) => {
    while (layers.length <= k) layers.push({});
    layers[k] ||= {};
    layers[k][name] = nestedToArray(value);
  };
  (at?.params?.layers || []).forEach((p, k) => {
    for (const [name, value] of Object.entries(p)) put(k, name, value);
  });
  (at?.trace?.layers || []).forEach((t, k) => {
    for (const [name, value] of Object.entries(t)) put(k, name, value);
  });
  for (let k = 0; k < layers.length; k++) layers[k] ||= {};
  const heat = heatmapsOf(arrays);
  let batch = null;
  if (at?.trace?.X) batch = { X: nestedToArray(at.trace.X), indices: Int32Array.from(at.trace.indices || []) };
  else if (arrays["batch.X"]) batch = { X: arrays["batch.X"], indices: arrays["batch.indices"] || null };
  return {
    step: at?.step ?? header.step,
    epoch: at?.epoch ?? header.epoch ?? 0,
    generation: header.generation,
    layers,
    heat,
    summary: at?.summary ?? header.summary ?? null,
    // The frame header's eval is the replay's last logged one; `at.eval` is evaluated at the step.
    eval: at?.eval ? { step: at.step, ...at.eval } : null,
    batch,
    traced: !!at?.trace,
  };
}

/**
 * The state the views draw while a past step is shown: the live state with the
 * per-step parts (layers, heatmaps, step, summary, eval, batch) of `past`.
 * Everything else (config, data, ui, curves) reads through to the live state.
 */
export function pastView(state, past) {
  if (!past) return state;
  const view = Object.create(state);
  view.step = past.step;
  view.epoch = past.epoch;
  view.layers = past.layers.length ? past.layers : state.layers;
  view.heat = past.heat;
  view.summary = past.summary;
  view.eval = past.eval ?? state.eval;
  view.batch = past.batch;
  view.past = past;
  return view;
}

function norm(values) {
  let s = 0;
  for (const v of values) s += v * v;
  return Math.sqrt(s);
}

function flat(nested) {
  return Array.isArray(nested) ? nested.flat(Infinity) : [nested];
}

/**
 * Rows of `GET …/compare`: per layer the parameter norm at both steps, the norm of the change,
 * the change relative to the norm at A, and each parameter's largest |change|.
 */
export function compareRows(resp) {
  return (resp?.layers || []).map((l) => {
    const params = Object.entries(l.change || {}).map(([name, change]) => {
      const values = flat(change);
      let maxAbs = 0;
      for (const v of values) maxAbs = Math.max(maxAbs, Math.abs(v));
      return { name, norm: norm(values), maxAbs, count: values.length };
    });
    const changeNorm = norm(params.map((p) => p.norm));
    return {
      layer: l.layer,
      normA: l.norm_a,
      normB: l.norm_b,
      changeNorm,
      relative: l.norm_a > 0 ? changeNorm / l.norm_a : changeNorm > 0 ? Infinity : 0,
      params,
    };
  });
}

/** Largest |change| of weight matrices `param` (default W) over all layers: the colour scale of ΔW edges. */
export function maxChange(resp, param = "W") {
  let m = 0;
  for (const l of resp?.layers || []) {
    const c = l.change?.[param];
    if (c) for (const v of flat(c)) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  }
  return m;
}

/**
 * Rows of a gradient-check answer. Status per entry: "ok"; "flagged" when its difference,
 * scaled like the verdict (by the largest |numeric| checked), exceeds the tolerance; "tiny"
 * when only its own relative error does — a gradient near 0 where rounding dominates.
 */
export function gradcheckRows(resp) {
  const entries = resp?.entries || [];
  let scale = 0;
  for (const e of entries) scale = Math.max(scale, Math.abs(e.numeric));
  scale = Math.max(scale, 1e-12);
  const tol = resp?.tolerance ?? 1e-6;
  return entries.map((e) => {
    const scaled = Math.abs(e.analytic - e.numeric) / scale;
    const status = scaled > tol ? "flagged" : e.relative_error > tol ? "tiny" : "ok";
    return { ...e, name: `${e.param}${e.index.map((i) => `[${i}]`).join("")}`, scaled, status };
  });
}

/** Keep the points of a curve at steps ≤ `upto` (a parent's curve up to the fork step). */
export function curveUpTo(steps, values, upto = Infinity) {
  const s = [];
  const v = [];
  for (let i = 0; i < steps.length; i++) {
    if (steps[i] > upto) break;
    s.push(steps[i]);
    v.push(values[i] ?? NaN);
  }
  return { steps: Float64Array.from(s), values: Float64Array.from(v) };
}

/**
 * The training-section changes a fork asks for (POST …/fork `training`). A new kind of optimizer
 * starts from its defaults; the same kind keeps its other settings. Unchanged values are left out.
 */
export function forkChanges(current, wanted, defaults = {}) {
  const opt = current?.optimizer || {};
  const changes = {};
  const name = wanted.optimizer || opt.name;
  const lr = wanted.lr ?? opt.lr;
  if (name !== opt.name) changes.optimizer = { ...(defaults[name] || {}), name, lr };
  else if (lr !== opt.lr) changes.optimizer = { name, lr };
  if (wanted.batchSize !== undefined && wanted.batchSize !== current?.batch_size) changes.batch_size = wanted.batchSize;
  return changes;
}

/** A short label of a fork's training setup, e.g. "adam · lr 0.01". */
export function forkLabel(training) {
  const o = training?.optimizer || {};
  return `${o.name ?? "?"} · lr ${o.lr ?? "?"}`;
}
