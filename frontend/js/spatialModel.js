// Configs of convolutional and recurrent networks: the default setup of each image and
// sequence dataset, switching datasets between families, and the layer edits the CNN / RNN
// views make (type, filters, kernel, stride, padding, units, return_sequences, truncate).
// Pure: each function returns a new config and never changes its argument.

import { clone } from "./model.js";

/** Dataset kinds drawn by the CNN / RNN views; "plane" and "line" sets use the dense view. */
export const SPATIAL_KINDS = Object.freeze(["image", "sequence"]);

export const LAYER_TYPES = Object.freeze(["conv2d", "maxpool2d", "avgpool2d", "flatten", "dense", "rnn", "lstm"]);
const RECURRENT = new Set(["rnn", "lstm"]);
const CONV_LIKE = new Set(["conv2d", "maxpool2d", "avgpool2d"]);

const TRAINING = Object.freeze({
  optimizer: { name: "adam", lr: 0.01 },
  batch_size: 32,
  regularization: { kind: "none", rate: 0 },
});

/** Hidden layers of each dataset's default network; the output layer is added to fit the task. */
const HIDDEN = Object.freeze({
  digits: [
    { type: "conv2d", filters: 8, kernel: 3, activation: "relu" },
    { type: "maxpool2d", size: 2 },
    { type: "flatten" },
  ],
  shapes: [
    { type: "conv2d", filters: 6, kernel: 3, activation: "relu" },
    { type: "maxpool2d", size: 2 },
    { type: "flatten" },
  ],
  "sine-next": [{ type: "rnn", units: 16, activation: "tanh" }],
  adding: [{ type: "lstm", units: 16 }],
  parity: [{ type: "lstm", units: 16 }],
  counting: [{ type: "rnn", units: 16, activation: "tanh" }],
  text: [{ type: "lstm", units: 32 }],
});

/** Fresh fields of a layer of `type` (what "change the type" and "insert" start from). */
export function freshLayer(type) {
  switch (type) {
    case "conv2d":
      return { type, filters: 8, kernel: 3, activation: "relu" };
    case "maxpool2d":
    case "avgpool2d":
      return { type, size: 2 };
    case "flatten":
      return { type };
    case "rnn":
      return { type, units: 16, activation: "tanh" };
    case "lstm":
      return { type, units: 16 };
    default:
      return { type: "dense", units: 16, activation: "relu" };
  }
}

/** The output layer and loss a task needs: softmax + cross-entropy, sigmoid + bce, linear + mse. */
export function outputFor(task, classes) {
  if (task === "multiclass") return { layer: { type: "dense", units: Math.max(2, classes || 2), activation: "softmax" }, loss: "cross_entropy" };
  if (task === "binary") return { layer: { type: "dense", units: 1, activation: "sigmoid" }, loss: "bce" };
  return { layer: { type: "dense", units: 1, activation: "linear" }, loss: "mse" };
}

/** Which view draws an architecture (GET …/sessions' `architecture`): "cnn", "rnn" or "dense". */
export function architectureKind(arch) {
  if (!arch) return "dense";
  const types = arch.layers.map((l) => l.type);
  if (types.some((t) => RECURRENT.has(t))) return "rnn";
  if (types.some((t) => CONV_LIKE.has(t)) || arch.input_shape.length === 3) return "cnn";
  if (arch.input_shape.length === 2) return "rnn";
  return "dense";
}

/** The default session config for an image or sequence dataset; `info` = GET /api/options datasets[name]. */
export function defaultConfig(name, info, seed = 0) {
  const hidden = clone(HIDDEN[name]) || (info.kind === "image" ? clone(HIDDEN.digits) : [freshLayer("lstm")]);
  const out = outputFor(info.task, info.n_classes);
  return {
    model: { layers: [...hidden, out.layer], loss: out.loss },
    data: { dataset: name },
    training: clone(TRAINING),
    seed,
  };
}

const familyOf = (kind) => (kind === "image" ? "image" : kind === "sequence" ? "sequence" : "plane");

/**
 * The config after picking dataset `name`, or null when the dense page's own rule applies
 * (plane → plane). Within images (or sequences) the network is kept and its output refitted;
 * across families the new family's default network is built.
 */
