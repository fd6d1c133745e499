// Time travel's pure rules: the revisitable range, ← / → stepping, the step cache,
// latest-wins fetching, past snapshots as the views read them, compare / gradcheck / fork numbers.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  recordedRange,
  clampStep,
  stepBy,
  stepAtX,
  StepCache,
  latestOnly,
  nestedToArray,
  pastSnapshot,
  pastView,
  compareRows,
  maxChange,
  gradcheckRows,
  curveUpTo,
  forkChanges,
  forkLabel,
} from "../../frontend/js/timeline-model.js";
import { linearScale } from "../../frontend/js/scales.js";

test("the recorded range runs from the first snapshot to the live step", () => {
  assert.deepEqual(recordedRange({ first: 0, last: 40, snapshots: 3 }, 55), { first: 0, last: 55 });
  assert.deepEqual(recordedRange({ first: 12, last: 40 }, 30), { first: 12, last: 40 });
  assert.equal(recordedRange(null, 10), null);
  assert.equal(recordedRange({ first: null }, 10), null);
});

test("steps are clamped to the range and rounded to whole steps", () => {
  const r = { first: 10, last: 100 };
  assert.equal(clampStep(3, r), 10);
  assert.equal(clampStep(250, r), 100);
  assert.equal(clampStep(41.6, r), 42);
});

test("left from live enters the past one step back and right at the end returns to live", () => {
  const r = { first: 0, last: 50 };
  assert.equal(stepBy(null, -1, r), 49);
  assert.equal(stepBy(49, +1, r), null);
  assert.equal(stepBy(20, +1, r), 21);
  assert.equal(stepBy(0, -1, r), 0, "the first recorded step is the floor");
  assert.equal(stepBy(null, +1, r), null, "right while live stays live");
  assert.equal(stepBy(5, -1, null), null);
});

test("a pixel on the track maps to a step, and the live end snaps to live", () => {
  const sx = linearScale([0, 100], [40, 240]);
  const r = { first: 10, last: 100 };
  assert.equal(stepAtX(140, sx, r), 50);
  assert.equal(stepAtX(0, sx, r), 10, "left of the recording: its first step");
  assert.equal(stepAtX(239, sx, r), null, "within a few pixels of the live end: live");
  assert.equal(stepAtX(400, sx, r), null);
});

test("the step cache forgets the least recently used step first", () => {
  const c = new StepCache(2);
  c.set("a", 1).set("b", 2);
  assert.equal(c.get("a"), 1); // a is now the most recent
  c.set("c", 3);
  assert.equal(c.has("b"), false);
  assert.equal(c.get("a"), 1);
  assert.equal(c.get("c"), 3);
  assert.equal(c.size, 2);
  c.clear();
  assert.equal(c.size, 0);
  assert.throws(() => new StepCache(0));
});

test("latest-wins fetching runs one job at a time and skips the ones overtaken", async () => {
  const ran = [];
  const gates = [];
  const f = latestOnly(async (job) => {
    ran.push(job);
    await new Promise((resolve) => gates.push(resolve));
  });
  f.request(1);
  f.request(2);
  f.request(3);
  f.request(4);
  assert.equal(f.busy, true);
  assert.deepEqual(ran, [1]);
  gates.shift()();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(ran, [1, 4], "2 and 3 were overtaken by 4");
  f.cancel();
  gates.shift()();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(f.busy, false);
  f.request(5);
  gates.shift()();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(ran, [1, 4, 5]);
});

test("nested JSON lists become flat float64 arrays with their shape, null as NaN", () => {
  const a = nestedToArray([
    [1, 2, 3],
    [4, null, 6],
  ]);
  assert.deepEqual(a.shape, [2, 3]);
  assert.ok(a.data instanceof Float64Array);
  assert.equal(a.data[5], 6);
  assert.ok(Number.isNaN(a.data[4]));
  assert.deepEqual(nestedToArray([0.5, 1.5]).shape, [2]);
});

const f32 = (a, shape) => ({ data: Float32Array.from(a), shape, dtype: "f4" });

function frame() {
  return {
    header: { type: "frame", step: 7, epoch: 1, generation: 2, past: true, summary: { loss: 0.9 }, eval: { step: 5, train_loss: 9 } },
    arrays: {
      "L0.W": f32([0.1, 0.2], [1, 2]),
      "L0.grad_W": f32([0.01, 0.02], [1, 2]),
      "L1.W": f32([0.3, 0.4], [2, 1]),
      "heat.output": f32([0, 1, 1, 0], [2, 2]),
      "heat.input": f32(new Array(4).fill(0), [1, 2, 2]),
      "heat.L0": f32(new Array(8).fill(0.5), [2, 2, 2]),
      "heat.L1": f32(new Array(4).fill(0.25), [1, 2, 2]),
    },
  };
}

const at = {
  step: 7,
  epoch: 1,
  params: { layers: [{ W: [[0.1000000001, 0.2]], b: [0, 0] }, { W: [[0.3], [0.4]], b: [0.5] }] },
  eval: { train_loss: 0.25, test_loss: 0.5, train_accuracy: 0.9, test_accuracy: 0.8 },
  summary: { loss: 0.3, lr: 0.03 },
  trace: { indices: [3, 1], X: [[1], [2]], Y: [[0], [1]], layers: [{ grad_W: [[0.0100000001, 0.02]], a: [[0.1, 0.2], [0.3, 0.4]] }, {}] },
};

