import { test } from "node:test";
import assert from "node:assert/strict";
import * as m from "../../frontend/js/model.js";
import { createAnimation, animationAt, nextPhase, columnState, describePhase } from "../../frontend/js/animation.js";
import { gridInputs } from "../../frontend/js/features.js";
import { thumbPoints } from "../../frontend/js/thumbs.js";
import { gradientFlags } from "../../frontend/js/views/layerCharts.js";
import { recoveryRate } from "../../frontend/js/views/banner.js";

const base = () => m.clone(m.DEFAULT_CONFIG);

test("adding and removing hidden layers keeps the output layer last", () => {
  const c = base();
  const more = m.addLayer(c);
  assert.equal(more.model.layers.length, 4);
  assert.deepEqual(more.model.layers.at(-1), c.model.layers.at(-1));
  assert.equal(c.model.layers.length, 3, "the argument is not changed");
  const less = m.removeLayer(m.removeLayer(c));
  assert.equal(less.model.layers.length, 1);
  assert.equal(m.removeLayer(less), less, "no hidden layer left to remove");
  assert.equal(m.addLayer(c, 3), c, "limit on the number of layers");
});

test("units stay within 1 … max; activations and output pairs", () => {
  const c = base();
  assert.equal(m.changeUnits(c, 0, -100).model.layers[0].units, 1);
  assert.equal(m.changeUnits(c, 0, 5000, 64).model.layers[0].units, 64);
  assert.equal(m.changeUnits(c, 2, 1), c, "the output layer's units follow the data");
  assert.equal(m.setActivation(c, 1, "relu").model.layers[1].activation, "relu");
  const out = m.setOutput(c, "linear", "mse");
  assert.equal(out.model.loss, "mse");
  assert.equal(out.model.layers.at(-1).activation, "linear");
});

// output_activations as GET /api/options gives it (server/catalog.py)
const SERVER_OPTIONS = {
  output_activations: {
    mse: ["linear", "relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid", "softplus", "sin", "softmax"],
    bce: ["sigmoid"],
    cross_entropy: ["softmax"],
  },
};
const labels = (task) => m.outputPairs(SERVER_OPTIONS, task).map((p) => p.label);

test("binary data is offered sigmoid + bce first and bounded mse outputs, never cross_entropy", () => {
  assert.deepEqual(labels("binary"), ["sigmoid + bce", "linear + mse", "tanh + mse", "sigmoid + mse"]);
});

test("multi-class data is offered softmax + cross_entropy first, never bce", () => {
  assert.deepEqual(labels("multiclass"), ["softmax + cross_entropy", "linear + mse", "tanh + mse", "sigmoid + mse"]);
});

test("regression data is offered mse only: the server refuses bce on targets outside [0, 1]", () => {
  const reg = labels("regression");
  assert.equal(reg[0], "linear + mse");
  assert.ok(reg.includes("relu + mse") && reg.includes("sin + mse"));
  assert.ok(reg.every((l) => l.endsWith(" + mse")), reg.join(", "));
  assert.ok(!reg.includes("softmax + mse"), "softmax over one output is the constant 1");
});

test("without the server's options the menu falls back to the basic pairs", () => {
  assert.deepEqual(m.outputPairs(null, "regression").map((p) => p.label), ["linear + mse", "tanh + mse", "sigmoid + mse"]);
  assert.ok(!m.outputPairs(null, "multiclass").some((p) => p.loss === "bce"));
});

test("a numeric field refuses what the server refuses and says what is allowed", () => {
  const R = m.FIELD_RULES;
  assert.deepEqual(m.checkField(R.lr, "0.1"), { ok: true, value: 0.1 });
  assert.deepEqual(m.checkField(R.lr, "0"), { ok: true, value: 0 }, "lr 0 is allowed (training.optimizer.lr ≥ 0)");
  assert.equal(m.checkField(R.lr, "-1").message, "Learning rate must be a number ≥ 0, not -1.");
  assert.equal(m.checkField(R.lr, "").ok, false, "the learning rate cannot be empty");
  assert.equal(m.checkField(R.batch_size, "0").message, "Batch size must be a whole number ≥ 1, not 0.");
  assert.equal(m.checkField(R.batch_size, "-5").ok, false);
  assert.equal(m.checkField(R.batch_size, "2.5").ok, false, "no silent rounding");
  assert.deepEqual(m.checkField(R.batch_size, " 25 "), { ok: true, value: 25 });
  assert.equal(m.checkField(R.reg_rate, "-0.1").ok, false);
  assert.equal(m.checkField(R.seed, "-3").message, `Seed must be a whole number ≥ 0 and ≤ ${Number.MAX_SAFE_INTEGER}, not -3.`);
  assert.equal(m.checkField(R.seed, "1e300").ok, false);
});

