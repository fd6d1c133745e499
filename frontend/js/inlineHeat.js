// Heatmaps for data the server streams no maps for (points the user sent inline, with a
// 2-D input plane): the page asks /predict for the network over a grid, at most ~3 times
// a second and once per step, and puts the result where streamed maps would go.

import { gridInputs, FEATURES } from "./features.js";

const RESOLUTION = 40;
const EVERY_MS = 300;

/** Rows (one per grid point) of per-unit values → a {data, shape: [units, r, r]} map stack. */
function toHeat(rows, r) {
  const units = rows[0].length;
  const data = new Float32Array(units * r * r);
  rows.forEach((row, p) => row.forEach((v, u) => (data[u * r * r + p] = v ?? NaN)));
  return { data, shape: [units, r, r] };
}

export function createInlineHeat({ state, api }) {
  let askedAt = 0;
  let doneStep = -1;
  let asking = false;

  async function update(now) {
    const d = state.data;
    if (!d || d.kind === "plane" || !d.domain || !d.pointsTrain?.length || d.pointsTrain[0].length !== 2) return;
    if (asking || now - askedAt < EVERY_MS || doneStep === state.step) return;
    const feats = d.featureNames?.length ? d.featureNames : ["x1", "x2"];
    if (!feats.every((f) => FEATURES[f])) return;
    asking = true;
    askedAt = now;
    const step = state.step;
    const id = state.session.id;
    const r = RESOLUTION;
    try {
      const res = await api.predict(id, gridInputs(d.domain, r, feats));
      if (id !== state.session.id) return;
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
      state.heat = heat;
      doneStep = step;
      state.dirty = true;
    } catch {
      doneStep = step;
    } finally {
      asking = false;
    }
  }

  return { update };
}
