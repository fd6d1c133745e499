// The reducers that fold server messages into the page's state.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createState, applyHello, applyFrame, applyEvent, applySessionInfo, applyHistory, columnCounts, isDense } from "../../frontend/js/state.js";
import { Series } from "../../frontend/js/series.js";

const arch = {
  input_shape: [2],
  output_shape: [1],
  loss: "bce",
  layers: [
    { type: "dense", units: 3, activation: "tanh", output_shape: [3] },
    { type: "dense", units: 1, activation: "sigmoid", output_shape: [1] },
  ],
};
const info = (over = {}) => ({ id: "s", generation: 1, step: 0, epoch: 0, playing: false, config: {}, architecture: arch, eval: null, divergence: null, ...over });
const f64 = (a, shape = [a.length]) => ({ data: Float64Array.from(a), shape });

function hello() {
  const s = createState();
  s.session.id = "s";
  applyHello(s, {
    type: "hello",
    session: info(),
    architecture: arch,
    data: { name: "circle", kind: "plane", task: "binary", domain: [-6, 6], feature_names: ["x1", "x2"], points_train: [[0, 0]], labels_train: [1] },
    params: { layers: [{ W: [[1, 2, 3], [4, 5, 6]], b: [0, 0, 0] }, { W: [[1], [2], [3]], b: [0.5] }] },
  });
  return s;
}

test("hello sets the architecture, data and parameters", () => {
  const s = hello();
  assert.deepEqual(columnCounts(s), [2, 3, 1]);
  assert.ok(isDense(s));
  assert.deepEqual(s.layers[0].W.shape, [2, 3]);
  assert.equal(s.layers[0].W.data[5], 6);
  assert.equal(s.data.task, "binary");
  assert.equal(s.norms.length, 2);
});

test("frames move the step on, feed the loss curve and replace tensors", () => {
  const s = hello();
  s.dirty = false;
  const ok = applyFrame(s, { type: "frame", session: "s", generation: 1, step: 3, epoch: 0, playing: true, summary: { step: 3, layers: [{ grad_norm: 1, update_ratio: 0.01, weight_norm: 2 }, { grad_norm: 0.5, update_ratio: 0.02, weight_norm: 1 }] }, eval: { step: 2, train_loss: 0.6, test_loss: 0.7 } }, {
    "points.step": f64([1, 2, 3]),
    "points.loss": f64([0.9, 0.8, 0.7]),
    "points.lr": f64([0.03, 0.03, 0.03]),
    "L0.delta": f64([1, 2, 3], [1, 3]),
  });
  assert.ok(ok);
  assert.ok(s.dirty);
  assert.equal(s.step, 3);
  assert.equal(s.playing, true);
  assert.equal(s.loss.length, 3);
  assert.equal(s.evals.length, 1);
  assert.equal(s.norms[1].length, 1);
  assert.ok(s.layers[0].delta);
  assert.ok(s.layers[0].W, "parameters kept when a frame carries none");
});

test("stale frames are dropped: older generation, or an older step", () => {
  const s = hello();
  applyFrame(s, { type: "frame", generation: 1, step: 5 }, {});
  assert.equal(applyFrame(s, { type: "frame", generation: 1, step: 4 }, {}), false);
  assert.equal(applyFrame(s, { type: "frame", generation: 0, step: 9 }, {}), false);
  assert.equal(s.step, 5);
  assert.equal(s.stats.stale, 2);
});

test("a new generation (reset) clears the curves and restarts the step", () => {
  const s = hello();
  applyFrame(s, { type: "frame", generation: 1, step: 2 }, { "points.step": f64([1, 2]), "points.loss": f64([1, 1]), "points.lr": f64([1, 1]) });
  assert.equal(s.loss.length, 2);
  applyEvent(s, { type: "event", event: "reset", generation: 2, step: 0 });
  assert.equal(s.generation, 2);
  assert.equal(s.step, 0);
  assert.equal(s.loss.length, 0);
});

test("events: play, pause, divergence, recovered, deleted", () => {
  const s = hello();
  applyEvent(s, { event: "play" });
  assert.equal(s.playing, true);
  applyEvent(s, { event: "divergence", divergence: { step: 9, lr: 10, message: "boom" } });
  assert.equal(s.playing, false);
  assert.equal(s.divergence.step, 9);
  applyEvent(s, { event: "recovered" });
  assert.equal(s.divergence, null);
  applyEvent(s, { event: "deleted" });
  assert.equal(s.session.status, "deleted");
});

test("session info from another session is ignored; history fills earlier points", () => {
  const s = hello();
  applySessionInfo(s, info({ id: "other", step: 99 }));
  assert.equal(s.step, 0);
  applyFrame(s, { type: "frame", generation: 1, step: 12 }, { "points.step": f64([11, 12]), "points.loss": f64([0.3, 0.2]), "points.lr": f64([0.1, 0.1]) });
  applyHistory(s, { steps: [1, 5, 10], loss: [0.9, 0.5, 0.4], lr: [0.1, 0.1, 0.1], evals: { step: [10], train_loss: [0.4], test_loss: [0.5], train_accuracy: [null], test_accuracy: [null] } });
  assert.deepEqual([...s.loss.steps.subarray(0, s.loss.length)], [1, 5, 10, 11, 12]);
  assert.equal(s.evals.length, 1);
});

test("a series keeps bounded memory, evenly thinned, and averages what it merges", () => {
  const series = new Series(["v"], 8);
  for (let i = 1; i <= 1000; i++) series.push(i, i % 2 ? 1 : 3);
  assert.ok(series.length <= 8);
  const values = [...series.column("v")];
  for (const v of values) assert.ok(v >= 1 && v <= 3);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  assert.ok(Math.abs(mean - 2) < 0.1, `mean ${mean}`);
  assert.ok(series.steps[series.length - 1] > 900);
  assert.equal(series.push(5, 1), false, "points at or before the last step are ignored");
  assert.equal(series.nearest(0), 0);
  assert.equal(series.indexAt(-1), -1);
});

test("a REST answer does not undo what the socket already said (divergence after play)", () => {
  const s = hello();
  applyEvent(s, { event: "divergence", divergence: { step: 100, lr: 10, message: "too large" } });
  applySessionInfo(s, info({ playing: true, divergence: null }), true);
  assert.equal(s.divergence.step, 100);
  assert.equal(s.playing, false);
  applySessionInfo(s, info({ playing: false, divergence: null }));
  assert.equal(s.divergence, null, "a full session info (hello, GET) is authoritative");
});

test("session info older than what was applied is ignored: a late REST reply cannot undo a newer change", () => {
  const s = hello();
  applySessionInfo(s, info({ revision: 5, play: { speed: 100, max_steps: 300 } }));
  applySessionInfo(s, info({ revision: 4, play: { speed: 100, max_steps: null } }), true);
  assert.deepEqual(s.play, { speed: 100, max_steps: 300 });
  applySessionInfo(s, info({ revision: 6, play: { speed: null, max_steps: null } }), true);
  assert.deepEqual(s.play, { speed: null, max_steps: null });
  // a hello starts afresh (a restarted server counts revisions from 0 again)
  applyHello(s, { type: "hello", session: info({ revision: 0, play: { speed: 7 } }), architecture: arch, data: {} });
  assert.deepEqual(s.play, { speed: 7 });
});
