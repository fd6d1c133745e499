import { test } from "node:test";
import assert from "node:assert/strict";
import * as s from "../../frontend/js/spatialModel.js";
import { thumbPicture } from "../../frontend/js/spatialThumbs.js";
import { defaultInsertType } from "../../frontend/js/views/layerEditor.js";
import { stagesOf } from "../../frontend/js/views/cnn.js";
import { recurrentLayer } from "../../frontend/js/views/rnn.js";

const DATASETS = {
  circle: { kind: "plane", task: "binary", n_classes: 2 },
  xor: { kind: "plane", task: "binary", n_classes: 2 },
  blobs: { kind: "plane", task: "multiclass", n_classes: 3 },
  digits: { kind: "image", task: "multiclass", n_classes: 10 },
  shapes: { kind: "image", task: "multiclass", n_classes: 3 },
  adding: { kind: "sequence", task: "regression", n_classes: null },
  parity: { kind: "sequence", task: "binary", n_classes: 2 },
  text: { kind: "sequence", task: "multiclass", n_classes: 32 },
};

const dense = { model: { layers: [{ type: "dense", units: 8, activation: "tanh" }, { type: "dense", units: 1, activation: "sigmoid" }], loss: "bce" }, data: { dataset: "circle" }, training: {}, seed: 4 };

test("each image and sequence set gets a default network whose output fits its task", () => {
  const digits = s.defaultConfig("digits", DATASETS.digits);
  assert.deepEqual(digits.model.layers.map((l) => l.type), ["conv2d", "maxpool2d", "flatten", "dense"]);
  assert.deepEqual(digits.model.layers[0], { type: "conv2d", filters: 8, kernel: 3, activation: "relu" });
  assert.deepEqual(digits.model.layers.at(-1), { type: "dense", units: 10, activation: "softmax" });
  assert.equal(digits.model.loss, "cross_entropy");
  assert.deepEqual(digits.training.optimizer, { name: "adam", lr: 0.01 });
  assert.equal(digits.training.batch_size, 32);
  assert.deepEqual(digits.data, { dataset: "digits" }, "only the set's own keys: the server fills its defaults");
  const adding = s.defaultConfig("adding", DATASETS.adding);
  assert.deepEqual(adding.model.layers, [{ type: "lstm", units: 16 }, { type: "dense", units: 1, activation: "linear" }]);
  assert.equal(adding.model.loss, "mse");
  const parity = s.defaultConfig("parity", DATASETS.parity);
  assert.deepEqual([parity.model.layers.at(-1).activation, parity.model.loss], ["sigmoid", "bce"]);
  assert.equal(s.defaultConfig("text", DATASETS.text).model.layers.at(-1).units, 32);
});

test("picking a dataset switches families, keeps the network within one, and leaves plane sets alone", () => {
  assert.equal(s.switchDataset(dense, "xor", DATASETS), null, "plane → plane: the dense page's own rule");
  const toDigits = s.switchDataset(dense, "digits", DATASETS);
  assert.equal(toDigits.model.layers[0].type, "conv2d");
  assert.equal(toDigits.seed, 4, "the seed stays");
  const edited = s.setLayerField(toDigits, 0, "filters", 4);
  const toShapes = s.switchDataset(edited, "shapes", DATASETS);
  assert.equal(toShapes.model.layers[0].filters, 4, "image → image keeps the network");
  assert.equal(toShapes.model.layers.at(-1).units, 3);
  const back = s.switchDataset(toShapes, "blobs", DATASETS);
  assert.deepEqual(back.model.layers.map((l) => l.type), ["dense", "dense", "dense"]);
  assert.deepEqual([back.model.layers.at(-1).units, back.model.loss], [3, "cross_entropy"]);
  const toParity = s.switchDataset(s.defaultConfig("adding", DATASETS.adding), "parity", DATASETS);
  assert.deepEqual(toParity.model.layers.map((l) => l.type), ["lstm", "dense"]);
  assert.deepEqual([toParity.model.layers[1].activation, toParity.model.loss], ["sigmoid", "bce"]);
  assert.deepEqual(toParity.data, { dataset: "parity" });
  assert.equal(s.switchDataset(dense, "nope", DATASETS), null);
});