export function switchDataset(config, name, datasets) {
  const info = datasets?.[name];
  if (!info) return null;
  const from = datasets?.[config?.data?.dataset]?.kind || "plane"; // inline data is drawn on the plane
  const fromFamily = familyOf(from);
  const toFamily = familyOf(info.kind);
  if (toFamily === "plane" && fromFamily === "plane") return null;
  const seed = config?.seed ?? 0;
  if (toFamily === "plane") {
    return {
      model: {
        layers: [
          { type: "dense", units: 8, activation: "tanh" },
          { type: "dense", units: 8, activation: "tanh" },
          outputFor(info.task, info.n_classes).layer,
        ],
        loss: outputFor(info.task, info.n_classes).loss,
      },
      data: { dataset: name },
      training: { optimizer: { name: "sgd", lr: 0.03 }, batch_size: 10, regularization: { kind: "none", rate: 0 } },
      seed,
    };
  }
  if (fromFamily !== toFamily || !config?.model?.layers?.length) return defaultConfig(name, info, seed);
  const c = clone(config);
  c.data = { dataset: name };
  const out = outputFor(info.task, info.n_classes);
  c.model.layers[c.model.layers.length - 1] = out.layer;
  c.model.loss = out.loss;
  if (toFamily === "sequence") {
    // a sequence target the new set does not offer falls back to many-to-one
    for (const l of c.model.layers) if (RECURRENT.has(l.type)) delete l.return_sequences;
    const lastRec = lastRecurrent(c);
    c.model.layers.forEach((l, k) => {
      if (RECURRENT.has(l.type) && k !== lastRec) l.return_sequences = true;
    });
  }
  return c;
}

/** A URL-given config whose dataset is an image or sequence set but which names no network: its default. */
export function withSpatialDefaults(config, datasets) {
  const name = config?.data?.dataset;
  const info = datasets?.[name];
  if (!info || !SPATIAL_KINDS.includes(info.kind) || config.model?.layers?.length) return config;
  const base = defaultConfig(name, info, config.seed ?? 0);
  return { ...base, data: { ...base.data, ...config.data }, training: { ...base.training, ...(config.training || {}) } };
}

function lastRecurrent(config) {
  let k = -1;
  config.model.layers.forEach((l, i) => {
    if (RECURRENT.has(l.type)) k = i;
  });
  return k;
}

function withLayers(config, layers) {
  const c = clone(config);
  c.model.layers = layers;
  return c;
}

/**
 * The editable fields of a layer type, in display order:
 * {name, kind: "int" | "select" | "bool" | "truncate", options?, min?, max?}.
 */
export function layerFields(type, activations = ["relu", "tanh", "sigmoid", "leaky_relu", "linear"]) {
  switch (type) {
    case "conv2d":
      return [
        { name: "filters", kind: "int", min: 1, max: 64 },
        { name: "kernel", kind: "int", min: 1, max: 9 },
        { name: "stride", kind: "int", min: 1, max: 4 },
        { name: "padding", kind: "select", options: ["valid", "same"] },
        { name: "activation", kind: "select", options: activations },
      ];
    case "maxpool2d":
    case "avgpool2d":
      return [
        { name: "size", kind: "int", min: 1, max: 8 },
        { name: "stride", kind: "int", min: 1, max: 8 },
      ];
    case "rnn":
      return [
        { name: "units", kind: "int", min: 1, max: 256 },
        { name: "activation", kind: "select", options: ["tanh", "relu"] },
        { name: "return_sequences", kind: "bool" },
        { name: "truncate", kind: "truncate", min: 1, max: 200 },
      ];
    case "lstm":
      return [
        { name: "units", kind: "int", min: 1, max: 256 },
        { name: "return_sequences", kind: "bool" },
        { name: "truncate", kind: "truncate", min: 1, max: 200 },
        { name: "forget_bias", kind: "number" },
      ];
    case "dense":
      return [
        { name: "units", kind: "int", min: 1, max: 1024 },
        { name: "activation", kind: "select", options: activations },
      ];
    default:
      return [];
  }
}

/** The value a field shows when the layer leaves it out (the engine's default). */
export function fieldDefault(type, name) {
  const defaults = { stride: CONV_LIKE.has(type) && type !== "conv2d" ? null : 1, padding: "valid", return_sequences: false, truncate: null, forget_bias: 1, activation: type === "rnn" ? "tanh" : "relu" };
  return defaults[name] ?? null;
}

/** Set one field of layer k; null / "" removes it (the engine default applies). */
export function setLayerField(config, k, name, value) {
  const layers = clone(config.model.layers);
  if (!layers[k]) return config;
  if (value === null || value === "" || (typeof value === "number" && !Number.isFinite(value))) delete layers[k][name];
  else layers[k][name] = value;
  return withLayers(config, layers);
}

