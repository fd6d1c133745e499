// Loss curves (the per-step batch loss, the evaluated train and test loss) or, for
// classification, the evaluated train and test accuracy; the learning rate (schedule)
// in a strip underneath. Hover reads exact values.

import { extent, formatSig, linearScale, logScale } from "../scales.js";
import { fitCanvas, polylineDecimated } from "../draw.js";
import { drawFrame, drawCrosshair } from "./chartFrame.js";

export const LOSS_COLOURS = { batch: "rgba(123,132,151,0.55)", train: "#1b5fa6", test: "#c66a0a", lr: "#6b4fa0" };

const LABELS = {
  loss: "Loss curves: training and test loss, batch loss, and the learning rate",
  accuracy: "Accuracy curves: training and test accuracy, and the learning rate",
};

/** True when the run's evaluations report an accuracy, i.e. the task is classification. Pure. */
export function hasAccuracy(state) {
  const ev = state.eval;
  return !!ev && (Number.isFinite(ev.test_accuracy) || Number.isFinite(ev.train_accuracy));
}

/**
 * The accuracy axis for values spanning [lo, hi] (fractions, or null when there are
 * none): up to 100 %, down to a round 10 % at least 2 points below the lowest value,
 * so progress near 100 % stays visible. Pure.
 */
export function accuracyDomain(range) {
  if (!range) return [0, 1];
  const lo = Math.max(0, Math.floor((range[0] - 0.02) * 10) / 10);
  return [Math.min(lo, 0.9), Math.max(1, range[1])];
}

/** 0.973 → "97.3%"; "—" for a value not known. */
export function formatPercent(v) {
  return Number.isFinite(v) ? `${formatSig(v * 100, 3)}%` : "—";
}

/** min/max over several [lo, hi] extents (nulls skipped); null when none. */
function union(exts) {
  let r = null;
  for (const e of exts) if (e) r = r ? [Math.min(r[0], e[0]), Math.max(r[1], e[1])] : [e[0], e[1]];
  return r;
}

