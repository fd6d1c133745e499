// The session config ⇄ a readable URL query, e.g.
//   ?data=circle&d.noise=0.1&net=tanh:8,tanh:8,sigmoid:1&loss=bce&opt=sgd&lr=0.03&batch=10&seed=0
// Pure: strings in, plain objects out. Inline data (x, y arrays) does not fit a
// URL and is left out; `encodeConfig` reports that in its `dropped` list.

const ARRAY_KEYS = new Set(["m.input_shape", "d.features"]);
const PAGE_KEYS = new Set(["session", "presenter", "view"]);
const INLINE_DATA = new Set(["x", "y", "x_test", "y_test"]);

function encodeValue(v) {
  if (Array.isArray(v)) return v.map(encodeValue).join(",");
  if (v === null) return "null";
  return String(v);
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

function decodeScalar(s) {
  if (s === "true") return true;
  if (s === "false") return false;
  if (s === "null") return null;
  if (NUMBER.test(s)) {
    const n = Number(s);
    if (Number.isFinite(n)) return n;
  }
  return s;
}

function decodeValue(key, s) {
  if (ARRAY_KEYS.has(key)) return s === "" ? [] : s.split(",").map(decodeScalar);
  return decodeScalar(s);
}

/** One layer as text: dense → "tanh:8"; others → "conv2d;filters=8;kernel=3x3". */
export function encodeLayer(layer) {
  if (layer.type === "dense" && Object.keys(layer).every((k) => ["type", "units", "activation"].includes(k))) {
    return `${layer.activation ?? ""}:${layer.units}`;
  }
  const parts = [layer.type];
  for (const [k, v] of Object.entries(layer)) {
    if (k === "type" || v === undefined) continue;
    parts.push(`${k}=${Array.isArray(v) ? v.join("x") : encodeValue(v)}`);
  }
  return parts.join(";");
}

export function decodeLayer(text) {
  if (!text.includes(";") && text.includes(":")) {
    const [activation, units] = text.split(":");
    const layer = { type: "dense", units: Number(units) };
    if (activation) layer.activation = activation;
    return layer;
  }
  const [type, ...rest] = text.split(";");
  const layer = { type };
  for (const part of rest) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const k = part.slice(0, eq);
    const v = part.slice(eq + 1);
    layer[k] = /^\d+(x\d+)+$/.test(v) ? v.split("x").map(Number) : decodeScalar(v);
  }
  return layer;
}

function put(pairs, key, value) {
  if (value === undefined) return;
  pairs.push([key, encodeValue(value)]);
}

/**
 * Encode a session config as query pairs.
 * @returns {{query: string, dropped: string[]}}  query without the leading "?"
 */
export function encodeConfig(config, extra = {}) {
  const pairs = [];
  const dropped = [];
  const data = config.data || {};
  if (data.dataset !== undefined) put(pairs, "data", data.dataset);
  for (const [k, v] of Object.entries(data)) {
    if (k === "dataset") continue;
    if (INLINE_DATA.has(k)) {
      dropped.push(`data.${k}`);
      continue;
    }
    put(pairs, `d.${k}`, v);
  }
  const model = config.model || {};
  if (model.layers) put(pairs, "net", model.layers.map(encodeLayer).join(","));
  if (model.loss !== undefined) put(pairs, "loss", model.loss);
  for (const [k, v] of Object.entries(model)) {
    if (k === "layers" || k === "loss") continue;
    put(pairs, `m.${k}`, v);
  }
  const training = config.training || {};
  for (const [k, v] of Object.entries(training)) {
    if (k === "optimizer" && v) {
      for (const [ok, ov] of Object.entries(v)) {
        put(pairs, ok === "name" ? "opt" : ok === "lr" ? "lr" : `o.${ok}`, ov);
      }
    } else if (k === "batch_size") {
      put(pairs, "batch", v);
    } else if (k === "regularization" && v) {
      put(pairs, "reg", v.kind);
      if (v.rate !== undefined) put(pairs, "rate", v.rate);
    } else if (k === "schedule" && v) {
      for (const [sk, sv] of Object.entries(v)) put(pairs, sk === "name" ? "sched" : `s.${sk}`, sv);
    } else {
      put(pairs, `t.${k}`, v);
    }
  }
  if (config.seed !== undefined) put(pairs, "seed", config.seed);
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== null && v !== false) put(pairs, k, v);
  const query = pairs.map(([k, v]) => `${esc(k)}=${esc(v)}`).join("&");
  return { query, dropped };
}

// encodeURIComponent, leaving the characters that are safe in a query readable.
function esc(s) {
  return encodeURIComponent(s).replace(/%2C/g, ",").replace(/%3A/g, ":").replace(/%3B/g, ";").replace(/%3D/g, "=");
}

/**
 * Decode a query string (with or without "?").
 * @returns {{config: object|null, page: object}}  config null when the query holds none;
 *          page holds the page's own keys (session, presenter, view).
 */
export function decodeConfig(search) {
  const q = search.startsWith("?") ? search.slice(1) : search;
  const page = {};
  const config = {};
  let any = false;
  const section = (name) => (config[name] ||= {});
  for (const part of q.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const key = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, " "));
    const raw = eq < 0 ? "" : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, " "));
    if (PAGE_KEYS.has(key)) {
      page[key] = key === "session" ? raw : decodeScalar(raw);
      continue;
    }
    const value = decodeValue(key, raw);
    let known = true;
    if (key === "data") section("data").dataset = raw;
    else if (key.startsWith("d.")) section("data")[key.slice(2)] = value;
    else if (key === "net") section("model").layers = raw ? raw.split(",").map(decodeLayer) : [];
    else if (key === "loss") section("model").loss = raw;
    else if (key.startsWith("m.")) section("model")[key.slice(2)] = value;
    else if (key === "opt") (section("training").optimizer ||= {}).name = raw;
    else if (key === "lr") (section("training").optimizer ||= {}).lr = value;
    else if (key.startsWith("o.")) (section("training").optimizer ||= {})[key.slice(2)] = value;
    else if (key === "batch") section("training").batch_size = value;
    else if (key === "reg") (section("training").regularization ||= {}).kind = raw;
    else if (key === "rate") (section("training").regularization ||= {}).rate = value;
    else if (key === "sched") (section("training").schedule ||= {}).name = raw;
    else if (key.startsWith("s.")) (section("training").schedule ||= {})[key.slice(2)] = value;
    else if (key.startsWith("t.")) section("training")[key.slice(2)] = value;
    else if (key === "seed") config.seed = value;
    else known = false; // unknown keys are ignored
    any ||= known;
  }
  return { config: any ? config : null, page };
}
