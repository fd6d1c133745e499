// Scales, ticks and number formatting for the charts and readouts. Pure.

/** A linear map from [d0, d1] to [r0, r1]; a zero-width domain maps to the middle of the range. */
export function linearScale([d0, d1], [r0, r1]) {
  const span = d1 - d0;
  const f = (v) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0));
  f.invert = (p) => (r1 === r0 ? d0 : d0 + ((p - r0) / (r1 - r0)) * span);
  f.domain = [d0, d1];
  f.range = [r0, r1];
  return f;
}

/** A base-10 log map; values ≤ 0 are clamped to the domain's low end. */
export function logScale([d0, d1], [r0, r1]) {
  const l0 = Math.log10(d0);
  const l1 = Math.log10(d1);
  const span = l1 - l0;
  const f = (v) => {
    const lv = v > 0 ? Math.log10(v) : l0;
    return span === 0 ? (r0 + r1) / 2 : r0 + ((lv - l0) / span) * (r1 - r0);
  };
  f.invert = (p) => 10 ** (l0 + ((p - r0) / (r1 - r0)) * span);
  f.domain = [d0, d1];
  f.range = [r0, r1];
  return f;
}

/** A step of 1, 2 or 5 × 10^k giving about `count` intervals over `span`. */
export function niceStep(span, count = 5) {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const m = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
  return m * mag;
}

/** Round ticks covering [lo, hi] (inside it), about `count` of them. */
export function linearTicks(lo, hi, count = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) return [lo];
  const step = niceStep(hi - lo, count);
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const ticks = [];
  for (let k = first; k <= last; k++) ticks.push(roundTo(k * step, step));
  return ticks;
}

function roundTo(v, step) {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(20, digits)));
}

/**
 * Ticks for a log axis over [lo, hi] (lo > 0), about `count` of them and at least
 * min(3, count) whenever the range allows: powers of ten when it spans enough
 * decades, else 1-3 or 1-2-5 multiples, else (under a decade) plain round values.
 */
export function logTicks(lo, hi, count = 6) {
  if (!(lo > 0) || !(hi > 0) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo > hi) [lo, hi] = [hi, lo];
  const want = Math.max(1, Math.min(3, count));
  const e0 = Math.floor(Math.log10(lo));
  const e1 = Math.ceil(Math.log10(hi));
  for (const mantissas of [[1], [1, 3], [1, 2, 5]]) {
    const ticks = [];
    for (let e = e0; e <= e1; e++) {
      for (const m of mantissas) {
        const v = Number((m * 10 ** e).toPrecision(12)); // 3e-7, not 2.9999999999999997e-7
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push(v);
      }
    }
    if (ticks.length >= want) return thin(ticks, count);
  }
  return linearTicks(lo, hi, count).filter((v) => v > 0);
}

// Every k-th tick so at most about `count` remain (the first one kept).
function thin(ticks, count) {
  if (ticks.length <= count + 1) return ticks;
  const every = Math.ceil(ticks.length / Math.max(1, count));
  return ticks.filter((_, i) => i % every === 0);
}

/** [min, max] of the finite values (optionally only > 0); null when there are none. */
export function extent(values, positiveOnly = false) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v) || (positiveOnly && v <= 0)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

/** Widen [lo, hi] by a fraction on each side (and give a zero-width extent some width). */
export function pad([lo, hi], fraction = 0.05) {
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - d, hi + d];
  }
  const d = (hi - lo) * fraction;
  return [lo - d, hi + d];
}

/** Largest |v| of the finite values (0 when none). */
export function maxAbs(values) {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > m && a !== Infinity) m = a;
  }
  return m;
}

const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

/**
 * A number with `digits` significant digits, for people: 0.4172, 12.35, 1.235e-5 → "1.235e-5".
 * Integers below 10^digits print as themselves. NaN → "NaN", ±Infinity → "∞"/"−∞", null → "—".
 */
export function formatSig(v, digits = 4) {
  if (v === null || v === undefined) return "—";
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "∞";
  if (v === -Infinity) return "−∞";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e-4 && a < 10 ** (digits + 2)) {
    if (Number.isInteger(v) && a < 10 ** digits) return String(v);
    const s = Number(v.toPrecision(digits));
    return String(s);
  }
  const [m, e] = v.toExponential(digits - 1).split("e");
  return `${Number(m)}e${Number(e)}`;
}

/** Tick label: compact, powers of ten as 10⁻³. */
export function formatTick(v, log = false) {
  if (log) {
    const e = Math.round(Math.log10(v));
    if (Math.abs(v - 10 ** e) < 1e-12 * 10 ** e) {
      // plain from 0.01 to 1000, so decades read like the 1-3 / 1-2-5 ticks between them
      if (e >= -2 && e <= 3) return String(Number((10 ** e).toPrecision(1)));
      return "10" + String(e).split("").map((c) => SUPERSCRIPT[c]).join("");
    }
  }
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 && a < 1e6 && Number.isInteger(v)) return `${Number((v / 1e3).toPrecision(3))}k`;
  if (a >= 1e6 || a < 1e-3) return formatSig(v, 2);
  return String(Number(v.toPrecision(3)));
}

/** Clamp v to [lo, hi]. */
export function clamp(v, lo, hi) {
  return v < lo ? lo : v > hi ? hi : v;
}