test("a URL that names only an image or sequence set gets that set's default network", () => {
  const c = s.withSpatialDefaults({ data: { dataset: "digits", samples: 500 }, training: { batch_size: 8 }, seed: 2 }, DATASETS);
  assert.equal(c.model.layers[0].type, "conv2d");
  assert.deepEqual(c.data, { dataset: "digits", samples: 500 });
  assert.equal(c.training.batch_size, 8);
  assert.equal(c.training.optimizer.name, "adam");
  assert.equal(c.seed, 2);
  const given = { data: { dataset: "digits" }, model: { layers: [{ type: "flatten" }, { type: "dense", units: 10, activation: "softmax" }] } };
  assert.equal(s.withSpatialDefaults(given, DATASETS), given, "a named network is kept");
  assert.equal(s.withSpatialDefaults(dense, DATASETS), dense);
  assert.equal(s.withSpatialDefaults(null, DATASETS), null);
});

test("the views are picked by the layers: conv or pooling → CNN, rnn or lstm → RNN", () => {
  assert.equal(s.architectureKind({ input_shape: [1, 8, 8], layers: [{ type: "conv2d" }, { type: "dense" }] }), "cnn");
  assert.equal(s.architectureKind({ input_shape: [1, 8, 8], layers: [{ type: "flatten" }, { type: "dense" }] }), "cnn");
  assert.equal(s.architectureKind({ input_shape: [20, 2], layers: [{ type: "lstm" }, { type: "dense" }] }), "rnn");
  assert.equal(s.architectureKind({ input_shape: [2], layers: [{ type: "dense" }] }), "dense");
  assert.equal(s.architectureKind(null), "dense");
});

test("layer edits change one field, a type, or insert and remove layers but never the output", () => {
  const c = s.defaultConfig("digits", DATASETS.digits);
  assert.equal(s.setLayerField(c, 0, "stride", 2).model.layers[0].stride, 2);
  assert.equal(s.setLayerField(c, 0, "padding", "same").model.layers[0].padding, "same");
  assert.equal("stride" in s.setLayerField(s.setLayerField(c, 0, "stride", 2), 0, "stride", null).model.layers[0], false);
  assert.equal(c.model.layers[0].stride, undefined, "the argument is not changed");
  const avg = s.setLayerType(c, 1, "avgpool2d");
  assert.deepEqual(avg.model.layers[1], { type: "avgpool2d", size: 2 });
  assert.equal(s.setLayerType(c, 3, "conv2d"), c, "the output layer keeps its type");
  const more = s.insertLayer(c, 1, "conv2d");
  assert.deepEqual(more.model.layers.map((l) => l.type), ["conv2d", "conv2d", "maxpool2d", "flatten", "dense"]);
  assert.equal(s.insertLayer(c, 9, "dense").model.layers.at(-1).units, 10, "inserting never goes past the output");
  assert.deepEqual(s.removeLayerAt(c, 1).model.layers.map((l) => l.type), ["conv2d", "flatten", "dense"]);
  assert.equal(s.removeLayerAt(c, 3), c);
  assert.equal(s.insertLayer(c, 0, "conv2d", 4), c, "the layer limit holds");
  const rec = s.insertLayer(s.defaultConfig("adding", DATASETS.adding), 0, "rnn");
  assert.equal(rec.model.layers[0].return_sequences, true, "a recurrent layer below another hands it the sequence");
  assert.equal(defaultInsertType(c.model.layers, 1), "conv2d");
  assert.equal(defaultInsertType(c.model.layers, 3), "dense");
  assert.equal(defaultInsertType(rec.model.layers, 0), "lstm");
  assert.equal(s.layerFields("conv2d").map((f) => f.name).join(","), "filters,kernel,stride,padding,activation");
  assert.equal(s.layerFields("lstm").map((f) => f.name).join(","), "units,return_sequences,truncate,forget_bias");
});

