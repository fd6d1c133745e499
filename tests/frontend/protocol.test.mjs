// Frame decoding, built byte by byte from docs/protocol.md; and the golden frames when present.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { decodeFrame, parseText, subscribeMessage, controlMessage, layerArrays, at2, columnMean, FrameError, MSG } from "../../frontend/js/protocol.js";

/** Build a frame exactly as the doc says: u32 LE length | JSON header padded with spaces | 8-aligned arrays. */
function buildFrame(header, arrays) {
  const specs = [];
  const blobs = [];
  let offset = 0;
  for (const [name, dtype, shape, values, extra = {}] of arrays) {
    const Type = { f4: Float32Array, f8: Float64Array, i4: Int32Array, u1: Uint8Array, q8: Uint8Array }[dtype];
    const bytes = new Uint8Array(new Type(values).buffer);
    specs.push({ name, dtype, shape, offset, ...extra });
    const padded = new Uint8Array(Math.ceil(bytes.length / 8) * 8);
    padded.set(bytes);
    blobs.push(padded);
    offset += padded.length;
  }
  let head = new TextEncoder().encode(JSON.stringify({ ...header, arrays: specs }));
  const total = Math.ceil((4 + head.length) / 8) * 8;
  const padded = new Uint8Array(total - 4).fill(0x20);
  padded.set(head);
  head = padded;
  const out = new Uint8Array(4 + head.length + offset);
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 4);
  let at = 4 + head.length;
  for (const b of blobs) {
    out.set(b, at);
    at += b.length;
  }
  return out.buffer;
}

test("a frame decodes into its header and typed-array views at the given offsets", () => {
  const buf = buildFrame({ type: "frame", protocol: 1, session: "s1", generation: 3, step: 812 }, [
    ["points.step", "f8", [3], [810, 811, 812]],
    ["L0.W", "f4", [2, 3], [1, 2, 3, 4, 5, 6]],
    ["batch.indices", "i4", [3], [7, -1, 9]],
    ["heat.output_class", "u1", [2, 2], [0, 1, 2, 1]],
    ["L0.b", "f4", [3], [0.5, -0.5, 0.25]],
  ]);
  const { header, arrays } = decodeFrame(buf);
  assert.equal(header.type, "frame");
  assert.equal(header.step, 812);
  assert.deepEqual([...arrays["points.step"].data], [810, 811, 812]);
  assert.ok(arrays["points.step"].data instanceof Float64Array);
  assert.ok(arrays["L0.W"].data instanceof Float32Array);
  assert.equal(arrays["L0.W"].data.buffer, buf, "a view over the message, not a copy");
  assert.deepEqual(arrays["L0.W"].shape, [2, 3]);
  assert.equal(at2(arrays["L0.W"], 1, 2), 6);
  assert.deepEqual([...arrays["batch.indices"].data], [7, -1, 9]);
  assert.deepEqual([...arrays["heat.output_class"].data], [0, 1, 2, 1]);
  assert.deepEqual([...arrays["L0.b"].data], [0.5, -0.5, 0.25]);
});

test("a frame inside a larger buffer (a typed-array view) decodes too", () => {
  const frame = new Uint8Array(buildFrame({ type: "points" }, [["points.loss", "f8", [2], [0.5, 0.25]]]));
  const big = new Uint8Array(frame.length + 16);
  big.set(frame, 8);
  const { arrays } = decodeFrame(big.subarray(8, 8 + frame.length));
  assert.deepEqual([...arrays["points.loss"].data], [0.5, 0.25]);
});

test("a misaligned array is copied rather than refused", () => {
  const frame = new Uint8Array(buildFrame({ type: "frame" }, [["x", "f8", [1], [1.5]]]));
  const big = new Uint8Array(frame.length + 3);
  big.set(frame, 3);
  const { arrays } = decodeFrame(big.subarray(3));
  assert.equal(arrays.x.data[0], 1.5);
});

test("truncated and malformed frames raise FrameError", () => {
  assert.throws(() => decodeFrame(new ArrayBuffer(2)), FrameError);
  const buf = new Uint8Array(8);
  new DataView(buf.buffer).setUint32(0, 100, true);
  assert.throws(() => decodeFrame(buf.buffer), FrameError);
  const good = new Uint8Array(buildFrame({ type: "frame" }, [["x", "f8", [4], [1, 2, 3, 4]]]));
  assert.throws(() => decodeFrame(good.slice(0, good.length - 8).buffer), FrameError);
  const bad = new Uint8Array(12).fill(0x20);
  new DataView(bad.buffer).setUint32(0, 8, true);
  bad[4] = 0x7b; // "{" then spaces: not JSON
  assert.throws(() => decodeFrame(bad.buffer), FrameError);
});

