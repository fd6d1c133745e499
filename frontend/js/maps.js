// Pure helpers of the CNN and RNN views: slicing frame arrays by sample and channel, the
// backward pass from a layer's δ to the layer below (∂L/∂A, and ∂L/∂X of the input image),
// receptive fields, grids of feature maps, gradient-flow flags over time steps, text decoding.
// Arrays are {data: TypedArray, shape: number[]} as decoded from frames (docs/protocol.md).
// No DOM: tested with `node --test tests/frontend/`.

const prod = (shape) => shape.reduce((n, d) => n * d, 1);

/** Row `n` of an array along its first axis, as a view (no copy): {data, shape without axis 0}. */
export function row(arr, n) {
  if (!arr) return null;
  const size = prod(arr.shape.slice(1));
  if (n < 0 || n >= arr.shape[0]) return null;
  return { data: arr.data.subarray(n * size, (n + 1) * size), shape: arr.shape.slice(1) };
}

/** Parameters as the step saw them: after − update (the frame carries both). */
export function beforeUpdate(param, update) {
  if (!param) return null;
  if (!update || update.data.length !== param.data.length) return param;
  const out = new Float64Array(param.data.length);
  for (let i = 0; i < out.length; i++) out[i] = param.data[i] - update.data[i];
  return { data: out, shape: param.shape.slice() };
}

/** Largest |value| of a typed array (0 when empty or all non-finite). */
export function maxAbsOf(data) {
  let m = 0;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]);
    if (a > m && a !== Infinity) m = a;
  }
  return m;
}

/**
 * ∂L/∂X of one sample below a conv2d layer: δ (F, Ho, Wo) scattered back through the kernel
 * K (F, C, kh, kw) — the full convolution of δ with the flipped kernel.
 * `pads` [[top, bottom], [left, right]], `inputShape` [C, H, W]. Returns {data, shape: [C, H, W]}.
 */
export function convInputGradient(delta, K, stride, pads, inputShape) {
  const [F, C, kh, kw] = K.shape;
  const [, ho, wo] = delta.shape;
  const [c, h, w] = inputShape;
  if (C !== c) throw new Error(`kernel has ${C} channels, input ${c}`);
  const top = pads?.[0]?.[0] || 0;
  const left = pads?.[1]?.[0] || 0;
  const out = new Float64Array(c * h * w);
  for (let f = 0; f < F; f++) {
    for (let y = 0; y < ho; y++) {
      for (let x = 0; x < wo; x++) {
        const d = delta.data[(f * ho + y) * wo + x];
        if (d === 0) continue;
        for (let ch = 0; ch < C; ch++) {
          for (let i = 0; i < kh; i++) {
            const r = y * stride + i - top;
            if (r < 0 || r >= h) continue;
            for (let j = 0; j < kw; j++) {
              const q = x * stride + j - left;
              if (q < 0 || q >= w) continue;
              out[(ch * h + r) * w + q] += d * K.data[((f * C + ch) * kh + i) * kw + j];
            }
          }
        }
      }
    }
  }
  return { data: out, shape: [c, h, w] };
}

/** δ·Wᵀ for one sample: δ (…, U) and W (F, U) → (…, F); a leading time axis is kept. */
export function denseInputGradient(delta, W) {
  const [F, U] = W.shape;
  const rows = delta.data.length / U;
  const out = new Float64Array(rows * F);
  for (let t = 0; t < rows; t++) {
    for (let i = 0; i < F; i++) {
      let s = 0;
      for (let u = 0; u < U; u++) s += delta.data[t * U + u] * W.data[i * U + u];
      out[t * F + i] = s;
    }
  }
  return { data: out, shape: [...delta.shape.slice(0, -1), F] };
}

/** ∂L/∂X below a max-pool layer: each output's gradient goes to the input that won its window (`argmax` = row·W + col). */
export function maxpoolInputGradient(dA, argmax, inputShape) {
  const [c, h, w] = inputShape;
  const per = dA.data.length / c;
  const out = new Float64Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let p = 0; p < per; p++) out[ch * h * w + argmax.data[ch * per + p]] += dA.data[ch * per + p];
  }
  return { data: out, shape: [c, h, w] };
}

