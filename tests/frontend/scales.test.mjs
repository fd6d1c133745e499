import { test } from "node:test";
import assert from "node:assert/strict";
import { linearScale, logScale, niceStep, linearTicks, logTicks, extent, pad, maxAbs, formatSig, formatTick, clamp } from "../../frontend/js/scales.js";

test("linear scale maps and inverts; a zero-width domain maps to the middle", () => {
  const s = linearScale([0, 10], [100, 200]);
  assert.equal(s(5), 150);
  assert.equal(s.invert(175), 7.5);
  assert.equal(linearScale([3, 3], [0, 10])(3), 5);
});

test("log scale puts decades evenly and clamps non-positive values to the low end", () => {
  const s = logScale([1e-3, 1], [0, 300]);
  assert.ok(Math.abs(s(1e-2) - 100) < 1e-9);
  assert.ok(Math.abs(s.invert(200) - 0.1) < 1e-12);
  assert.equal(s(0), 0);
  assert.equal(s(-5), 0);
});

test("ticks are round numbers of 1, 2, 5 × 10^k inside the range", () => {
  assert.equal(niceStep(10, 5), 2);
  assert.equal(niceStep(0.7, 5), 0.1);
  assert.deepEqual(linearTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(linearTicks(0.13, 0.57, 4), [0.2, 0.3, 0.4, 0.5]);
  assert.deepEqual(linearTicks(2, 2), [2]);
  assert.deepEqual(logTicks(0.003, 20), [0.01, 0.1, 1, 10]);
  assert.ok(logTicks(1e-12, 1e12, 6).length <= 7);
});

test("extent skips non-finite values and, for log charts, non-positive ones", () => {
  assert.deepEqual(extent([3, NaN, -1, Infinity, 2]), [-1, 3]);
  assert.deepEqual(extent([0, -2, 0.5, 4], true), [0.5, 4]);
  assert.equal(extent([NaN]), null);
  assert.deepEqual(pad([0, 10], 0.1), [-1, 11]);
  assert.deepEqual(pad([0, 0]), [-1, 1]);
  assert.equal(maxAbs(new Float32Array([-3, 2, Infinity])), 3);
  assert.equal(clamp(5, 0, 1), 1);
});

test("numbers print with the significant digits asked for", () => {
  assert.equal(formatSig(0.41723, 4), "0.4172");
  assert.equal(formatSig(12.3456, 4), "12.35");
  assert.equal(formatSig(1234, 4), "1234");
  assert.equal(formatSig(0.000012346, 4), "1.235e-5");
  assert.equal(formatSig(2.5e9, 3), "2.5e9");
  assert.equal(formatSig(-0.5, 3), "-0.5");
  assert.equal(formatSig(NaN), "NaN");
  assert.equal(formatSig(Infinity), "∞");
  assert.equal(formatSig(null), "—");
  assert.equal(formatSig(0), "0");
  assert.equal(formatTick(1e-3, true), "10⁻³");
  assert.equal(formatTick(100, true), "100");
  assert.equal(formatTick(20000), "20k");
  assert.equal(formatTick(0.25), "0.25");
});

test("log ticks inside a range under a decade are several plain values, not one power of ten", () => {
  // the walkthrough: a loss between 0.6 and 0.75, padded ×3 each way by the loss chart
  assert.deepEqual(logTicks(0.2, 2.25, 4), [0.2, 0.5, 1, 2]);
  // no 1-2-5 multiple inside at all: round values of the linear kind
  assert.deepEqual(logTicks(0.6, 0.75, 4), [0.6, 0.65, 0.7, 0.75]);
  for (const [lo, hi] of [[0.6, 0.75], [0.3, 0.31], [1.01, 1.5], [0.05, 0.9], [7e-5, 3e-3], [123, 456]]) {
    const ticks = logTicks(lo, hi, 4);
    assert.ok(ticks.length >= 3, `${lo}..${hi}: ${ticks}`);
    assert.ok(ticks.every((t) => t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)), `${lo}..${hi}: ${ticks}`);
    assert.equal(new Set(ticks.map((t) => formatTick(t, true))).size, ticks.length, `labels differ: ${ticks}`);
  }
});

test("log ticks over one to two decades add 3× or 2×, 5× steps; over more, powers of ten", () => {
  assert.deepEqual(logTicks(0.005, 0.5, 4), [0.01, 0.03, 0.1, 0.3]);
  assert.deepEqual(logTicks(0.01, 0.09, 4), [0.01, 0.02, 0.05]);
  assert.deepEqual(logTicks(1e-3, 0.5, 3), [0.001, 0.01, 0.1]);
  assert.deepEqual(logTicks(1e-6, 1e-2, 3), [1e-6, 1e-4, 1e-2]);
  assert.deepEqual(logTicks(-1, 5), []);
  assert.deepEqual(logTicks(0, 5), []);
});

test("log tick labels print 0.01 to 1000 plainly and powers of ten beyond", () => {
  assert.deepEqual([0.01, 0.1, 0.3, 1, 1000].map((v) => formatTick(v, true)), ["0.01", "0.1", "0.3", "1", "1000"]);
  assert.deepEqual([1e-4, 1e4].map((v) => formatTick(v, true)), ["10⁻⁴", "10⁴"]);
});
