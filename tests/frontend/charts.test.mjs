import { test } from "node:test";
import assert from "node:assert/strict";
import { gradientFlags, legendEntries } from "../../frontend/js/views/layerCharts.js";
import { xLabelStarts } from "../../frontend/js/views/chartFrame.js";
import { accuracyDomain, formatPercent, hasAccuracy } from "../../frontend/js/views/lossChart.js";

test("a healthy network gets no gradient flags", () => {
  assert.deepEqual(gradientFlags([0.3, 0.2, 0.1]), [null, null, null]);
  assert.deepEqual(gradientFlags([2, 0.5, 0.05, 0.01]), [null, null, null, null]);
  // a lower layer 100× the output is large but not exploding
  assert.deepEqual(gradientFlags([5, 0.05]), [null, null]);
});

test("lower layers that vanish are flagged and the healthy output layer is not", () => {
  assert.deepEqual(gradientFlags([1e-4, 1e-4, 1e-4, 0.2]), ["vanishing", "vanishing", "vanishing", null]);
  // the 10-sigmoid walkthrough: the flags stop where the norm comes within 1000× of the output's
  const deep = [1.7e-8, 2.3e-8, 3.2e-8, 1.5e-7, 1.3e-6, 1.1e-5, 5.7e-5, 3.6e-4, 1.2e-3, 5.8e-3, 0.031];
  assert.deepEqual(gradientFlags(deep), [...Array(6).fill("vanishing"), null, null, null, null, null]);
});

test("lower layers that explode are flagged, by size and by growth from the output", () => {
  assert.deepEqual(gradientFlags([1e5, 1e3, 10, 1]), ["exploding", "exploding", null, null]);
  assert.deepEqual(gradientFlags([40, 0.5, 0.01]), ["exploding", null, null]);
  // an exploding output layer does not make the sane layers below it look vanishing
  assert.deepEqual(gradientFlags([0.1, 0.2, 1e5]), [null, null, "exploding"]);
  assert.deepEqual(gradientFlags([1e-5, 0.2, 1e5]), ["vanishing", null, "exploding"]);
});

test("a NaN or infinite gradient norm next to finite ones is exploding wherever it is", () => {
  assert.deepEqual(gradientFlags([NaN, 0.1]), ["exploding", null]);
  assert.deepEqual(gradientFlags([0.2, Infinity, 0.3]), [null, "exploding", null]);
  assert.deepEqual(gradientFlags([0.2, 0.3, NaN]), [null, null, "exploding"]);
});

test("a run with no finite gradient norm at all has diverged: the banner says so, no layer is singled out", () => {
  assert.deepEqual(gradientFlags([NaN, NaN]), [null, null]);
  assert.deepEqual(gradientFlags([Infinity]), [null]);
});

test("a single layer is judged by the absolute bounds alone", () => {
  assert.deepEqual(gradientFlags([0.5]), [null]);
  assert.deepEqual(gradientFlags([1e-9]), ["vanishing"]);
  assert.deepEqual(gradientFlags([5e3]), ["exploding"]);
  assert.deepEqual(gradientFlags([]), []);
});

test("all-zero gradients are vanishing everywhere", () => {
  assert.deepEqual(gradientFlags([0, 0, 0]), ["vanishing", "vanishing", "vanishing"]);
  // a zero output layer: the others are judged against the largest sane norm
  assert.deepEqual(gradientFlags([0.3, 1e-5, 0]), [null, "vanishing", "vanishing"]);
});

test("the layer legend shows a dash, not NaN, for values not reported yet", () => {
  const entries = legendEntries([null, null, null], [true, true, true], true);
  assert.deepEqual(
    entries.map((e) => `${e.name} ${e.value}`),
    ["L1 —", "L2 —", "out —"],
  );
  assert.ok(entries.every((e) => e.flag === null));
});

test("the layer legend flags only layers with parameters, judged among themselves", () => {
  // a pooling layer (no parameters) reports 0: shown as a dash and never flagged
  const entries = legendEntries([1e-5, 0, 0.2], [true, false, true], true);
  assert.deepEqual(
    entries.map((e) => [e.name, e.value, e.flag]),
    [["L1", "1e-5", "vanishing"], ["L2", "—", null], ["out", "0.2", null]],
  );
  // the update/weight view is not flagged, and a diverged layer still reads NaN
  assert.deepEqual(
    legendEntries([NaN, 0.001], [true, true], false).map((e) => [e.value, e.flag]),
    [["NaN", null], ["0.001", null]],
  );
});

test("x tick labels stay inside the plot: the last ends at its tick, a crowding one is left out", () => {
  // "2000" (24 px) at the right edge 300 would stick out by 12 px centred
  assert.deepEqual(xLabelStarts([0, 150, 300], [6, 24, 24], 300), [-3, 138, 276]);
  // a label that would overlap the one before it gets null
  assert.deepEqual(xLabelStarts([0, 10, 40], [20, 20, 20], 300), [-10, null, 30]);
  // everything well inside stays centred
  assert.deepEqual(xLabelStarts([100, 200], [10, 10], 300), [95, 195]);
});

test("the accuracy axis reaches 100 % and starts at a round 10 % below the lowest value", () => {
  assert.deepEqual(accuracyDomain([0.48, 0.996]), [0.4, 1]);
  assert.deepEqual(accuracyDomain([0.97, 0.99]), [0.9, 1]);
  assert.deepEqual(accuracyDomain([0.01, 0.3]), [0, 1]);
  assert.deepEqual(accuracyDomain(null), [0, 1]);
  assert.equal(formatPercent(0.9734), "97.3%");
  assert.equal(formatPercent(1), "100%");
  assert.equal(formatPercent(NaN), "—");
});

test("the accuracy switch is offered only when evaluations report an accuracy", () => {
  assert.equal(hasAccuracy({ eval: { step: 0, train_loss: 0.7, test_loss: 0.7, train_accuracy: 0.5, test_accuracy: 0.48 } }), true);
  assert.equal(hasAccuracy({ eval: { step: 9, train_loss: 0.1, test_loss: 0.1, train_accuracy: null, test_accuracy: null } }), false);
  assert.equal(hasAccuracy({ eval: null }), false);
});
