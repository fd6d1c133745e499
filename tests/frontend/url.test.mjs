import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeConfig, decodeConfig, encodeLayer, decodeLayer } from "../../frontend/js/url.js";
import { DEFAULT_CONFIG, clone } from "../../frontend/js/model.js";

const roundTrip = (c, extra) => decodeConfig("?" + encodeConfig(c, extra).query);

test("the default config survives the URL unchanged", () => {
  const { config, page } = roundTrip(clone(DEFAULT_CONFIG));
  assert.deepEqual(config, clone(DEFAULT_CONFIG));
  assert.deepEqual(page, {});
});

test("every section round-trips: optimizer hyperparameters, schedule, clipping, features, seed", () => {
  const c = {
    model: {
      layers: [
        { type: "dense", units: 16, activation: "leaky_relu" },
        { type: "dense", units: 3, activation: "softmax" },
      ],
      loss: "cross_entropy",
      initializer: "he_normal",
      dtype: "float32",
    },
    data: { dataset: "blobs", samples: 800, noise: 0.25, train_fraction: 0.7, features: ["x1", "x2", "x1²", "sin(x2)"], classes: 3 },
    training: {
      optimizer: { name: "adam", lr: 0.001, beta1: 0.8, beta2: 0.995, eps: 1e-7, amsgrad: true },
      batch_size: 32,
      regularization: { kind: "l2", rate: 0.0003 },
      schedule: { name: "cosine", t_max: 5000, eta_min: 0, warmup_steps: 100 },
      clip_norm: 1.5,
      eval_every: 50,
    },
    seed: 123456,
  };
  assert.deepEqual(roundTrip(c).config, c);
});

test("the URL stays readable: short keys, commas and colons unescaped", () => {
  const { query } = encodeConfig(clone(DEFAULT_CONFIG));
  assert.match(query, /net=tanh:8,tanh:8,sigmoid:1/);
  assert.match(query, /data=circle/);
  assert.match(query, /lr=0\.03/);
  assert.match(query, /d\.features=x1,x2/);
});

test("non-dense layers and single-element lists round-trip", () => {
  const layers = [
    { type: "conv2d", filters: 8, kernel: [3, 3], padding: "same", activation: "relu" },
    { type: "flatten" },
    { type: "dense", units: 10 },
  ];
  for (const l of layers) assert.deepEqual(decodeLayer(encodeLayer(l)), l);
  const c = { data: { dataset: "circle", features: ["x1"] }, model: { input_shape: [1] } };
  assert.deepEqual(roundTrip(c).config, c);
});

test("inline data does not fit a URL and is reported as dropped; page keys stay apart", () => {
  const { dropped } = encodeConfig({ data: { x: [[1, 2]], y: [1] } });
  assert.deepEqual(dropped, ["data.x", "data.y"]);
  const { config, page } = decodeConfig("?session=abc123&presenter=1");
  assert.equal(config, null);
  assert.deepEqual(page, { session: "abc123", presenter: 1 });
  const { query } = encodeConfig({}, { session: "abc", presenter: undefined });
  assert.equal(query, "session=abc");
});

test("unknown keys are ignored and odd values stay strings", () => {
  const { config } = decodeConfig("?zzz=1&opt=sgd&lr=abc");
  assert.deepEqual(config, { training: { optimizer: { name: "sgd", lr: "abc" } } });
  assert.equal(decodeConfig("?zzz=1").config, null);
});