export function createLossChart(el) {
  // The loss | accuracy switch and the log box sit in the same card as the canvas.
  const card = el.canvas.closest(".card");
  const modes = el.modes || card?.querySelector("[data-loss-chart-modes]") || null;
  const logBox = el.log || card?.querySelector("#log-scale") || null;
  let mode = "loss"; // what the user picked; accuracy is shown only when the run has it
  let shown = null; // what was drawn last, so the DOM is written only when it changes
  let switchShown = null;
  let hoverX = null;
  let geom = null;
  let readout = null;

  el.canvas.addEventListener("mousemove", (ev) => {
    const r = el.canvas.getBoundingClientRect();
    hoverX = ev.clientX - r.left;
    el.onChange?.();
  });
  el.canvas.addEventListener("mouseleave", () => {
    hoverX = null;
    el.onChange?.();
  });
  for (const b of modes?.querySelectorAll("[data-loss-chart]") || []) {
    b.addEventListener("click", () => {
      mode = b.dataset.lossChart;
      for (const o of modes.querySelectorAll("[data-loss-chart]")) o.setAttribute("aria-checked", String(o === b));
      el.onChange?.();
    });
  }

  function syncDom(state, accuracy) {
    const canSwitch = hasAccuracy(state);
    if (modes && canSwitch !== switchShown) {
      switchShown = canSwitch;
      modes.hidden = !canSwitch;
    }
    const now = accuracy ? "accuracy" : "loss";
    if (now === shown) return;
    shown = now;
    el.canvas.setAttribute("aria-label", LABELS[now]);
    // a log axis means nothing for a fraction between 0 and 1
    if (logBox) {
      logBox.disabled = accuracy;
      logBox.closest("label")?.classList.toggle("off", accuracy);
    }
  }

  function draw(state) {
    const { ctx, w, h } = fitCanvas(el.canvas);
    ctx.clearRect(0, 0, w, h);
    const accuracy = mode === "accuracy" && hasAccuracy(state);
    syncDom(state, accuracy);
    const p = state.ui.presenter ? 1.3 : 1;
    const font = Math.round(10 * p);
    const left = 40 * p;
    const lrH = Math.round(h * 0.2);
    const box = { x: left, y: 6, w: w - left - 8, h: h - lrH - 6 - 16 * p };
    const lrBox = { x: left, y: box.y + box.h + 16 * p, w: box.w, h: lrH - 4 };
    const loss = state.loss;
    const evals = state.evals;
    const steps = loss.steps.subarray(0, loss.length);
    const batch = loss.column("loss");
    const lr = loss.column("lr");
    const tr = evals.column(accuracy ? "train_accuracy" : "train_loss");
    const te = evals.column(accuracy ? "test_accuracy" : "test_loss");
    const es = evals.steps.subarray(0, evals.length);
    const x1 = Math.max(10, state.step, loss.length ? steps[loss.length - 1] : 0);
    const log = !accuracy && state.ui.logScale;
    // Extra curves (a fork's parent, a run's forks) and step markers (time travel): el.extras(state).
    // The curves are losses, so an accuracy chart keeps only the markers.
    const extras = el.extras?.(state) || null;
    const curves = accuracy ? [] : extras?.curves || [];
    const ys = accuracy ? [extent(tr), extent(te)] : [extent(batch, log), extent(tr, log), extent(te, log)];
    for (const c of curves) ys.push(extent(c.values, log));
    const range = union(ys);
    if (!range) {
      ctx.fillStyle = "#7b8497";
      ctx.font = `${font + 1}px system-ui, sans-serif`;
      ctx.textAlign = "center";
      ctx.fillText(accuracy ? "accuracy appears after the first evaluation" : "press play or step to train", w / 2, h / 2);
      geom = null;
      readout = null;
      return;
    }
    let [lo, hi] = accuracy ? accuracyDomain(range) : range;
    if (!accuracy && !log) lo = Math.min(0, lo);
    if (log && hi / lo < 10) {
      lo /= 3;
      hi *= 3;
    }
    const { sx, sy } = drawFrame(ctx, box, [0, x1], [lo, hi], { log, font, yFormat: accuracy ? formatPercent : null });
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.x, box.y - 2, box.w, box.h + 4);
    ctx.clip();
    ctx.lineJoin = "round";
    if (!accuracy) {
      ctx.lineWidth = 1;
      ctx.strokeStyle = LOSS_COLOURS.batch;
      polylineDecimated(ctx, steps, batch, sx, sy, loss.length, box.w);
    }
    ctx.lineWidth = 2 * p;
    ctx.strokeStyle = LOSS_COLOURS.test;
    polylineDecimated(ctx, es, te, sx, sy, evals.length, box.w);
    ctx.strokeStyle = LOSS_COLOURS.train;
    polylineDecimated(ctx, es, tr, sx, sy, evals.length, box.w);
    if (accuracy && evals.length) {
      // the latest evaluation as dots: a lone first point draws no line
      const i = evals.length - 1;
      for (const [v, colour] of [[te[i], LOSS_COLOURS.test], [tr[i], LOSS_COLOURS.train]]) {
        if (!Number.isFinite(v)) continue;
        ctx.fillStyle = colour;
        ctx.beginPath();
        ctx.arc(sx(es[i]), sy(v), 2.5 * p, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    for (const c of curves) {
      ctx.strokeStyle = c.colour;
      ctx.lineWidth = (c.width || 1.5) * p;
      ctx.setLineDash(c.dash || []);
      polylineDecimated(ctx, c.steps, c.values, sx, sy, c.steps.length, box.w);
    }
    ctx.setLineDash([]);
    ctx.restore();

    // learning-rate strip
    const lrExt = extent(lr, true);
    ctx.font = `${font}px system-ui, sans-serif`;
    ctx.fillStyle = LOSS_COLOURS.lr;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.fillText("lr", lrBox.x - 4, lrBox.y + lrBox.h / 2);
    if (lrExt) {
      const [a, b] = lrExt;
      const syl = b / a < 1.0001 ? linearScale([a * 0.5, a * 1.5], [lrBox.y + lrBox.h, lrBox.y]) : logScale([a, b], [lrBox.y + lrBox.h, lrBox.y]);
      ctx.fillStyle = "rgba(107,79,160,0.08)";
      ctx.fillRect(lrBox.x, lrBox.y, lrBox.w, lrBox.h);
      ctx.strokeStyle = LOSS_COLOURS.lr;
      ctx.lineWidth = 1.5 * p;
      polylineDecimated(ctx, steps, lr, sx, syl, loss.length, box.w);
      ctx.textAlign = "left";
      ctx.fillStyle = LOSS_COLOURS.lr;
      ctx.fillText(formatSig(lr[lr.length - 1], 3), lrBox.x + 4, lrBox.y + lrBox.h / 2);
    }
    geom = { box, sx, sy, mode: accuracy ? "accuracy" : "loss" };
    for (const m of extras?.markers || []) {
      const x = Math.round(sx(m.step)) + 0.5;
      if (x < box.x - 1 || x > box.x + box.w + 1) continue;
      ctx.strokeStyle = m.colour;
      ctx.lineWidth = m.strong ? 2 * p : 1;
      ctx.setLineDash(m.strong ? [] : [2, 3]);
      ctx.beginPath();
      ctx.moveTo(x, box.y);
      ctx.lineTo(x, lrBox.y + lrBox.h);
      ctx.stroke();
      ctx.setLineDash([]);
      if (m.label) {
        const tw = ctx.measureText(m.label).width;
        const right = x > box.x + box.w - tw - 10;
        const lx = right ? x - tw - 5 : x + 3;
        const ly = box.y + box.h - font - 4;
        ctx.fillStyle = "rgba(255,255,255,0.85)";
        ctx.fillRect(lx - 1, ly - 1, tw + 3, font + 3);
        ctx.fillStyle = m.colour;
        ctx.textBaseline = "top";
        ctx.textAlign = "left";
        ctx.fillText(m.label, lx, ly);
      }
    }

    // legend: top right, where losses have fallen away from; bottom right for accuracy,
    // which climbs towards the top
    ctx.textAlign = "right";
    ctx.textBaseline = accuracy ? "bottom" : "top";
    const ly = accuracy ? box.y + box.h - 2 : box.y + 2;
    let lx = box.x + box.w - 2;
    const legend = [["test", LOSS_COLOURS.test], ["train", LOSS_COLOURS.train]];
    if (!accuracy) legend.push(["batch", "#9aa2b3"]);
    for (const [label, colour] of legend) {
      ctx.fillStyle = colour;
      ctx.fillText(label, lx, ly);
      lx -= ctx.measureText(label).width + 10;
    }

    readout = null;
    if (hoverX !== null && hoverX >= box.x && hoverX <= box.x + box.w) {
      drawCrosshair(ctx, { ...box, h: lrBox.y + lrBox.h - box.y }, hoverX);
      const step = Math.round(sx.invert(hoverX));
      const i = loss.nearest(step);
      const j = evals.nearest(step);
      const rows = [];
      if (accuracy) {
        if (j >= 0) {
          rows.push([`step ${Math.round(es[j])}`, "#1d2330"]);
          rows.push([`train ${formatPercent(tr[j])}`, LOSS_COLOURS.train]);
          rows.push([`test ${formatPercent(te[j])}`, LOSS_COLOURS.test]);
        }
      } else {
        if (i >= 0) rows.push([`step ${Math.round(loss.steps[i])}`, "#1d2330"], [`batch ${formatSig(batch[i], 4)}`, "#7b8497"]);
        if (j >= 0) {
          rows.push([`train ${formatSig(tr[j], 4)} @${Math.round(es[j])}`, LOSS_COLOURS.train]);
          rows.push([`test ${formatSig(te[j], 4)}`, LOSS_COLOURS.test]);
        }
      }
      if (i >= 0) rows.push([`lr ${formatSig(lr[i], 3)}`, LOSS_COLOURS.lr]);
      if (rows.length) drawReadout(ctx, rows, hoverX, box.y + 14, w, font);
      readout = rows.map(([t]) => t);
    }
  }

  return {
    update: draw,
    reset() {
      hoverX = null;
      readout = null;
    },
    /** The plot box and scales last drawn (null before any data), for overlays and tests. */
    get geometry() {
      return geom;
    },
    /** The hover read-out's lines as last drawn (null when not hovering). */
    get readout() {
      return readout;
    },
  };
}

/** The hover read-out: a box of coloured text rows beside the cross-hair. */
function drawReadout(ctx, rows, hoverX, top, w, font) {
  const lh = font + 4;
  const bw = Math.max(...rows.map(([t]) => ctx.measureText(t).width)) + 12;
  const bx = hoverX + 8 + bw > w ? hoverX - bw - 8 : hoverX + 8;
  ctx.fillStyle = "rgba(255,255,255,0.94)";
  ctx.strokeStyle = "#cfd4de";
  ctx.fillRect(bx, top, bw, rows.length * lh + 6);
  ctx.strokeRect(bx + 0.5, top + 0.5, bw, rows.length * lh + 6);
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  rows.forEach(([t, c], k) => {
    ctx.fillStyle = c;
    ctx.fillText(t, bx + 6, top + 4 + k * lh);
  });
}
