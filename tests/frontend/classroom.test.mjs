import { test } from "node:test";
import assert from "node:assert/strict";
import {
  viewOf,
  sameTarget,
  viewMessage,
  joinCodeOf,
  lessonActions,
  deepMerge,
  racePresets,
  curvesExtent,
  landscapeLevels,
  landscapePoint,
  sequential,
} from "../../frontend/js/classroom.js";
import { createState } from "../../frontend/js/state.js";

test("the view a presenter leads holds the drawing modes and the explained weight", () => {
  const state = createState();
  state.ui.edgeMode = "grad";
  state.ui.selected = { kind: "weight", layer: 1, param: "W", index: [2, 3], extra: "dropped" };
  const view = viewOf(state, { lesson: { name: "xor-hidden-layer", step: 2 } });
  assert.deepEqual(view, {
    edge: "grad",
    node: "activation",
    chart: "grad",
    log: false,
    explain: { kind: "weight", layer: 1, param: "W", index: [2, 3] },
    lesson: { name: "xor-hidden-layer", step: 2 },
    race: null,
  });
  assert.deepEqual(JSON.parse(viewMessage("tok", view)), { type: "view", token: "tok", view });
});

test("explain targets compare by what they point at", () => {
  assert.ok(sameTarget({ kind: "node", layer: 0, unit: 3 }, { kind: "node", layer: 0, unit: 3, extra: 1 }));
  assert.ok(!sameTarget({ kind: "node", layer: 0, unit: 3 }, { kind: "node", layer: 0, unit: 4 }));
  assert.ok(sameTarget(null, undefined));
  assert.ok(!sameTarget(null, { kind: "node", layer: 0, unit: 0 }));
});

test("a join code is read from the link in any case, and nonsense is ignored", () => {
  assert.equal(joinCodeOf("?join=k7qx2m"), "K7QX2M");
  assert.equal(joinCodeOf("join=ABC234&presenter=1"), "ABC234");
  assert.equal(joinCodeOf("?session=abc"), null);
  assert.equal(joinCodeOf("?join=%3Cscript%3E"), null);
});

test("a lesson step's actions run in a fixed order: new session first, race last", () => {
  const actions = lessonActions({ do: { play: { max_steps: 10 }, race: { play: {} }, config: { seed: 1 }, set: { batch_size: 5 } } });
  assert.deepEqual(
    actions.map(([k]) => k),
    ["config", "set", "play", "race"],
  );
  assert.deepEqual(lessonActions({ text: "just words" }), []);
});

test("deepMerge merges objects key by key and replaces arrays", () => {
  const base = { model: { layers: [1, 2, 3], loss: "bce" }, seed: 1 };
  const merged = deepMerge(base, { model: { layers: [9] }, seed: 2 });
  assert.deepEqual(merged, { model: { layers: [9], loss: "bce" }, seed: 2 });
  assert.deepEqual(base.model.layers, [1, 2, 3]); // the base is not changed
});

test("race presets start from the session's learning rate", () => {
  const presets = racePresets({ optimizer: { name: "sgd", lr: 0.1 } });
  assert.deepEqual(
    presets.optimizers.map((v) => v.label),
    ["SGD", "momentum", "Nesterov", "Adam", "RMSprop"],
  );
  assert.equal(presets.optimizers[1].training.optimizer.lr, 0.1);
  assert.deepEqual(
    presets["learning rates"].map((v) => v.training.optimizer.lr),
    [0.01, 0.03, 0.1, 0.3, 1],
  );
});

test("the curves' loss extent skips nulls, zeros and infinities", () => {
  const members = [{ curve: { steps: [1, 2, 3], loss: [0.5, null, 0.1] } }, { curve: { steps: [1], loss: [Infinity] } }];
  assert.deepEqual(curvesExtent(members), [0.1, 0.5]);
  assert.deepEqual(curvesExtent([{ curve: { steps: [], loss: [] } }]), [0.01, 1]);
});

test("landscape levels put the lowest loss at 0 and clip the high corner at 1", () => {
  const { levels, lo } = landscapeLevels([
    [1, 10],
    [100, null],
  ]);
  assert.equal(lo, 1);
  assert.equal(levels[0], 0);
  assert.ok(levels[1] > 0 && levels[1] <= 1);
  assert.equal(levels[3], 1); // a missing loss draws as the highest level
});

test("landscape points map α to x and β upward to y", () => {
  const box = { x: 10, y: 20, w: 100, h: 50 };
  const alphas = [-1, 0, 1];
  const betas = [-2, 0, 2];
  assert.deepEqual(landscapePoint([-1, -2], alphas, betas, box), { x: 10, y: 70 });
  assert.deepEqual(landscapePoint([1, 2], alphas, betas, box), { x: 110, y: 20 });
  assert.deepEqual(landscapePoint([0, 0], alphas, betas, box), { x: 60, y: 45 });
});

test("the landscape ramp runs from viridis purple to yellow and clamps", () => {
  assert.deepEqual(sequential(0), [68, 1, 84]);
  assert.deepEqual(sequential(1), [253, 231, 37]);
  assert.deepEqual(sequential(2), [253, 231, 37]);
  assert.deepEqual(sequential(NaN), [253, 231, 37]);
});
