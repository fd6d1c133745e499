// Editing a session config the way the page's controls do. Pure: each function
// returns a new config and never changes its argument.

export const DEFAULT_CONFIG = Object.freeze({
  model: {
    layers: [
      { type: "dense", units: 8, activation: "tanh" },
      { type: "dense", units: 8, activation: "tanh" },
      { type: "dense", units: 1, activation: "sigmoid" },
    ],
    loss: "bce",
  },
  data: { dataset: "circle", samples: 500, noise: 0.1, train_fraction: 0.5, features: ["x1", "x2"] },
  training: {
    optimizer: { name: "sgd", lr: 0.03 },
    batch_size: 10,
    regularization: { kind: "none", rate: 0 },
  },
  seed: 0,
});

export const clone = (x) => (x === undefined ? undefined : JSON.parse(JSON.stringify(x)));

/** The default config merged with a partial one (sections merge one level deep). */
export function withDefaults(partial) {
  const base = clone(DEFAULT_CONFIG);
  if (!partial) return base;
  const out = { ...base };
  for (const key of ["model", "data", "training"]) {
    if (partial[key]) out[key] = { ...base[key], ...clone(partial[key]) };
  }
  if (partial.data && partial.data.x) out.data = clone(partial.data); // inline data: nothing to merge
  // another dataset takes only its own keys (digits refuses circle's `features`): the server fills the rest
  else if (partial.data?.dataset && partial.data.dataset !== base.data.dataset) out.data = clone(partial.data);
  if (partial.seed !== undefined) out.seed = partial.seed;
  return out;
}

/**
 * The part of a server-normalised config worth putting in a URL or sending
 * back: drops nulls and the server's own defaults of optional sections.
 */
export function compactConfig(config) {
  const c = clone(config);
  const strip = (o) => {
    if (!o || typeof o !== "object" || Array.isArray(o)) return o;
    for (const k of Object.keys(o)) {
      if (o[k] === null || o[k] === undefined) delete o[k];
      else strip(o[k]);
    }
    return o;
  };
  strip(c);
  if (c.model) {
    delete c.model.input_shape; // the server infers it from the data (and features may change it)
    if (c.model.initializer === "glorot_uniform") delete c.model.initializer;
    if (c.model.init_scale === 0.5) delete c.model.init_scale;
    if (c.model.dtype === "float64") delete c.model.dtype;
  }
  if (c.training) {
    if (c.training.eval_every === 0) delete c.training.eval_every;
  }
  return c;
}

const hidden = (config) => config.model.layers.slice(0, -1);
const output = (config) => config.model.layers[config.model.layers.length - 1];

function withLayers(config, layers) {
  const c = clone(config);
  c.model.layers = layers;
  return c;
}

/** Add a hidden layer (a copy of the last hidden one, or 4 tanh units) before the output. */
export function addLayer(config, maxLayers = 32) {
  const layers = clone(config.model.layers);
  if (layers.length >= maxLayers) return config;
  const last = hidden(config).at(-1);
  const fresh = last ? { ...last } : { type: "dense", units: 4, activation: "tanh" };
  layers.splice(layers.length - 1, 0, fresh);
  return withLayers(config, layers);
}

/** Remove hidden layer k (default: the last hidden one). */
export function removeLayer(config, k = hidden(config).length - 1) {
  if (k < 0 || k >= hidden(config).length) return config;
  const layers = clone(config.model.layers);
  layers.splice(k, 1);
  return withLayers(config, layers);
}

/** Change the units of hidden layer k by `delta`, kept within [1, maxUnits]. */
export function changeUnits(config, k, delta, maxUnits = 1024) {
  const layers = clone(config.model.layers);
  if (k < 0 || k >= layers.length - 1) return config;
  layers[k].units = Math.max(1, Math.min(maxUnits, layers[k].units + delta));
  return withLayers(config, layers);
}

export function setActivation(config, k, activation) {
  const layers = clone(config.model.layers);
  if (!layers[k]) return config;
  layers[k].activation = activation;
  return withLayers(config, layers);
}

/** The pair each task starts from (fitOutputToTask): listed first in the menu. */
const NATURAL_PAIR = { binary: "sigmoid|bce", multiclass: "softmax|cross_entropy", regression: "linear|mse" };

/**
 * Output activation + loss pairs offered for a data task, from GET /api/options
 * (output_activations maps loss → allowed output activations). The server refuses
 * bce on regression targets outside [0, 1] and cross_entropy without classes: bce is
 * offered for binary data only, cross_entropy for multi-class only. mse takes any
 * activation, but softmax over one unit is the constant 1, and class targets need
 * an output that reaches 0 and 1 (linear, tanh, sigmoid).
 */