/** Change layer k to another type, with that type's fresh fields (units / filters kept when both have them). */
export function setLayerType(config, k, type) {
  const layers = clone(config.model.layers);
  const old = layers[k];
  if (!old || old.type === type || k === layers.length - 1) return config;
  const fresh = freshLayer(type);
  if (old.units && fresh.units) fresh.units = old.units;
  if (old.filters && fresh.filters) fresh.filters = old.filters;
  if (old.units && fresh.filters) fresh.filters = Math.min(64, old.units);
  if (old.filters && fresh.units) fresh.units = old.filters;
  layers[k] = fresh;
  return withLayers(config, layers);
}

/** Insert a fresh layer of `type` before position k (never after the output layer). */
export function insertLayer(config, k, type, maxLayers = 32) {
  const layers = clone(config.model.layers);
  if (layers.length >= maxLayers) return config;
  const at = Math.max(0, Math.min(k, layers.length - 1));
  const fresh = freshLayer(type);
  // a recurrent layer below another recurrent layer must hand it the whole sequence
  if (RECURRENT.has(type) && layers.slice(at).some((l) => RECURRENT.has(l.type))) fresh.return_sequences = true;
  layers.splice(at, 0, fresh);
  return withLayers(config, layers);
}

/** Remove layer k (the output layer stays). */
export function removeLayerAt(config, k) {
  const layers = clone(config.model.layers);
  if (k < 0 || k >= layers.length - 1) return config;
  layers.splice(k, 1);
  return withLayers(config, layers);
}

/** Truncated BPTT length k (null: full BPTT) on every recurrent layer. */
export function setTruncate(config, k) {
  const layers = clone(config.model.layers);
  for (const l of layers) {
    if (!RECURRENT.has(l.type)) continue;
    if (k === null || k === undefined || !(k >= 1)) delete l.truncate;
    else l.truncate = Math.round(k);
  }
  return withLayers(config, layers);
}

/** The truncation length in force (the first recurrent layer's), or null for full BPTT. */
export function truncateOf(config) {
  const l = config?.model?.layers?.find((x) => RECURRENT.has(x.type));
  return l?.truncate ?? null;
}

/**
 * Many-to-one ("last") or many-to-many ("sequence") targets: sets data.target and makes the
 * last recurrent layer return its whole sequence exactly when the target is one.
 */
export function setTarget(config, target) {
  const c = clone(config);
  c.data = { ...c.data, target };
  const k = lastRecurrent(c);
  if (k >= 0) {
    if (target === "sequence") c.model.layers[k].return_sequences = true;
    else delete c.model.layers[k].return_sequences;
  }
  return c;
}

/** A short label of a layer (from `architecture.layers` or a config layer). */
export function layerLabel(l) {
  const kernel = Array.isArray(l.kernel) ? l.kernel.join("×") : l.kernel ? `${l.kernel}×${l.kernel}` : "";
  switch (l.type) {
    case "conv2d":
      return `conv ${l.filters ?? l.output_shape?.[0]} · ${kernel}${l.stride > 1 ? ` /${l.stride}` : ""}${l.padding === "same" ? " same" : ""} · ${l.activation ?? "relu"}`;
    case "maxpool2d":
      return `max pool ${l.size}`;
    case "avgpool2d":
      return `avg pool ${l.size}`;
    case "flatten":
      return "flatten";
    case "rnn":
      return `rnn ${l.units} · ${l.activation ?? "tanh"}${l.return_sequences ? " · seq" : ""}${l.truncate ? ` · k=${l.truncate}` : ""}`;
    case "lstm":
      return `lstm ${l.units}${l.return_sequences ? " · seq" : ""}${l.truncate ? ` · k=${l.truncate}` : ""}`;
    default:
      return `dense ${l.units} · ${l.activation}`;
  }
}

/**
 * Numbers one frame carries for this architecture and batch (activations, deltas and the
 * layer extras): what a frame rate should be budgeted by.
 */
export function frameElements(arch, batch = 32) {
  if (!arch) return 0;
  const prod = (s) => (s || []).reduce((n, d) => n * d, 1);
  let n = batch * prod(arch.input_shape) * 2;
  for (const l of arch.layers) {
    const out = prod(l.output_shape);
    if (RECURRENT.has(l.type)) {
      const [T] = l.input_shape;
      const u = l.units;
      const gates = l.type === "lstm" ? 4 : 1;
      n += batch * T * u * (2 * gates + 2 + (l.type === "lstm" ? 6 : 0)) + T * u * u * gates;
    } else if (l.type === "conv2d") n += batch * (out * 3 + prod(l.input_shape));
    else n += batch * out * 3;
  }
  return n;
}

/** Frames per second for a stream of `elements` numbers per frame: 60 for small ones, down to 5. */
export function streamFps(elements, budget = 9_000_000) {
  if (!(elements > 0)) return 60;
  return Math.max(5, Math.min(60, Math.floor(budget / elements)));
}
