import { test } from "node:test";
import assert from "node:assert/strict";
import { inputSpace, lineInputs } from "../../frontend/js/features.js";
import { axisTicks, plotBox, lineRange } from "../../frontend/js/views/outputPlane.js";
import { curveValue, toCurve, createInlineHeat } from "../../frontend/js/inlineHeat.js";

const table = (points, extra = {}) => ({ kind: "table", task: "binary", domain: [-1, 1], pointsTrain: points, pointsTest: [], featureNames: [], ...extra });

test("the input space: datasets by kind, inline tables by their points", () => {
  assert.equal(inputSpace({ kind: "plane", domain: [-6, 6], pointsTrain: [] }), "plane");
  assert.equal(inputSpace({ kind: "line", domain: [-6, 6], pointsTrain: [[0.5]] }), "line");
  assert.equal(inputSpace(table([[0, 1]])), "plane");
  assert.equal(inputSpace(table([[0]])), "line");
  assert.equal(inputSpace({ kind: "image", domain: null }), null);
  assert.equal(inputSpace({ kind: "table", domain: null, pointsTrain: [] }, { input_shape: [5] }), null);
  assert.equal(inputSpace(null), null);
});

test("a table whose points were all cleared keeps its plane", () => {
  assert.equal(inputSpace(table([]), { input_shape: [2] }), "plane");
  assert.equal(inputSpace(table([], { featureNames: ["x1", "x1²"] }), { input_shape: [2] }), "plane");
  assert.equal(inputSpace(table([], { featureNames: ["x1", "x2", "x1·x2"] }), { input_shape: [3] }), "plane");
  assert.equal(inputSpace(table([]), { input_shape: [1] }), "line");
});

test("every tick label stays inside the canvas", () => {
  for (const [w, h] of [[300, 300], [260, 300], [400, 220], [120, 120]]) {
    for (const font of [10, 14]) {
      for (const square of [true, false]) {
        const yLabelWidth = 1.5 * font;
        const xFirstWidth = 4 * font; // wider than any y label
        const xLastWidth = 2 * font;
        const { x0, y0, pw, ph } = plotBox(w, h, { font, yLabelWidth, xFirstWidth, xLastWidth, square });
        const at = `${w}×${h} font ${font} square ${square}`;
        // y labels: right-aligned 4 px left of the box, centred on their tick, top and bottom tick
        assert.ok(x0 - 4 - yLabelWidth >= 0, at);
        assert.ok(y0 - font / 2 >= 0, at);
        assert.ok(y0 + ph + font / 2 <= h, at);
        // x labels: 3 px under the box, centred on their tick at the box's left and right edges
        assert.ok(y0 + ph + 3 + font <= h, at);
        assert.ok(x0 - xFirstWidth / 2 >= 0, at);
        assert.ok(x0 + pw + xLastWidth / 2 <= w, at);
        if (square) assert.equal(pw, ph, at);
      }
    }
  }
});

test("ticks: a dataset's round domain shows its ends, a padded one round numbers inside", () => {
  assert.deepEqual(axisTicks(-6, 6), [-6, 0, 6]);
  const t = axisTicks(-6.24, 6.06);
  assert.deepEqual(t, [-5, 0, 5]);
  for (const v of axisTicks(0.13, 0.87)) assert.ok(v >= 0.13 && v <= 0.87);
});

test("a line plot's y range holds every target, or every class", () => {
  const [lo, hi] = lineRange({ task: "regression", targetsTrain: [-1, 0.2, 1.4], targetsTest: [-1.6] });
  assert.ok(lo < -1.6 && hi > 1.4);
  const [clo, chi] = lineRange({ task: "binary", nClasses: 2 });
  assert.ok(clo < 0 && chi > 1);
  assert.deepEqual(lineRange({ task: "regression", targetsTrain: [] }).map(Math.sign), [-1, 1]);
});

test("line inputs span the domain; the curve is the output a plot shows", () => {
  const rows = lineInputs([-6, 6], 121);
  assert.equal(rows.length, 121);
  assert.deepEqual([rows[0], rows[60], rows[120]], [[-6], [0], [6]]);
  assert.equal(curveValue([0.3], "regression"), 0.3);
  assert.equal(curveValue([0.8], "binary"), 0.8); // sigmoid: P(class 1)
  assert.equal(curveValue([0.1, 0.9], "binary"), 0.9); // softmax: P(class 1)
  assert.equal(curveValue([0.1, 0.2, 0.7], "multiclass"), 2); // the predicted class
  const c = toCurve([[1], [2], [3]], [-1, 1], "regression");
  assert.deepEqual([...c.values], [1, 2, 3]);
  assert.deepEqual(c.domain, [-1, 1]);
});

function fakeState(data, heat = { output: null, outputClass: null, input: null, layers: [] }) {
  return { data, heat, step: 0, generation: 0, session: { id: "s1" }, architecture: { input_shape: [data.pointsTrain[0].length] }, dirty: false };
}

function fakeApi(answer) {
  const calls = [];
  return {
    calls,
    predict(id, x) {
      calls.push(x);
      return Promise.resolve(answer(x));
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

test("a line's curve is asked for once per step, not more often than every 300 ms", async () => {
  const state = fakeState({ kind: "line", task: "regression", domain: [-6, 6], pointsTrain: [[0]], featureNames: [] });
  const api = fakeApi((x) => ({ outputs: x.map(([v]) => [2 * v]), layers: [] }));
  const heat = createInlineHeat({ state, api });
  await heat.update(1000);
  assert.equal(api.calls.length, 1);
  assert.equal(api.calls[0].length, 121);
  assert.equal(state.heat.curve.values[120], 12);
  assert.ok(state.dirty);
  state.step = 1;
  await heat.update(1200); // a new step, but too soon
  assert.equal(api.calls.length, 1);
  await heat.update(1300);
  assert.equal(api.calls.length, 2);
  await heat.update(2000); // the same step: nothing new to show
  assert.equal(api.calls.length, 2);
});

test("a plane's streamed maps win over asking /predict", async () => {
  const data = table([[0, 1], [1, 0]]);
  const api = fakeApi((x) => ({ outputs: x.map(() => [0.5]), layers: [] }));
  const streamed = fakeState(data, { output: { data: new Float32Array(4), shape: [2, 2] }, layers: [] });
  await createInlineHeat({ state: streamed, api }).update(1000);
  assert.equal(api.calls.length, 0);
  // no maps yet: it asks, but a frame's maps arriving meanwhile are kept
  const state = fakeState(data);
  const heat = createInlineHeat({ state, api });
  const pending = heat.update(1000);
  const frameHeat = { output: { data: new Float32Array(4), shape: [2, 2] }, layers: [] };
  state.heat = frameHeat;
  await pending;
  await settle();
  assert.equal(api.calls.length, 1);
  assert.equal(state.heat, frameHeat);
});
