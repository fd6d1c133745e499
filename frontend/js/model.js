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

/**
 * Output activation + loss pairs the server accepts, from GET /api/options:
 * output_activations maps loss → allowed output activations.
 */
export function outputPairs(options, task) {
  const pairs = [];
  const allowed = options?.output_activations || { bce: ["sigmoid"], cross_entropy: ["softmax"], mse: ["linear", "tanh", "sigmoid"] };
  for (const [loss, acts] of Object.entries(allowed)) {
    if (task === "multiclass" && loss === "bce") continue;
    if (task !== "multiclass" && loss === "cross_entropy") continue;
    for (const act of acts) {
      if (act === "softmax" && loss !== "cross_entropy") continue;
      if (loss === "mse" && task !== "regression" && !["linear", "tanh", "sigmoid"].includes(act)) continue;
      pairs.push({ activation: act, loss, label: `${act} + ${loss}` });
    }
  }
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
    if (c.model.loss === "cross_entropy" || out.activation === "softmax") {
      out.activation = "sigmoid";
      c.model.loss = "bce";
    }
  } else if (c.model.loss !== "mse") {
    out.activation = "linear";
    c.model.loss = "mse";
  }
  return c;
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