/** ∂L/∂X below an average-pool layer of window `size` and `stride`: ∂L/∂A / size² to every input of a window. */
export function avgpoolInputGradient(dA, size, stride, inputShape) {
  const [c, h, w] = inputShape;
  const [, ho, wo] = dA.shape;
  const out = new Float64Array(c * h * w);
  const share = 1 / (size * size);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < ho; y++) {
      for (let x = 0; x < wo; x++) {
        const g = dA.data[(ch * ho + y) * wo + x] * share;
        for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) out[(ch * h + y * stride + i) * w + x * stride + j] += g;
      }
    }
  }
  return { data: out, shape: [c, h, w] };
}

/**
 * The backward pass of one sample, read from a frame: ∂L/∂A of every layer's output and
 * ∂L/∂X of the network input, each from the layer above (its δ and its parameters before the
 * update). `arch` = the hello's architecture, `layers` = state.layers.
 * Returns {input, outputs: [per layer {data, shape} | null]}; the output layer's entry is null
 * (its δ comes from the loss), and so is any entry whose inputs the frame did not carry.
 */
export function backwardOfSample(arch, layers, sample) {
  const n = arch.layers.length;
  const outputs = new Array(n).fill(null);
  let input = null;
  // grad[k] = ∂L/∂(input of layer k) = ∂L/∂A of layer k−1 (k = 0: the network's input)
  for (let k = n - 1; k >= 0; k--) {
    const spec = arch.layers[k];
    const L = layers[k] || {};
    const inShape = spec.input_shape;
    let g = null;
    const dA = k === n - 1 ? null : outputs[k];
    switch (spec.type) {
      case "dense": {
        const delta = row(L.delta, sample);
        const W = beforeUpdate(L.W, L.update_W);
        if (delta && W) g = denseInputGradient(delta, W);
        if (g) g.shape = inShape.slice();
        break;
      }
      case "rnn":
      case "lstm": {
        const delta = row(L.delta, sample);
        const W = beforeUpdate(L.W_x, L.update_W_x);
        if (delta && W) g = denseInputGradient(delta, W);
        break;
      }
      case "conv2d": {
        const delta = row(L.delta, sample);
        const K = beforeUpdate(L.W, L.update_W);
        const pads = spec.pads || samePads(spec, inShape);
        if (delta && K) g = convInputGradient(delta, K, spec.stride || 1, pads, inShape);
        break;
      }
      case "flatten":
        if (dA) g = { data: dA.data, shape: inShape.slice() };
        break;
      case "maxpool2d": {
        const argmax = row(L.argmax, sample);
        if (dA && argmax) g = maxpoolInputGradient(dA, argmax, inShape);
        break;
      }
      case "avgpool2d":
        if (dA) g = avgpoolInputGradient(dA, spec.size, spec.stride || spec.size, inShape);
        break;
      default:
        break;
    }
    if (k > 0) outputs[k - 1] = g;
    else input = g;
  }
  return { input, outputs };
}

