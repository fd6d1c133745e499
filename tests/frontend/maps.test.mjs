import { test } from "node:test";
import assert from "node:assert/strict";
import * as m from "../../frontend/js/maps.js";
import { nestedToArray } from "../../frontend/js/protocol.js";

const arr = (data, shape) => ({ data: Float64Array.from(data), shape });
const close = (a, b, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} ≠ ${b}`);

/** The forward cross-correlation z[f,y,x] = Σ K[f,c,i,j]·Xp[c, y·s+i, x·s+j] (no bias), by the definition. */
function conv(X, K, s, pads) {
  const [C, H, W] = X.shape;
  const [F, , kh, kw] = K.shape;
  const [[top, bottom], [left, right]] = pads;
  const ho = Math.floor((H + top + bottom - kh) / s) + 1;
  const wo = Math.floor((W + left + right - kw) / s) + 1;
  const z = new Float64Array(F * ho * wo);
  for (let f = 0; f < F; f++)
    for (let y = 0; y < ho; y++)
      for (let x = 0; x < wo; x++) {
        let sum = 0;
        for (let c = 0; c < C; c++)
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) {
              const r = y * s + i - top;
              const q = x * s + j - left;
              if (r >= 0 && r < H && q >= 0 && q < W) sum += K.data[((f * C + c) * kh + i) * kw + j] * X.data[(c * H + r) * W + q];
            }
        z[(f * ho + y) * wo + x] = sum;
      }
  return { data: z, shape: [F, ho, wo] };
}

function seeded(n, seed) {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    return (s / 2147483647) * 2 - 1;
  });
}

test("a conv layer's input gradient is δ sent back through the kernel, for any stride and padding", () => {
  for (const [s, pads, kh, kw] of [
    [1, [[0, 0], [0, 0]], 3, 3],
    [2, [[0, 1], [1, 1]], 3, 3],
    [2, [[1, 1], [0, 1]], 2, 3],
  ]) {
    const X = arr(seeded(2 * 5 * 6, 3), [2, 5, 6]);
    const K = arr(seeded(3 * 2 * kh * kw, 7), [3, 2, kh, kw]);
    const z = conv(X, K, s, pads);
    const delta = arr(seeded(z.data.length, 11), z.shape);
    const g = m.convInputGradient(delta, K, s, pads, X.shape);
    // Σ δ·z is linear in X: its gradient at entry p is Σ δ·z(e_p)
    for (let p = 0; p < X.data.length; p++) {
      const e = arr(new Float64Array(X.data.length), X.shape);
      e.data[p] = 1;
      const zp = conv(e, K, s, pads);
      close(g.data[p], zp.data.reduce((acc, v, i) => acc + v * delta.data[i], 0));
    }
  }
});

test("same padding follows TensorFlow's rule: the odd extra row goes at the bottom", () => {
  assert.deepEqual(m.samePads({ padding: "same", kernel: [3, 3], stride: 2 }, [1, 8, 8]), [[0, 1], [0, 1]]);
  assert.deepEqual(m.samePads({ padding: "same", kernel: 3, stride: 1 }, [1, 8, 8]), [[1, 1], [1, 1]]);
  assert.deepEqual(m.samePads({ padding: "valid", kernel: 3 }, [1, 8, 8]), [[0, 0], [0, 0]]);
});

test("pooling sends gradients to the window's winner (max) or spreads them (average)", () => {
  const dA = arr([1, 2, 3, 4], [1, 2, 2]);
  const argmax = { data: Int32Array.from([5, 2, 13, 15]), shape: [1, 2, 2] };
  const g = m.maxpoolInputGradient(dA, argmax, [1, 4, 4]);
  assert.deepEqual(Array.from(g.data), [0, 0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 4]);
  const a = m.avgpoolInputGradient(arr([4, 8, 12, 16], [1, 2, 2]), 2, 2, [1, 4, 4]);
  assert.deepEqual(Array.from(a.data), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
});

test("a dense layer's input gradient is δ·Wᵀ, per time step for sequences", () => {
  const W = arr([1, 2, 3, 4, 5, 6], [3, 2]); // 3 inputs, 2 units
  assert.deepEqual(Array.from(m.denseInputGradient(arr([1, -1], [2]), W).data), [-1, -1, -1]);
  const g = m.denseInputGradient(arr([1, 0, 0, 1], [2, 2]), W);
  assert.deepEqual(g.shape, [2, 3]);
  assert.deepEqual(Array.from(g.data), [1, 3, 5, 2, 4, 6]);
});

test("the backward pass of one sample goes dense → flatten → max pool → conv → input with the weights before the update", () => {
  const arch = {
    input_shape: [1, 4, 4],
    loss: "cross_entropy",
    layers: [
      { type: "conv2d", input_shape: [1, 4, 4], output_shape: [1, 4, 4], kernel: [1, 1], stride: 1, padding: "valid", activation: "linear" },
      { type: "maxpool2d", input_shape: [1, 4, 4], output_shape: [1, 2, 2], size: 2, stride: 2 },
      { type: "flatten", input_shape: [1, 2, 2], output_shape: [4] },
      { type: "dense", input_shape: [4], output_shape: [2], activation: "softmax" },
    ],
  };
  const layers = [
    // two samples; sample 1 is the one asked for
    { W: arr([3], [1, 1, 1, 1]), update_W: arr([1], [1, 1, 1, 1]), delta: arr([...new Array(16).fill(0), ...Array.from({ length: 16 }, (_, i) => i)], [2, 1, 4, 4]) },
    { argmax: { data: Int32Array.from([0, 0, 0, 0, 5, 2, 13, 15]), shape: [2, 1, 2, 2] } },
    {},
    { W: arr([1, 0, 0, 1, 1, 1, 2, 0], [4, 2]), update_W: arr([0, 0, 0, 0, 0, 0, 1, 0], [4, 2]), delta: arr([0, 0, 1, 2], [2, 2]) },
  ];
  const back = m.backwardOfSample(arch, layers, 1);
  assert.equal(back.outputs[3], null, "the output layer's δ comes from the loss");
  // dense: δ·W_beforeᵀ with W_before = W − update: rows [1,0], [0,1], [1,1], [1,0]
  assert.deepEqual(Array.from(back.outputs[2].data), [1, 2, 3, 1]);
  assert.deepEqual(back.outputs[1].shape, [1, 2, 2]);
  assert.deepEqual(Array.from(back.outputs[0].data), [0, 0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 1]);
  // a 1×1 kernel of 3 − 1 = 2: the input gradient is 2·δ of the conv layer
  assert.deepEqual(Array.from(back.input.data), Array.from({ length: 16 }, (_, i) => 2 * i));
});

test("a receptive field is the input window under a conv or pool position, clipped to the input", () => {
  const conv = { type: "conv2d", kernel: [3, 3], stride: 1, padding: "valid", input_shape: [1, 8, 8] };
  assert.deepEqual(m.receptiveField(conv, 2, 3), { rows: [2, 4], cols: [3, 5] });
  const same = { ...conv, padding: "same", stride: 2 };
  assert.deepEqual(m.receptiveField(same, 3, 0), { rows: [6, 7], cols: [0, 2] });
  assert.deepEqual(m.receptiveField({ type: "maxpool2d", size: 2, input_shape: [4, 6, 6] }, 1, 2), { rows: [2, 3], cols: [4, 5] });
  assert.equal(m.receptiveField({ type: "dense" }, 0, 0), null);
});

test("a grid of maps uses the biggest tiles that fit", () => {
  assert.deepEqual(m.gridFit(8, 200, 400, 0), { cols: 2, rows: 4, size: 100 });
  assert.deepEqual(m.gridFit(8, 400, 100, 0), { cols: 4, rows: 2, size: 50 });
  assert.equal(m.gridFit(1, 50, 80, 4).size, 50);
  assert.equal(m.gridFit(3, 0, 0).size, 0);
});

test("gradient flow over time is flagged vanishing or exploding from the earliest step that got any", () => {
  assert.equal(m.gradientFlow([0, 1e-6, 1e-3, 1]).flag, "vanishing");
  assert.equal(m.gradientFlow([0, 1e4, 10, 1]).flag, "exploding");
  const fine = m.gradientFlow([0, 0.5, 0.8, 1]);
  assert.equal(fine.flag, null);
  assert.equal(fine.first, 1);
  close(fine.ratio, 0.5);
  assert.equal(m.gradientFlow([0, 0, 0]).flag, null, "nothing to compare");
  assert.equal(m.gradientFlow([0, 0, 2, 3]).first, 2, "truncated steps are left out");
});

test("targets are read back from the output layer's a and δ", () => {
  // softmax + cross-entropy, N = 2: δ = (a − onehot)/2
  const a = arr([0.2, 0.5, 0.3, 0.6, 0.3, 0.1], [2, 3]);
  const y = [2, 0];
  const delta = arr(Array.from(a.data, (v, i) => (v - (i % 3 === y[Math.floor(i / 3)] ? 1 : 0)) / 2), [2, 3]);
  const ce = m.targetsFromOutput("cross_entropy", "softmax", a, delta);
  assert.deepEqual(Array.from(ce.classes), [2, 0]);
  // linear + mse, mean over 4 numbers: δ = 2(a − y)/4
  const ar = arr([1, 2, 3, 4], [2, 2]);
  const yr = [0.5, 2.5, -1, 4];
  const mse = m.targetsFromOutput("mse", "linear", ar, arr(Array.from(ar.data, (v, i) => (2 * (v - yr[i])) / 4), [2, 2]));
  mse.values.forEach((v, i) => close(v, yr[i]));
  const bce = m.targetsFromOutput("bce", "sigmoid", arr([0.3, 0.9], [2, 1]), arr([-0.35, 0.45], [2, 1]));
  assert.deepEqual(Array.from(bce.values), [1, 0]);
  assert.equal(m.targetsFromOutput("mse", "tanh", ar, ar), null);
});

test("one-hot rows decode to text, nested lists to typed arrays, confusion rows to totals", () => {
  assert.equal(m.decodeOneHot(arr([0, 1, 0, 1, 0, 0, 0, 0, 0], [3, 3]), "ab "), "ba·");
  const x = nestedToArray([[[1, 2]], [[3, null]]]); // protocol.js: the one converter the views share
  assert.deepEqual(x.shape, [2, 1, 2]);
  assert.ok(Number.isNaN(x.data[3]));
  assert.deepEqual(m.confusionSummary([[3, 1], [0, 4]]), { rows: [4, 4], total: 8, accuracy: 7 / 8 });
});

test("a row of a frame array is a view on its sample; parameters before the update are W − ΔW", () => {
  const a = arr([1, 2, 3, 4, 5, 6], [3, 2]);
  const r = m.row(a, 1);
  assert.deepEqual(Array.from(r.data), [3, 4]);
  r.data[0] = 30;
  assert.equal(a.data[2], 30, "a view, not a copy");
  assert.equal(m.row(a, 3), null);
  assert.deepEqual(Array.from(m.beforeUpdate(arr([1, 2], [2]), arr([0.5, -1], [2])).data), [0.5, 3]);
  assert.equal(m.maxAbsOf(Float64Array.from([-3, 2, Infinity])), 3);
});
