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

/**
 * Flags for the latest per-layer gradient norms: "vanishing" when a layer's
 * norm is below 1e-3 × the largest layer's (or below 1e-7), "exploding" when
 * it is above 1e3 × the median layer's (or above 1e3, or not finite). Pure.
 */
export function gradientFlags(norms) {
  const finite = norms.filter((v) => Number.isFinite(v));
  if (!finite.length) return norms.map(() => null);
  const sorted = [...finite].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const exploding = (v) => !Number.isFinite(v) || v > 1e3 || (norms.length > 1 && median > 0 && v > 1e3 * median);
  const sane = finite.filter((v) => !exploding(v));
  const max = sane.length ? Math.max(...sane) : 0;
  return norms.map((v) => {
    if (exploding(v)) return "exploding";
    if (v < 1e-7 || (norms.length > 1 && v < 1e-3 * max)) return "vanishing";
    return null;
  });
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
    const latest = state.norms.map((s) => (s.length ? s.values[s.fields.indexOf(field)][s.length - 1] : NaN));
    updateLegend(state, latest, mode);
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

  let legendAt = 0;
  function updateLegend(state, latest, mode) {
    const now = performance.now();
    if (now - legendAt < 250) return; // text changes every frame while training: 4 updates/s read better
    // pooling and flatten layers have no parameters, so no gradient to flag
    const learns = latest.map((_, k) => Object.keys(state.architecture?.layers?.[k]?.params || { W: 0 }).length > 0);
    const flags = latest.map(() => null);
    if (mode === "grad") {
      const ks = latest.map((_, k) => k).filter((k) => learns[k]);
      gradientFlags(ks.map((k) => latest[k])).forEach((f, i) => (flags[ks[i]] = f));
    }
    const n = latest.length;
    const key = JSON.stringify([latest.map((v) => formatSig(v, 2)), flags]);
    if (key === legendKey) return;
    legendKey = key;
    legendAt = now;
    el.legend.replaceChildren(
      ...latest.map((v, k) => {
        const item = document.createElement("span");
        const sw = document.createElement("span");
        sw.className = "sw";
        sw.style.background = layerColour(k, n);
        item.append(sw, `${k === n - 1 ? "out" : `L${k + 1}`} ${formatSig(v, 2)}`);
        if (flags[k]) {
          const f = document.createElement("span");
          f.className = `flag ${flags[k]}`;
          f.textContent = flags[k];
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
