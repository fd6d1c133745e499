// Colour maps. Pure: numbers in, RGB numbers or CSS strings out.
//
// The diverging ramp runs orange (negative) → near-white (0) → blue (positive).
// Orange and blue stay apart for the common colour-vision deficiencies
// (deuteranopia, protanopia, tritanopia), and lightness falls monotonically from
// the middle to both ends, so the magnitude also reads in greyscale.

/** Stops of the diverging ramp at t = -1, -0.5, 0, 0.5, 1 (sRGB, 0–255). */
export const DIVERGING_STOPS = Object.freeze([
  [170, 82, 8],
  [236, 152, 58],
  [246, 245, 242],
  [96, 160, 206],
  [24, 84, 158],
]);

/** Colour for missing or non-finite values. */
export const MISSING = Object.freeze([150, 150, 150]);

/**
 * Eight categorical colours (Okabe & Ito's colour-blind-safe set, reordered so
 * classes 0 and 1 match the diverging ramp's ends: orange and blue).
 */
export const CATEGORICAL = Object.freeze([
  [230, 159, 0],
  [0, 114, 178],
  [0, 158, 115],
  [204, 121, 167],
  [86, 180, 233],
  [213, 94, 0],
  [240, 228, 66],
  [80, 80, 80],
]);

/** RGB of the diverging ramp at t ∈ [-1, 1] (clamped; NaN → MISSING). */
export function diverging(t) {
  if (!Number.isFinite(t)) return t === Infinity ? DIVERGING_STOPS[4].slice() : t === -Infinity ? DIVERGING_STOPS[0].slice() : MISSING.slice();
  const x = (Math.max(-1, Math.min(1, t)) + 1) * 2; // 0 … 4
  const k = Math.min(3, Math.floor(x));
  const f = x - k;
  const a = DIVERGING_STOPS[k];
  const b = DIVERGING_STOPS[k + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f));
}

/**
 * A 256-entry RGBA lookup table of the ramp: entry i is the colour at t = i/127.5 − 1.
 * Heatmaps index it with lutIndex(t) instead of interpolating per pixel.
 */
export function divergingLUT() {
  const lut = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = diverging(i / 127.5 - 1);
    lut.set([r, g, b, 255], i * 4);
  }
  return lut;
}

/** The LUT entry for t ∈ [-1, 1]; -1 for non-finite t. */
export function lutIndex(t) {
  if (!Number.isFinite(t)) return -1;
  const i = Math.round((t + 1) * 127.5);
  return i < 0 ? 0 : i > 255 ? 255 : i;
}

/**
 * Fill RGBA pixels from values: t = (v − center) / scale through the LUT.
 * `out` is an ImageData's data (length 4·n). `alpha` is 0–255.
 */
export function fillHeat(values, out, lut, center = 0, scale = 1, alpha = 255) {
  const inv = scale > 0 ? 1 / scale : 0;
  for (let p = 0, n = values.length; p < n; p++) {
    const i = lutIndex((values[p] - center) * inv);
    const o = p * 4;
    if (i < 0) {
      out[o] = MISSING[0];
      out[o + 1] = MISSING[1];
      out[o + 2] = MISSING[2];
    } else {
      out[o] = lut[i * 4];
      out[o + 1] = lut[i * 4 + 1];
      out[o + 2] = lut[i * 4 + 2];
    }
    out[o + 3] = alpha;
  }
  return out;
}

/** Class colour (cycles through CATEGORICAL). */
export function categorical(k) {
  const n = CATEGORICAL.length;
  return CATEGORICAL[((k % n) + n) % n].slice();
}

/** Mix an RGB colour towards white by `amount` ∈ [0, 1]. */
export function tint([r, g, b], amount) {
  return [r + (255 - r) * amount, g + (255 - g) * amount, b + (255 - b) * amount].map(Math.round);
}

/** CSS string for an RGB triple and optional alpha. */
export function css([r, g, b], alpha = 1) {
  return alpha >= 1 ? `rgb(${r},${g},${b})` : `rgba(${r},${g},${b},${alpha})`;
}

/** Relative luminance (WCAG) of an sRGB colour, 0 … 1. */
export function luminance([r, g, b]) {
  const lin = (c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** Colour domain of a layer's outputs for its activation: {center, scale}. */
export function activationDomain(activation, maxAbsValue = 1) {
  switch (activation) {
    case "tanh":
    case "sin":
      return { center: 0, scale: 1 };
    case "sigmoid":
    case "softmax":
      return { center: 0.5, scale: 0.5 };
    default:
      return { center: 0, scale: maxAbsValue > 0 ? maxAbsValue : 1 };
  }
}