test("clipping and stop conditions take empty for off, and refuse what used to mean it silently", () => {
  const R = m.FIELD_RULES;
  assert.deepEqual(m.checkField(R.clip_norm, ""), { ok: true, value: null });
  assert.equal(m.checkField(R.clip_norm, "-1").message, "Gradient clipping must be a number > 0, not -1; leave it empty for off.");
  assert.equal(m.checkField(R.clip_norm, "0").ok, false);
  assert.deepEqual(m.checkField(R.max_steps, ""), { ok: true, value: null });
  assert.equal(m.checkField(R.max_steps, "0").message, "Stop step must be a whole number ≥ 1, not 0; leave it empty for no limit.");
  assert.deepEqual(m.checkField(R.max_steps, "1e2"), { ok: true, value: 100 });
  assert.equal(m.checkField(R.max_epochs, "1.5").ok, false);
  assert.deepEqual(m.checkField(R.target_loss, "0"), { ok: true, value: 0 });
  assert.equal(m.checkField(R.target_loss, "", true).ok, false, "text the browser could not read as a number");
  assert.equal(m.checkField(R.target_loss, "", true).message, "Stop loss must be a number ≥ 0; leave it empty for no limit.");
});

test("the layer buttons: nothing to remove without hidden layers, nothing to add at the limit", () => {
  assert.deepEqual(m.layerButtons(base()), { canRemove: true, canAdd: true });
  const bare = m.removeLayer(m.removeLayer(base()));
  assert.deepEqual(m.layerButtons(bare), { canRemove: false, canAdd: true });
  assert.deepEqual(m.layerButtons(base(), 3), { canRemove: true, canAdd: false });
});

test("the output layer follows the task of the data", () => {
  const multi = m.fitOutputToTask(base(), "multiclass", 4);
  assert.deepEqual(multi.model.layers.at(-1), { type: "dense", units: 4, activation: "softmax" });
  assert.equal(multi.model.loss, "cross_entropy");
  const back = m.fitOutputToTask(multi, "binary", 2);
  assert.equal(back.model.layers.at(-1).units, 1);
  assert.equal(back.model.loss, "bce");
  assert.equal(m.fitOutputToTask(base(), "regression").model.loss, "mse");
  // from a regression set to binary labels (a pasted CSV): sigmoid + bce, not mse kept
  const fromRegression = m.fitOutputToTask(m.fitOutputToTask(base(), "regression"), "binary", 2);
  assert.equal(fromRegression.model.layers.at(-1).activation, "sigmoid");
  assert.equal(fromRegression.model.loss, "bce");
  assert.equal(m.countParameters(base(), 2), 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1);
});

test("defaults merge with a partial config; compaction drops nulls and server defaults", () => {
  const c = m.withDefaults({ training: { batch_size: 3 }, seed: 7 });
  assert.equal(c.training.batch_size, 3);
  assert.equal(c.training.optimizer.lr, 0.03);
  assert.equal(c.seed, 7);
  assert.deepEqual(m.withDefaults({ data: { x: [[1, 2]], y: [0] } }).data, { x: [[1, 2]], y: [0] });
  const compact = m.compactConfig({ model: { input_shape: [2], initializer: "glorot_uniform", dtype: "float64", layers: [], init_scale: 0.5 }, training: { schedule: null, clip_norm: null, eval_every: 0 }, data: { dataset: "xor" } });
  assert.deepEqual(compact, { model: { layers: [] }, training: {}, data: { dataset: "xor" } });
});

test("the one-sample animation goes forward, through the loss, backward, then updates", () => {
  const a = createAnimation(2, { phaseMs: 100, now: 0 });
  assert.deepEqual(a.phases.map((p) => `${p.dir}${p.column ?? ""}`), ["forward0", "forward1", "forward2", "loss2", "backward2", "backward1", "update"]);
  assert.equal(animationAt(a, 150).column, 1);
  assert.ok(Math.abs(animationAt(a, 150).progress - 0.5) < 1e-9);
  assert.equal(animationAt(a, 450).dir, "backward");
  assert.equal(animationAt(a, 5000).dir, "update");
  assert.ok(a.done);
  const manual = createAnimation(1, { manual: true, now: 0 });
  assert.equal(animationAt(manual, 10_000).index, 0, "manual mode waits");
  nextPhase(manual, 10);
  assert.equal(manual.index, 1);
  assert.deepEqual(columnState(manual, 1), { forward: true, backward: false, active: true });
  while (nextPhase(manual, 20));
  assert.ok(manual.done);
  assert.match(describePhase({ dir: "backward", column: 1 }, 2), /layer 1 gets its blame/);
});

test("helpers: grid inputs match the server's layout, thumbnails, flags, recovery rate", () => {
  const rows = gridInputs([-6, 6], 3, ["x1", "x2", "x1·x2"]);
  assert.deepEqual(rows[0], [-6, 6, -36], "row 0 is the top (x2 high), column 0 is x1 low");
  assert.deepEqual(rows[8], [6, -6, -36]);
  const t = thumbPoints("circle");
  assert.equal(t.kind, "class");
  assert.deepEqual(thumbPoints("circle"), t, "deterministic");
  assert.deepEqual(gradientFlags([1, 1e-5, 0.5]), [null, "vanishing", null]);
  assert.deepEqual(gradientFlags([1e4, 1, 1]), ["exploding", null, null]);
  assert.deepEqual(gradientFlags([NaN]), [null]);
  assert.equal(recoveryRate({ lr: 10 }), 1);
  assert.equal(recoveryRate({ lr: 0.3 }), 0.03);
});
