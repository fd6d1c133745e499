// The browser side of docs/protocol.md (version 1): binary frame decoding and
// the text messages the page sends. Pure: no DOM, no sockets.
//
// Frame layout:  u32 LE header length H | H bytes UTF-8 JSON header (space padded)
//                | arrays, each at base + offset, base = 4 + H (8-aligned).
// Arrays become typed-array *views* over the received buffer (no copy) whenever
// their absolute offset is aligned for the element size; otherwise a copy.

export const PROTOCOL_VERSION = 1;

/** Message type names, the same as server/protocol.py. */
export const MSG = Object.freeze({
  HELLO: "hello",
  SUBSCRIBE: "subscribe",
  SUBSCRIBED: "subscribed",
  FRAME: "frame",
  POINTS: "points",
  EVENT: "event",
  CONTROL: "control",
  AUTH: "auth",
  ACK: "ack",
  ERROR: "error",
});

const DTYPES = {
  f4: Float32Array,
  f8: Float64Array,
  i4: Int32Array,
  u1: Uint8Array,
};

// Heatmaps a client subscribed to at 8 bits: one byte a value plus each channel's lo and scale.
const QUANTIZED = "q8";

const utf8 = new TextDecoder("utf-8");

export class FrameError extends Error {}

/**
 * Decode one binary message.
 * @param {ArrayBuffer|ArrayBufferView} message
 * @returns {{header: object, arrays: Object<string, {data: TypedArray, shape: number[], dtype: string}>}}
 */
export function decodeFrame(message) {
  let buffer, start, length;
  if (message instanceof ArrayBuffer) {
    buffer = message;
    start = 0;
    length = message.byteLength;
  } else if (ArrayBuffer.isView(message)) {
    buffer = message.buffer;
    start = message.byteOffset;
    length = message.byteLength;
  } else {
    throw new FrameError("a frame must be an ArrayBuffer or a typed array");
  }
  if (length < 4) throw new FrameError("frame shorter than its length prefix");
  const headLength = new DataView(buffer, start, 4).getUint32(0, true);
  if (4 + headLength > length) throw new FrameError("frame header runs past the end of the message");
  let header;
  try {
    header = JSON.parse(utf8.decode(new Uint8Array(buffer, start + 4, headLength)));
  } catch (err) {
    throw new FrameError(`frame header is not JSON: ${err.message}`);
  }
  const base = start + 4 + headLength;
  const arrays = {};
  for (const spec of header.arrays || []) {
    const quantized = spec.dtype === QUANTIZED;
    const Type = quantized ? Uint8Array : DTYPES[spec.dtype];
    if (!Type) throw new FrameError(`unknown dtype ${spec.dtype} for ${spec.name}`);
    const count = spec.shape.reduce((n, d) => n * d, 1);
    const at = base + spec.offset;
    if (at + count * Type.BYTES_PER_ELEMENT > start + length) {
      throw new FrameError(`array ${spec.name} runs past the end of the message`);
    }
    let data =
      at % Type.BYTES_PER_ELEMENT === 0
        ? new Type(buffer, at, count)
        : new Type(buffer.slice(at, at + count * Type.BYTES_PER_ELEMENT));
    if (quantized) data = dequantize(data, spec);
    arrays[spec.name] = { data, shape: spec.shape.slice(), dtype: quantized ? "f4" : spec.dtype };
  }
  return { header, arrays };
}

/** Float32 values of `q8` codes: lo[c] + code · scale[c], c along the first axis of a 3-D array. */
function dequantize(codes, spec) {
  const { lo, scale } = spec;
  const channels = spec.shape.length >= 3 ? spec.shape[0] : 1;
  if (!Array.isArray(lo) || !Array.isArray(scale) || lo.length !== channels || scale.length !== channels) {
    throw new FrameError(`array ${spec.name}: q8 needs ${channels} lo and scale values`);
  }
  const out = new Float32Array(codes.length);
  const per = channels ? codes.length / channels : 0;
  for (let c = 0; c < channels; c++) {
    const l = lo[c];
    const s = scale[c];
    for (let i = c * per, end = i + per; i < end; i++) out[i] = l + codes[i] * s;
  }
  return out;
}

/** Parse a text message; returns null for anything that is not a JSON object with a type. */
export function parseText(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return null;
  }
  return msg && typeof msg === "object" && typeof msg.type === "string" ? msg : null;
}

/** The subscribe message; fields left undefined are left out (they keep their value). */
export function subscribeMessage({ fps, tensors, heatmaps, lockstep } = {}) {
  const msg = { type: MSG.SUBSCRIBE };
  if (fps !== undefined) msg.fps = fps;
  if (tensors !== undefined) msg.tensors = tensors;
  if (heatmaps !== undefined) msg.heatmaps = heatmaps;
  if (lockstep !== undefined) msg.lockstep = lockstep;
  return JSON.stringify(msg);
}

/** A control message: action is play | pause | step | reset | set | recover. */
export function controlMessage(token, action, extra = {}) {
  return JSON.stringify({ type: MSG.CONTROL, token, action, ...extra });
}

/**
 * Split the per-layer arrays of a frame by layer: {0: {W, b, grad_W, a, delta, …}, …}.
 * Names are `L{k}.{name}`; heatmaps (`heat.*`) and points (`points.*`) are left out.
 */
export function layerArrays(arrays) {
  const out = [];
  for (const name of Object.keys(arrays)) {
    const m = /^L(\d+)\.(.+)$/.exec(name);
    if (!m) continue;
    const k = Number(m[1]);
    (out[k] ||= {})[m[2]] = arrays[name];
  }
  return out;
}

/** Read a 2-D array element [i][j] from a {data, shape} array. */
export function at2(arr, i, j) {
  return arr.data[i * arr.shape[1] + j];
}

/** Mean over the batch (axis 0) of column j of a [batch, units] array. */
export function columnMean(arr, j) {
  const [rows, cols] = arr.shape;
  if (!rows) return NaN;
  let s = 0;
  for (let r = 0; r < rows; r++) s += arr.data[r * cols + j];
  return s / rows;
}

/** JSON nested lists → {data: Float64Array, shape} (null → NaN), as the live state holds arrays. */
export function nestedToArray(nested) {
  const shape = [];
  let v = nested;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  const data = new Float64Array(shape.reduce((n, d) => n * d, 1));
  let k = 0;
  const walk = (x) => {
    if (Array.isArray(x)) for (const y of x) walk(y);
    else data[k++] = x === null || x === undefined ? NaN : x;
  };
  walk(nested);
  return { data, shape };
}

/** The heatmaps of a decoded frame's arrays: {output, outputClass, input, layers: [heat.L0, …]}. */
export function heatmapsOf(arrays) {
  const heat = { output: arrays["heat.output"] || null, outputClass: arrays["heat.output_class"] || null, input: arrays["heat.input"] || null, layers: [] };
  for (let k = 0; arrays[`heat.L${k}`]; k++) heat.layers[k] = arrays[`heat.L${k}`];
  return heat;
}
