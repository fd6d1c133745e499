// Predictions the server streams no maps for, asked of /predict at most ~3 times a second
// and once per step, and put where streamed maps would go (state.heat):
// - 1-D data (`sine`, one-column tables): the network's curve over the line, heat.curve;
// - a 2-D plane whose maps the server did not stream: heatmaps over a grid. The server
//   streams maps for every plane it can, so this is a fallback; streamed maps win.

import { gridInputs, lineInputs, inputSpace, FEATURES } from "./features.js";

const RESOLUTION = 40;
const CURVE_POINTS = 121;
const EVERY_MS = 300;

/** Rows (one per grid point) of per-unit values → a {data, shape: [units, r, r]} map stack. */
function toHeat(rows, r) {
  const units = rows[0].length;
  const data = new Float32Array(units * r * r);
  rows.forEach((row, p) => row.forEach((v, u) => (data[u * r * r + p] = v ?? NaN)));
  return { data, shape: [units, r, r] };
}

/**
 * The one number a line plot shows for an output row: the value (regression, one unit),
 * P(class 1) of a two-unit softmax, else the predicted class, on the same axis as labels.
 */
export function curveValue(row, task) {
  if (task === "regression" || row.length === 1) return row[0] ?? NaN;
  if (row.length === 2) return row[1] ?? NaN;
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
  return best;
}

/** /predict's outputs over lineInputs(domain, n) → {domain, values} for heat.curve. */
export function toCurve(outputs, domain, task) {
  const values = new Float32Array(outputs.length);
  outputs.forEach((row, i) => (values[i] = curveValue(row, task) ?? NaN));
  return { domain: [domain[0], domain[1]], values };
}

export function createInlineHeat({ state, api }) {
  let askedAt = 0;
  let doneKey = "";
  let asking = false;
  let own = null; // the heat object this module made last: any other one came from a frame

  async function update(now) {
    const d = state.data;
    const space = inputSpace(d, state.architecture);
    if (!space || asking || now - askedAt < EVERY_MS) return;
    const key = `${state.session.id}:${state.generation}:${state.step}`;
    if (key === doneKey) return;
    if (space === "plane" && (d.kind === "plane" || (state.heat.output && state.heat !== own))) return;
    const feats = d.featureNames?.length ? d.featureNames : ["x1", "x2"];
    if (space === "plane" && !feats.every((f) => FEATURES[f])) return;
    if (space === "line" && state.architecture?.input_shape?.[0] !== 1) return;
    asking = true;
    askedAt = now;
    const id = state.session.id;
    const gen = state.generation;
    const step = state.step;
    const before = state.heat;
    try {
      if (space === "line") {
        const res = await api.predict(id, lineInputs(d.domain, CURVE_POINTS));
        if (id !== state.session.id || gen !== state.generation) return;
        state.heat = own = { ...state.heat, curve: { ...toCurve(res.outputs, d.domain, d.task), step } };
      } else {
        const r = RESOLUTION;
        const res = await api.predict(id, gridInputs(d.domain, r, feats));
        // a frame's streamed maps arrived meanwhile: they are newer and finer
        if (id !== state.session.id || gen !== state.generation || state.heat !== before) return;
        const out = toHeat(res.outputs, r);
        const heat = {
          output: { data: out.data.subarray(0, r * r), shape: [r, r] },
          outputClass: null,
          input: toHeat(gridInputs(d.domain, r, feats), r),
          layers: res.layers.map((l) => toHeat(l.a, r)),
        };
        if (res.outputs[0].length > 1) {
          const cls = new Uint8Array(r * r);
          res.outputs.forEach((row, p) => (cls[p] = row.indexOf(Math.max(...row))));
          heat.outputClass = { data: cls, shape: [r, r] };
        }
        state.heat = own = heat;
      }
      state.dirty = true;
    } catch {
      // a failed ask waits for the next step rather than retrying every 300 ms
    } finally {
      doneKey = key;
      asking = false;
    }
  }

  return { update };
}