test("a past snapshot takes heatmaps from the frame and float64 numbers and the evaluation from the step's state", () => {
  const past = pastSnapshot(frame(), at);
  assert.equal(past.step, 7);
  assert.equal(past.generation, 2);
  assert.equal(past.layers.length, 2);
  assert.equal(past.layers[0].W.data[0], 0.1000000001, "float64 parameters win over the frame's float32");
  assert.ok(past.layers[0].W.data instanceof Float64Array);
  assert.equal(past.layers[0].grad_W.data[0], 0.0100000001);
  assert.deepEqual(past.layers[0].a.shape, [2, 2]);
  assert.equal(past.layers[1].b.data[0], 0.5);
  assert.deepEqual(past.heat.output.shape, [2, 2]);
  assert.equal(past.heat.layers.length, 2);
  assert.equal(past.eval.train_loss, 0.25, "the evaluation at the step, not the replay's last logged one");
  assert.equal(past.eval.step, 7);
  assert.equal(past.summary.loss, 0.3);
  assert.deepEqual(Array.from(past.batch.indices), [3, 1]);
  assert.equal(past.traced, true);
});

test("a past snapshot from a frame alone keeps its float32 tensors", () => {
  const past = pastSnapshot(frame(), null);
  assert.equal(past.step, 7);
  assert.ok(Math.abs(past.layers[0].W.data[1] - 0.2) < 1e-7);
  assert.equal(past.eval, null);
  assert.equal(past.traced, false);
});

test("the past view overrides the per-step parts and reads everything else through to the live state", () => {
  const live = { step: 50, epoch: 3, layers: [{ W: "live" }], heat: { output: "live" }, summary: "live", eval: { train_loss: 1 }, batch: null, config: { seed: 1 }, ui: { edgeMode: "grad" } };
  assert.equal(pastView(live, null), live);
  const past = pastSnapshot(frame(), at);
  const view = pastView(live, past);
  assert.equal(view.step, 7);
  assert.equal(view.layers, past.layers);
  assert.equal(view.heat, past.heat);
  assert.equal(view.eval.train_loss, 0.25);
  assert.equal(view.config, live.config);
  assert.equal(view.ui, live.ui);
  assert.equal(live.step, 50, "the live state is untouched");
  assert.equal(view.past, past);
});

test("compare rows give each layer's norms, the norm of its change and the change relative to step A", () => {
  const resp = {
    a: 1,
    b: 9,
    layers: [
      { layer: 0, norm_a: 5, norm_b: 6, change: { W: [[3, 0], [0, 0]], b: [4, 0] } },
      { layer: 1, norm_a: 0, norm_b: 0, change: { W: [[0], [0]], b: [0] } },
    ],
  };
  const rows = compareRows(resp);
  assert.equal(rows[0].changeNorm, 5);
  assert.equal(rows[0].relative, 1);
  assert.deepEqual(rows[0].params.map((p) => [p.name, p.norm, p.maxAbs, p.count]), [["W", 3, 3, 4], ["b", 4, 4, 2]]);
  assert.equal(rows[1].relative, 0);
  assert.equal(maxChange(resp, "W"), 3);
  assert.equal(maxChange(resp, "b"), 4);
  assert.equal(maxChange(null), 0);
});

test("gradient-check rows flag real disagreements and excuse rounding on gradients near zero", () => {
  const resp = {
    tolerance: 1e-6,
    entries: [
      { layer: 0, param: "W", index: [0, 1], analytic: 0.5, numeric: 0.5 + 1e-12, relative_error: 2e-12 },
      { layer: 0, param: "b", index: [2], analytic: 1e-13, numeric: 3e-13, relative_error: 0.67 },
      { layer: 1, param: "W", index: [1, 0], analytic: 0.2, numeric: 0.25, relative_error: 0.2 },
    ],
  };
  const rows = gradcheckRows(resp);
  assert.deepEqual(rows.map((r) => r.status), ["ok", "tiny", "flagged"]);
  assert.equal(rows[0].name, "W[0][1]");
  assert.equal(rows[1].name, "b[2]");
  assert.deepEqual(gradcheckRows({ entries: [] }), []);
});

test("a parent's curve is cut at the fork step", () => {
  const c = curveUpTo([0, 25, 50, 75], [1, 0.8, 0.6, 0.5], 50);
  assert.deepEqual(Array.from(c.steps), [0, 25, 50]);
  assert.deepEqual(Array.from(c.values), [1, 0.8, 0.6]);
  assert.equal(curveUpTo([], []).steps.length, 0);
});

test("a fork asks only for what changes, and a new optimizer starts from its defaults", () => {
  const current = { optimizer: { name: "sgd", lr: 0.03, momentum: 0.9 }, batch_size: 10 };
  const defaults = { adam: { beta1: 0.9, beta2: 0.999 } };
  assert.deepEqual(forkChanges(current, { optimizer: "sgd", lr: 0.03, batchSize: 10 }, defaults), {});
  assert.deepEqual(forkChanges(current, { optimizer: "sgd", lr: 0.1 }, defaults), { optimizer: { name: "sgd", lr: 0.1 } });
  assert.deepEqual(forkChanges(current, { optimizer: "adam", lr: 0.01 }, defaults), { optimizer: { beta1: 0.9, beta2: 0.999, name: "adam", lr: 0.01 } });
  assert.deepEqual(forkChanges(current, { optimizer: "adam" }, {}), { optimizer: { name: "adam", lr: 0.03 } });
  assert.deepEqual(forkChanges(current, { batchSize: 25 }), { batch_size: 25 });
  assert.equal(forkLabel({ optimizer: { name: "adam", lr: 0.01 } }), "adam · lr 0.01");
});
