// Per-layer gradient norms (vanishing / exploding layers flagged) or the
// update-to-weight ratio (healthy near 10⁻³), one line per layer, log scale.

import { extent, formatSig } from "../scales.js";
import { fitCanvas, polylineDecimated } from "../draw.js";
import { drawFrame } from "./chartFrame.js";

/** Colour of layer k of n: a sequential ramp from teal to violet (distinct in greyscale too). */
export function layerColour(k, n) {
  const stops = [
    [0, 150, 136],
    [33, 102, 172],
    [106, 61, 154],
    [190, 60, 120],
  ];
  const t = n <= 1 ? 0 : k / (n - 1);
  const x = t * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = stops[i].map((v, q) => Math.round(v + (stops[i + 1][q] - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

// Gradients shrink or grow layer by layer as backprop carries them down from the
// loss, so each layer is judged against the output layer (where backprop starts),
// plus absolute bounds for when the output layer itself is off.
const VANISH_ABS = 1e-7; // below this no learning happens at any sane learning rate
const VANISH_REL = 1e-3; // 1000× smaller than at the output
const EXPLODE_ABS = 1e3; // a step of lr × this wrecks the weights
const EXPLODE_REL = 1e3; // 1000× larger than at the output…
const EXPLODE_REL_FLOOR = 1; // …and big enough to matter by itself

/**
 * Flags for the latest per-layer gradient norms, ordered input → output (the last
 * is the output layer): "exploding" when a norm is not finite, ≥ 1e3, or ≥ 1e3 ×
 * the reference (and ≥ 1); "vanishing" when it is < 1e-7 or < 1e-3 × the reference;
 * else null. The reference is the output layer's norm, or the largest norm that is
 * not exploding when the output layer's is zero or exploding itself. When no norm is
 * finite the run has diverged and the page's divergence banner says so: no flags. Pure.
 */
export function gradientFlags(norms) {
  if (!norms.some(Number.isFinite)) return norms.map(() => null);
  const sane = (v) => Number.isFinite(v) && v >= 0 && v < EXPLODE_ABS;
  const out = norms[norms.length - 1];
  let ref = sane(out) && out > 0 ? out : 0;
  if (!ref) for (const v of norms) if (sane(v) && v > ref) ref = v;
  return norms.map((v) => {
    if (!Number.isFinite(v) || v >= EXPLODE_ABS) return "exploding";
    if (ref > 0 && v >= EXPLODE_REL * ref && v >= EXPLODE_REL_FLOOR) return "exploding";
    if (v < VANISH_ABS || v < VANISH_REL * ref) return "vanishing";
    return null;
  });
}

/**
 * The legend's entries for the latest per-layer values (null: not reported yet):
 * name ("L1"…, "out" for the last), value as text ("—" when unknown or the layer
 * has no parameters) and, with `flagging`, the gradient flag. Pure.
 */
export function legendEntries(latest, learns, flagging) {
  const n = latest.length;
  const flags = latest.map(() => null);
  if (flagging) {
    const ks = latest.map((_, k) => k).filter((k) => learns[k] && latest[k] !== null);
    gradientFlags(ks.map((k) => latest[k])).forEach((f, i) => (flags[ks[i]] = f));
  }
  return latest.map((v, k) => ({
    name: k === n - 1 ? "out" : `L${k + 1}`,
    value: learns[k] ? formatSig(v, 2) : "—",
    flag: flags[k],
  }));
}

export function createLayerCharts(el) {
  let legendKey = "";

  function draw(state) {
    const { ctx, w, h } = fitCanvas(el.canvas);
    ctx.clearRect(0, 0, w, h);
    const mode = state.ui.layerChart;
    const field = mode === "ratio" ? "update_ratio" : "grad_norm";
    const n = state.norms.length;
    const p = state.ui.presenter ? 1.3 : 1;
    const font = Math.round(10 * p);
    const box = { x: 40 * p, y: 4, w: w - 40 * p - 8, h: h - 4 - 15 * p };
    const exts = state.norms.map((s) => extent(s.column(field), true)).filter(Boolean);
    // null until a layer has reported: the legend shows "—", not NaN
    const latest = state.norms.map((s) => (s.length ? s.values[s.fields.indexOf(field)][s.length - 1] : null));
    queueLegend(state, latest, mode);
    if (!exts.length) {
      ctx.fillStyle = "#7b8497";
      ctx.font = `${font + 1}px system-ui, sans-serif`;
      ctx.textAlign = "center";
      ctx.fillText("per-layer norms appear once training runs", w / 2, h / 2);
      return;
    }
    let lo = Math.min(...exts.map((e) => e[0]));
    let hi = Math.max(...exts.map((e) => e[1]));
    if (mode === "ratio") {
      lo = Math.min(lo, 1e-4);
      hi = Math.max(hi, 1e-2);
    }
    if (hi / lo < 10) {
      lo /= 3;
      hi *= 3;
    }
    const x1 = Math.max(10, state.step);
    const { sx, sy } = drawFrame(ctx, box, [0, x1], [lo, hi], { log: true, font, yTicks: 3 });
    if (mode === "ratio") {
      ctx.save();
      ctx.strokeStyle = "rgba(26,127,75,0.6)";
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(box.x, sy(1e-3));
      ctx.lineTo(box.x + box.w, sy(1e-3));
      ctx.stroke();
      ctx.fillStyle = "rgba(26,127,75,0.9)";
      ctx.font = `${font}px system-ui, sans-serif`;
      ctx.fillText("≈ healthy", box.x + 4, sy(1e-3) - 7);
      ctx.restore();
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.x, box.y, box.w, box.h);
    ctx.clip();
    ctx.lineWidth = 1.6 * p;
    state.norms.forEach((s, k) => {
      ctx.strokeStyle = layerColour(k, n);
      polylineDecimated(ctx, s.steps, s.column(field), sx, sy, s.length, box.w);
    });
    ctx.restore();
  }

  // The values change every frame while training; 4 legend updates a second read
  // better. A trailing timer writes the last values once play stops.
  let legendAt = -Infinity;
  let legendTimer = 0;
  let legendMode = "";
  let pending = null;
  function queueLegend(state, latest, mode) {
    pending = { state, latest, mode };
    const wait = legendAt + 250 - performance.now();
    if (wait <= 0 || mode !== legendMode) flushLegend();
    else if (!legendTimer) legendTimer = setTimeout(flushLegend, wait);
  }

  function flushLegend() {
    clearTimeout(legendTimer);
    legendTimer = 0;
    if (!pending) return;
    const { state, latest, mode } = pending;
    pending = null;
    legendAt = performance.now();
    legendMode = mode;
    // pooling and flatten layers have no parameters, so no gradient to show or flag
    const learns = latest.map((_, k) => Object.keys(state.architecture?.layers?.[k]?.params || { W: 0 }).length > 0);
    const entries = legendEntries(latest, learns, mode === "grad");
    const key = JSON.stringify(entries);
    if (key === legendKey) return;
    legendKey = key;
    el.legend.replaceChildren(
      ...entries.map(({ name, value, flag }, k) => {
        const item = document.createElement("span");
        const sw = document.createElement("span");
        sw.className = "sw";
        sw.style.background = layerColour(k, entries.length);
        item.append(sw, `${name} ${value}`);
        if (flag) {
          const f = document.createElement("span");
          f.className = `flag ${flag}`;
          f.textContent = flag;
          item.append(f);
        }
        return item;
      }),
    );
  }

  return {
    update: draw,
    reset() {
      legendKey = "";
    },
  };
}