test("truncation is set on every recurrent layer; a per-step target makes the last one return its sequence", () => {
  const c = s.insertLayer(s.defaultConfig("parity", DATASETS.parity), 0, "rnn");
  const t = s.setTruncate(c, 5);
  assert.deepEqual(t.model.layers.filter((l) => l.truncate).length, 2);
  assert.equal(s.truncateOf(t), 5);
  assert.equal(s.truncateOf(s.setTruncate(t, null)), null);
  assert.equal(s.truncateOf(s.setTruncate(t, 0)), null, "k < 1 means full BPTT");
  const seq = s.setTarget(c, "sequence");
  assert.equal(seq.data.target, "sequence");
  assert.equal(seq.model.layers[1].return_sequences, true);
  const last = s.setTarget(seq, "last");
  assert.equal(last.model.layers[1].return_sequences, undefined);
  assert.equal(last.model.layers[0].return_sequences, true, "the lower layer still feeds a sequence");
});

test("labels name a layer the way the layer bar shows it", () => {
  assert.equal(s.layerLabel({ type: "conv2d", filters: 8, kernel: 3, activation: "relu" }), "conv 8 · 3×3 · relu");
  assert.equal(s.layerLabel({ type: "conv2d", filters: 4, kernel: [2, 3], stride: 2, padding: "same", activation: "tanh" }), "conv 4 · 2×3 /2 same · tanh");
  assert.equal(s.layerLabel({ type: "lstm", units: 16, return_sequences: true, truncate: 4 }), "lstm 16 · seq · k=4");
  assert.equal(s.layerLabel({ type: "maxpool2d", size: 2 }), "max pool 2");
  assert.equal(s.layerLabel({ type: "dense", units: 10, activation: "softmax" }), "dense 10 · softmax");
});

test("frames of bigger conv and recurrent networks stream at fewer frames per second, never below 5", () => {
  const small = { input_shape: [1, 8, 8], layers: [{ type: "conv2d", input_shape: [1, 8, 8], output_shape: [8, 6, 6] }, { type: "dense", output_shape: [10] }] };
  const big = { input_shape: [1, 32, 32], layers: [{ type: "conv2d", input_shape: [1, 32, 32], output_shape: [16, 30, 30] }, { type: "dense", output_shape: [3] }] };
  assert.equal(s.streamFps(s.frameElements(small, 32)), 60);
  const bigFps = s.streamFps(s.frameElements(big, 32));
  assert.ok(bigFps >= 5 && bigFps < 20, bigFps);
  const lstm = { input_shape: [20, 2], layers: [{ type: "lstm", input_shape: [20, 2], output_shape: [16], units: 16 }, { type: "dense", output_shape: [1] }] };
  assert.ok(s.frameElements(lstm, 32) > 32 * 20 * 16 * 8);
  assert.equal(s.streamFps(0), 60);
  assert.equal(s.frameElements(null), 0);
});

test("the CNN view draws input, conv and pool maps and the output; flatten folds into an arrow", () => {
  const arch = {
    input_shape: [1, 8, 8],
    layers: [
      { type: "conv2d", output_shape: [8, 6, 6] },
      { type: "maxpool2d", output_shape: [8, 3, 3] },
      { type: "flatten", output_shape: [72] },
      { type: "dense", output_shape: [16] },
      { type: "dense", output_shape: [10] },
    ],
  };
  const stages = stagesOf(arch);
  assert.deepEqual(stages.map((st) => [st.kind, st.layer]), [["input", -1], ["maps", 0], ["maps", 1], ["units", 3], ["output", 4]]);
  assert.equal(stages[3].flattenBefore, true);
  assert.equal(recurrentLayer({ layers: [{ type: "lstm" }, { type: "rnn" }, { type: "dense" }] }, 1), 1);
  assert.equal(recurrentLayer({ layers: [{ type: "lstm" }, { type: "dense" }] }, 1), 0, "not a recurrent layer: the first one");
});

test("every image and sequence set has a thumbnail picture", () => {
  for (const name of ["digits", "shapes", "sine-next", "adding", "parity", "counting", "text"]) {
    const pic = thumbPicture(name);
    assert.ok(pic.cells || pic.lines || pic.bars || pic.text, name);
  }
  assert.equal(thumbPicture("digits").cells.length, 8);
});
