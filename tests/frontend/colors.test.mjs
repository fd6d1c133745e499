import { test } from "node:test";
import assert from "node:assert/strict";
import { diverging, divergingLUT, lutIndex, fillHeat, categorical, luminance, activationDomain, DIVERGING_STOPS, MISSING, css, tint } from "../../frontend/js/colors.js";

test("the diverging ramp runs orange → near-white → blue, clamped outside [-1, 1]", () => {
  assert.deepEqual(diverging(-1), DIVERGING_STOPS[0]);
  assert.deepEqual(diverging(0), DIVERGING_STOPS[2]);
  assert.deepEqual(diverging(1), DIVERGING_STOPS[4]);
  assert.deepEqual(diverging(-7), DIVERGING_STOPS[0]);
  assert.deepEqual(diverging(NaN), [...MISSING]);
  const [r, , b] = diverging(-0.8);
  assert.ok(r > b, "negative is orange (red > blue)");
  const [r2, , b2] = diverging(0.8);
  assert.ok(b2 > r2, "positive is blue");
});

test("lightness falls monotonically from the middle to both ends, so magnitude reads without hue", () => {
  let prev = luminance(diverging(0));
  for (let t = 0.05; t <= 1.0001; t += 0.05) {
    const l = luminance(diverging(t));
    assert.ok(l < prev, `positive side at t=${t.toFixed(2)}`);
    prev = l;
  }
  prev = luminance(diverging(0));
  for (let t = 0.05; t <= 1.0001; t += 0.05) {
    const l = luminance(diverging(-t));
    assert.ok(l < prev, `negative side at t=${t.toFixed(2)}`);
    prev = l;
  }
  assert.ok(luminance(diverging(0)) > 0.85);
});

test("the two ends stay apart for a red-green colour-blind viewer (they differ in blue-yellow)", () => {
  // Deuteranopes see roughly (R+G)/2 vs B: the ends must differ strongly on that axis.
  const yb = ([r, g, b]) => (r + g) / 2 - b;
  assert.ok(yb(diverging(-1)) - yb(diverging(1)) > 120);
});

test("the lookup table and heat fill agree with the ramp; non-finite values get the missing colour", () => {
  const lut = divergingLUT();
  assert.equal(lut.length, 1024);
  assert.equal(lutIndex(-1), 0);
  assert.equal(lutIndex(1), 255);
  assert.equal(lutIndex(5), 255);
  assert.equal(lutIndex(NaN), -1);
  const out = new Uint8ClampedArray(12);
  fillHeat(new Float32Array([0.5, 1, NaN]), out, lut, 0.5, 0.5, 200);
  assert.deepEqual([...out.slice(0, 3)], diverging(lutIndex(0) / 127.5 - 1));
  assert.deepEqual([...out.slice(4, 7)], DIVERGING_STOPS[4]);
  assert.deepEqual([...out.slice(8, 11)], [...MISSING]);
  assert.equal(out[3], 200);
});

test("class colours: 0 orange, 1 blue, cycling; helpers", () => {
  assert.ok(categorical(0)[0] > categorical(0)[2]);
  assert.ok(categorical(1)[2] > categorical(1)[0]);
  assert.deepEqual(categorical(8), categorical(0));
  assert.equal(css([1, 2, 3]), "rgb(1,2,3)");
  assert.equal(css([1, 2, 3], 0.5), "rgba(1,2,3,0.5)");
  assert.deepEqual(tint([0, 0, 0], 1), [255, 255, 255]);
  assert.deepEqual(activationDomain("sigmoid"), { center: 0.5, scale: 0.5 });
  assert.deepEqual(activationDomain("relu", 4), { center: 0, scale: 4 });
});
