// Classroom helpers: the presenter's view state, lesson actions, race presets and the
// geometry of the race charts. Pure: no DOM, no sockets (tested with node --test).

/** What viewers follow: the presenter's panels and drawing modes, as a small plain object. */
export function viewOf(state, extra = {}) {
  const ui = state.ui;
  return {
    edge: ui.edgeMode,
    node: ui.nodeMode,
    chart: ui.layerChart,
    log: !!ui.logScale,
    explain: ui.selected ? plainTarget(ui.selected) : null,
    lesson: extra.lesson ?? null,
    race: extra.race ?? null,
  };
}

/** An explain target without anything the page added to it. */
export function plainTarget(t) {
  const out = { kind: t.kind, layer: t.layer };
  if (t.kind === "node") out.unit = t.unit;
  else {
    out.param = t.param;
    out.index = [...t.index];
  }
  return out;
}

export function sameTarget(a, b) {
  if (!a || !b) return !a && !b;
  return JSON.stringify(plainTarget(a)) === JSON.stringify(plainTarget(b));
}

/** The websocket message that leads the class (docs/protocol.md, "view"). */
export function viewMessage(token, view) {
  return JSON.stringify({ type: "view", token, view });
}

/** The 6-character join code from a page URL's query (?join=k7qx2m → K7QX2M), or null. */
export function joinCodeOf(search) {
  const q = new URLSearchParams(search.startsWith("?") ? search.slice(1) : search);
  const code = (q.get("join") || "").trim().toUpperCase();
  return /^[A-Z0-9]{4,16}$/.test(code) ? code : null;
}

// --- lessons -----------------------------------------------------------------------------

/** Order in which a lesson step's actions run (a new session first, the race last). */
export const LESSON_ORDER = ["config", "reset", "recover", "set", "view", "step", "play", "pause", "race"];

/** A lesson step's `do` as an ordered list of [action, argument]. */
export function lessonActions(step) {
  const todo = step?.do || {};
  return LESSON_ORDER.filter((k) => k in todo && todo[k] !== false && todo[k] !== null).map((k) => [k, todo[k]]);
}

/** `base` with `patch` merged in: objects merge key by key, arrays and values replace. */
export function deepMerge(base, patch) {
  if (!isObject(base) || !isObject(patch)) return structuredClone(patch);
  const out = structuredClone(base);
  for (const [k, v] of Object.entries(patch)) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k], v) : structuredClone(v);
  return out;
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

// --- races -----------------------------------------------------------------------------------

/** Race presets from the current training section: the variants the race dialog offers. */
export function racePresets(training) {
  const lr = training?.optimizer?.lr ?? 0.03;
  const reg = training?.regularization?.rate || 0.003;
  return {
    optimizers: [
      { label: "SGD", training: { optimizer: { name: "sgd", lr } } },
      { label: "momentum", training: { optimizer: { name: "sgd", lr, momentum: 0.9 } } },
      { label: "Nesterov", training: { optimizer: { name: "sgd", lr, momentum: 0.9, nesterov: true } } },
      { label: "Adam", training: { optimizer: { name: "adam", lr: 0.01 } } },
      { label: "RMSprop", training: { optimizer: { name: "rmsprop", lr: 0.003 } } },
    ],
    "learning rates": [0.1, 0.3, 1, 3, 10].map((f) => {
      const value = Number((lr * f).toPrecision(3));
      return { label: `lr ${value}`, training: { optimizer: { name: training?.optimizer?.name || "sgd", lr: value } } };
    }),
    regularization: [
      { label: "none", training: { regularization: { kind: "none", rate: 0 } } },
      { label: "L2", training: { regularization: { kind: "l2", rate: reg } } },
      { label: "L1", training: { regularization: { kind: "l1", rate: reg } } },
    ],
  };
}

/** Loss range over every member's curve, for a log axis: [lo, hi] of the finite positive values. */
export function curvesExtent(members) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const m of members) {
    for (const v of m.curve.loss) {
      if (v === null || !(v > 0) || !Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!(lo < hi)) return Number.isFinite(lo) ? [lo / 2, lo * 2] : [0.01, 1];
  return [lo, hi];
}

/** Steps' extent of every member's curve: [0, last step] (at least [0, 1]). */
export function stepsExtent(members) {
  let hi = 1;
  for (const m of members) {
    const s = m.curve.steps;
    if (s.length && s[s.length - 1] > hi) hi = s[s.length - 1];
  }
  return [0, hi];
}

/**
 * Map a landscape's grid to colour levels 0…1: log of the loss, clipped at a high quantile so
 * one exploding corner does not wash out the valley. Returns {levels: Float32Array, lo, hi}.
 */
export function landscapeLevels(grid, clipQuantile = 0.95) {
  const rows = grid.length;
  const cols = rows ? grid[0].length : 0;
  const logs = [];
  for (const row of grid) for (const v of row) if (v !== null && v > 0 && Number.isFinite(v)) logs.push(Math.log(v));
  logs.sort((a, b) => a - b);
  const lo = logs.length ? logs[0] : 0;
  const hi = logs.length ? logs[Math.min(logs.length - 1, Math.floor(clipQuantile * (logs.length - 1)))] : 1;
  const span = hi - lo || 1;
  const levels = new Float32Array(rows * cols);
  grid.forEach((row, i) =>
    row.forEach((v, j) => {
      levels[i * cols + j] = v !== null && v > 0 && Number.isFinite(v) ? Math.min(1, Math.max(0, (Math.log(v) - lo) / span)) : 1;
    }),
  );
  return { levels, lo: Math.exp(lo), hi: Math.exp(hi) };
}

/** Pixel position of a landscape point (α, β) in a box, β up. */
export function landscapePoint([a, b], alphas, betas, box) {
  const a0 = alphas[0];
  const a1 = alphas[alphas.length - 1];
  const b0 = betas[0];
  const b1 = betas[betas.length - 1];
  return {
    x: box.x + ((a - a0) / (a1 - a0 || 1)) * box.w,
    y: box.y + box.h - ((b - b0) / (b1 - b0 || 1)) * box.h,
  };
}

// Viridis at 9 stops: low loss dark purple, high loss yellow; readable for colour-blind viewers.
const VIRIDIS = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** RGB of the sequential (viridis) ramp at t ∈ [0, 1] (clamped). */
export function sequential(t) {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 1)) * (VIRIDIS.length - 1);
  const k = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - k;
  return VIRIDIS[k].map((c, i) => Math.round(c + (VIRIDIS[k + 1][i] - c) * f));
}