export function outputPairs(options, task) {
  const pairs = [];
  const allowed = options?.output_activations || { bce: ["sigmoid"], cross_entropy: ["softmax"], mse: ["linear", "tanh", "sigmoid"] };
  for (const [loss, acts] of Object.entries(allowed)) {
    if (loss === "bce" && task !== "binary") continue;
    if (loss === "cross_entropy" && task !== "multiclass") continue;
    for (const act of acts) {
      if (act === "softmax" && loss !== "cross_entropy") continue;
      if (loss === "mse" && task !== "regression" && !["linear", "tanh", "sigmoid"].includes(act)) continue;
      pairs.push({ activation: act, loss, label: `${act} + ${loss}` });
    }
  }
  const natural = NATURAL_PAIR[task];
  const first = pairs.findIndex((p) => `${p.activation}|${p.loss}` === natural);
  if (first > 0) pairs.unshift(...pairs.splice(first, 1));
  return pairs;
}

/** Output units a task needs: 1 for binary and regression, one per class for multi-class. */
export function outputUnits(task, classes) {
  return task === "multiclass" ? Math.max(2, classes || 2) : 1;
}

/** Set the output layer's activation and the loss together. */
export function setOutput(config, activation, loss) {
  const c = clone(config);
  output(c).activation = activation;
  c.model.loss = loss;
  return c;
}

/** Make the output layer fit a data task (binary: sigmoid+bce, multi-class: softmax+CE, regression: linear+mse). */
export function fitOutputToTask(config, task, classes) {
  const c = clone(config);
  const out = output(c);
  out.units = outputUnits(task, classes);
  if (task === "multiclass") {
    out.activation = "softmax";
    c.model.loss = "cross_entropy";
  } else if (task === "binary") {
    // from a regression (mse) or multi-class set: the menu offers binary data sigmoid + bce only
    if (c.model.loss !== "bce" || out.activation === "softmax") {
      out.activation = "sigmoid";
      c.model.loss = "bce";
    }
  } else if (c.model.loss !== "mse") {
    out.activation = "linear";
    c.model.loss = "mse";
  }
  return c;
}

/** Whether "− layer" has a hidden layer to remove, and "+ layer" room for one more. */
export function layerButtons(config, maxLayers = 32) {
  const n = config?.model?.layers?.length ?? 0;
  return { canRemove: n > 1, canAdd: n > 0 && n < maxLayers };
}

/**
 * What each numeric training field accepts: the server's own bounds (engine/config.py,
 * server/schemas.py), so the page can refuse a value before sending it. `empty` names
 * what an empty field means where empty is allowed.
 */
export const FIELD_RULES = Object.freeze({
  lr: { label: "Learning rate", min: 0 },
  batch_size: { label: "Batch size", min: 1, integer: true },
  reg_rate: { label: "Regularization rate", min: 0 },
  clip_norm: { label: "Gradient clipping", above: 0, empty: "off" },
  seed: { label: "Seed", min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  max_steps: { label: "Stop step", min: 1, integer: true, empty: "no limit" },
  max_epochs: { label: "Stop epoch", min: 1, integer: true, empty: "no limit" },
  target_loss: { label: "Stop loss", min: 0, empty: "no limit" },
});

/** The allowed values of a rule in words, e.g. "a whole number ≥ 1". */
export function allowedText(rule) {
  const bounds = [];
  if (rule.above !== undefined) bounds.push(`> ${rule.above}`);
  if (rule.min !== undefined) bounds.push(`≥ ${rule.min}`);
  if (rule.max !== undefined) bounds.push(`≤ ${rule.max}`);
  return `${rule.integer ? "a whole number" : "a number"} ${bounds.join(" and ")}`;
}

/**
 * Check a field's text against its rule: `{ ok: true, value }` (null for an allowed
 * empty field) or `{ ok: false, message }` saying what is allowed. `unreadable` is the
 * browser's word that the text is no number at all (a number input then reads "").
 */
export function checkField(rule, text, unreadable = false) {
  const raw = String(text ?? "").trim();
  if (raw === "" && !unreadable && rule.empty) return { ok: true, value: null };
  const v = unreadable || raw === "" ? NaN : Number(raw);
  const fits =
    Number.isFinite(v) &&
    (!rule.integer || Number.isInteger(v)) &&
    (rule.above === undefined || v > rule.above) &&
    (rule.min === undefined || v >= rule.min) &&
    (rule.max === undefined || v <= rule.max);
  if (fits) return { ok: true, value: v };
  const given = raw === "" || unreadable ? "" : `, not ${raw}`;
  const empty = rule.empty ? `; leave it empty for ${rule.empty}` : "";
  return { ok: false, message: `${rule.label} must be ${allowedText(rule)}${given}${empty}.` };
}

/** Count parameters of a dense config with `inputs` input features. */
export function countParameters(config, inputs) {
  let n = 0;
  let fan = inputs;
  for (const layer of config.model.layers) {
    if (layer.type !== "dense") return null;
    n += fan * layer.units + layer.units;
    fan = layer.units;
  }
  return n;
}