/** Padding of a conv layer as the engine chooses it: [[top, bottom], [left, right]] (TensorFlow's "same" rule). */
export function samePads(spec, inputShape) {
  if (spec.padding !== "same") return [[0, 0], [0, 0]];
  const [kh, kw] = Array.isArray(spec.kernel) ? spec.kernel : [spec.kernel, spec.kernel];
  const s = spec.stride || 1;
  const one = (size, k) => {
    const out = Math.ceil(size / s);
    const total = Math.max((out - 1) * s + k - size, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  return [one(inputShape[1], kh), one(inputShape[2], kw)];
}

/**
 * The input rows and columns a conv or pool output position reads, clipped to the input:
 * {rows: [first, last], cols: [first, last]} (inclusive), or null for other layers.
 */
export function receptiveField(spec, row_, col) {
  let kh;
  let kw;
  let s;
  let pads = [[0, 0], [0, 0]];
  if (spec.type === "conv2d") {
    [kh, kw] = Array.isArray(spec.kernel) ? spec.kernel : [spec.kernel, spec.kernel];
    s = spec.stride || 1;
    pads = spec.pads || samePads(spec, spec.input_shape);
  } else if (spec.type === "maxpool2d" || spec.type === "avgpool2d") {
    kh = kw = spec.size;
    s = spec.stride || spec.size;
  } else return null;
  const [, h, w] = spec.input_shape;
  const r0 = row_ * s - pads[0][0];
  const c0 = col * s - pads[1][0];
  return {
    rows: [Math.max(0, r0), Math.min(h - 1, r0 + kh - 1)],
    cols: [Math.max(0, c0), Math.min(w - 1, c0 + kw - 1)],
  };
}

/**
 * The largest square tiles for `n` maps in a width × height box with `gap` between them:
 * {cols, rows, size}. `aspect` = a map's width / height.
 */
export function gridFit(n, width, height, gap = 4, aspect = 1) {
  let best = { cols: 1, rows: Math.max(1, n), size: 0 };
  for (let cols = 1; cols <= Math.max(1, n); cols++) {
    const rows = Math.ceil(n / cols);
    const byW = (width - gap * (cols - 1)) / cols / aspect;
    const byH = (height - gap * (rows - 1)) / rows;
    const size = Math.floor(Math.min(byW, byH));
    if (size > best.size) best = { cols, rows, size };
  }
  best.size = Math.max(0, best.size);
  return best;
}

/**
 * Is the gradient through time vanishing or exploding? `norms[t]` = ‖share of step t in
 * ∂L/∂W_h‖. Step 0 never gets any (h before it is 0), and under truncation the early steps
 * get none by design: those are left out. Compares the earliest step that got any with the
 * largest: ratio = early / largest.
 * Returns {ratio, flag: "vanishing" | "exploding" | null, first, last}.
 */
export function gradientFlow(norms, threshold = 1e-3) {
  const values = Array.from(norms || []);
  let first = -1;
  let last = -1;
  let peak = 0;
  for (let t = 0; t < values.length; t++) {
    const v = values[t];
    if (!(v > 0) || !Number.isFinite(v)) continue;
    if (first < 0) first = t;
    last = t;
    if (v > peak) peak = v;
  }
  if (first < 0 || first === last) return { ratio: null, flag: null, first, last };
  const ratio = values[first] / values[last];
  let flag = null;
  if (values[first] / peak < threshold) flag = "vanishing";
  else if (ratio > 1 / threshold) flag = "exploding";
  return { ratio, flag, first, last };
}

/** Characters of one-hot rows (T, V) through a vocabulary; an all-zero row gives "·". */
export function decodeOneHot(x, vocab) {
  const [T, V] = x.shape;
  let s = "";
  for (let t = 0; t < T; t++) {
    let best = -1;
    let bestV = 0;
    for (let v = 0; v < V; v++) {
      const val = x.data[t * V + v];
      if (val > bestV) {
        bestV = val;
        best = v;
      }
    }
    s += best < 0 ? "·" : vocab[best] ?? "?";
  }
  return s;
}

/** Per-row totals and the share of the diagonal of a confusion matrix counts[true][predicted]. */
export function confusionSummary(counts) {
  const rows = counts.map((r) => r.reduce((a, b) => a + b, 0));
  const total = rows.reduce((a, b) => a + b, 0);
  const right = counts.reduce((s, r, i) => s + (r[i] || 0), 0);
  return { rows, total, accuracy: total ? right / total : null };
}

/**
 * The targets of a batch, read back from the output layer's a and δ (frames carry no Y):
 * δ = ∂L/∂z is (a − y)/n for softmax + cross-entropy and sigmoid + bce, and 2(a − y)/n for
 * linear + mse, where n counts what the loss averages over. `a`, `delta`: the output
 * layer's arrays (N, …, K). Returns {kind: "class", classes: Int32Array per row} for
 * cross-entropy (the one class whose δ is negative), {kind: "value", values} for bce (0 / 1)
 * and linear + mse, or null when the pair does not allow it.
 */
export function targetsFromOutput(loss, activation, a, delta) {
  if (!a || !delta) return null;
  const K = a.shape[a.shape.length - 1];
  const rowsN = a.data.length / K;
  if (loss === "cross_entropy" && activation === "softmax") {
    const classes = new Int32Array(rowsN);
    for (let r = 0; r < rowsN; r++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (delta.data[r * K + k] < delta.data[r * K + best]) best = k;
      classes[r] = best;
    }
    return { kind: "class", classes, shape: a.shape.slice(0, -1) };
  }
  if (loss === "bce" && activation === "sigmoid") {
    const values = new Float64Array(a.data.length);
    for (let i = 0; i < values.length; i++) values[i] = delta.data[i] < 0 ? 1 : 0;
    return { kind: "value", values, shape: a.shape.slice() };
  }
  if (loss === "mse" && activation === "linear") {
    const n = a.data.length;
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = a.data[i] - (delta.data[i] * n) / 2;
    return { kind: "value", values, shape: a.shape.slice() };
  }
  return null;
}