test("text messages: parse, subscribe and control", () => {
  assert.equal(parseText("nope"), null);
  assert.equal(parseText("[1]"), null);
  assert.equal(parseText('{"type":"hello"}').type, MSG.HELLO);
  assert.deepEqual(JSON.parse(subscribeMessage({ fps: 60 })), { type: "subscribe", fps: 60 });
  assert.deepEqual(JSON.parse(controlMessage("tok", "step", { steps: 1 })), { type: "control", token: "tok", action: "step", steps: 1 });
});

test("per-layer arrays are grouped by layer index; batch means by column", () => {
  const arrays = {
    "L0.W": { data: new Float32Array(4), shape: [2, 2] },
    "L1.delta": { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] },
    "heat.L0": { data: new Float32Array(1), shape: [1] },
  };
  const layers = layerArrays(arrays);
  assert.equal(layers.length, 2);
  assert.ok(layers[0].W);
  assert.equal(columnMean(layers[1].delta, 1), 3);
});

test("q8 heatmaps decode to float32 values: lo + code × scale, one lo and scale per map", () => {
  const buf = buildFrame({ type: "frame", step: 4 }, [
    ["heat.output", "q8", [2, 2], [0, 255, 128, 1], { lo: [-1], scale: [2 / 255] }],
    ["heat.L0", "q8", [2, 1, 3], [0, 1, 2, 0, 10, 255], { lo: [0.5, -3], scale: [0.25, 0] }],
    ["L0.W", "f4", [1], [7]],
  ]);
  const { arrays } = decodeFrame(buf);
  const out = arrays["heat.output"];
  assert.ok(out.data instanceof Float32Array);
  assert.equal(out.dtype, "f4");
  assert.deepEqual(out.shape, [2, 2]);
  const want = [-1, 1, -1 + (128 * 2) / 255, -1 + 2 / 255].map(Math.fround);
  assert.deepEqual([...out.data], want);
  assert.deepEqual([...arrays["heat.L0"].data], [0.5, 0.75, 1, -3, -3, -3]);
  assert.deepEqual([...arrays["L0.W"].data], [7]);
});

test("a q8 array without one lo and scale per map is refused", () => {
  const buf = buildFrame({ type: "frame" }, [["heat.L0", "q8", [2, 1, 1], [0, 1], { lo: [0], scale: [1] }]]);
  assert.throws(() => decodeFrame(buf), (err) => err instanceof FrameError && /lo and scale/.test(err.message));
});

const here = dirname(fileURLToPath(import.meta.url));
const golden = join(here, "..", "golden");
const goldenFiles = existsSync(golden) ? readdirSync(golden).filter((f) => f.endsWith(".bin")) : [];

test("golden frames decode to the arrays the server wrote", { skip: goldenFiles.length === 0 && "no tests/golden/*.bin yet" }, () => {
  for (const file of goldenFiles) {
    const bytes = readFileSync(join(golden, file));
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const { header, arrays } = decodeFrame(buf);
    const jsonPath = join(golden, file.replace(/\.bin$/, ".json"));
    if (!existsSync(jsonPath)) continue;
    const expected = JSON.parse(readFileSync(jsonPath, "utf8"));
    const expHeader = expected.header ?? expected;
    for (const key of ["type", "generation", "step", "session"]) {
      if (key in expHeader) assert.deepEqual(header[key], expHeader[key], `${file}: header.${key}`);
    }
    const expArrays = expected.arrays ?? {};
    const entries = Array.isArray(expArrays) ? expArrays.map((a) => [a.name, a]) : Object.entries(expArrays);
    for (const [name, exp] of entries) {
      const got = arrays[name];
      assert.ok(got, `${file}: array ${name} missing`);
      const values = (exp.values ?? exp.data ?? exp).flat(Infinity);
      if (exp.shape) assert.deepEqual(got.shape, exp.shape, `${file}: ${name} shape`);
      assert.equal(got.data.length, values.length, `${file}: ${name} length`);
      values.forEach((v, i) => {
        const g = got.data[i];
        if (v === null) assert.ok(Number.isNaN(g));
        else assert.ok(Math.abs(g - v) <= 1e-6 * Math.max(1, Math.abs(v)), `${file}: ${name}[${i}] ${g} != ${v}`);
      });
    }
  }
});
