// Loss curves: the per-step batch loss, the evaluated train and test loss, and
// the learning rate (schedule) in a strip underneath. Hover reads exact values.

import { extent, formatSig, linearScale, logScale } from "../scales.js";
import { fitCanvas, polylineDecimated } from "../draw.js";
import { drawFrame, drawCrosshair } from "./chartFrame.js";

export const LOSS_COLOURS = { batch: "rgba(123,132,151,0.55)", train: "#1b5fa6", test: "#c66a0a", lr: "#6b4fa0" };

export function createLossChart(el) {
  let hoverX = null;
  let geom = null;
  el.canvas.addEventListener("mousemove", (ev) => {
    const r = el.canvas.getBoundingClientRect();
    hoverX = ev.clientX - r.left;
    el.onChange?.();
  });
  el.canvas.addEventListener("mouseleave", () => {
    hoverX = null;
    el.onChange?.();
  });

  function draw(state) {
    const { ctx, w, h } = fitCanvas(el.canvas);
    ctx.clearRect(0, 0, w, h);
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
    const tr = evals.column("train_loss");
    const te = evals.column("test_loss");
    const es = evals.steps.subarray(0, evals.length);
    const x1 = Math.max(10, state.step, loss.length ? steps[loss.length - 1] : 0);
    const log = state.ui.logScale;
    const ys = [extent(batch, log), extent(tr, log), extent(te, log)].filter(Boolean);
    // Extra curves (a fork's parent, a run's forks) and step markers (time travel): el.extras(state).
    const extras = el.extras?.(state) || null;
    for (const c of extras?.curves || []) {
      const e = extent(c.values, log);
      if (e) ys.push(e);
    }
    if (!ys.length) {
      ctx.fillStyle = "#7b8497";
      ctx.font = `${font + 1}px system-ui, sans-serif`;
      ctx.textAlign = "center";
      ctx.fillText("press play or step to train", w / 2, h / 2);
      geom = null;
      return;
    }
    let lo = Math.min(...ys.map((e) => e[0]));
    let hi = Math.max(...ys.map((e) => e[1]));
    if (!log) lo = Math.min(0, lo);
    if (log && hi / lo < 10) {
      lo /= 3;
      hi *= 3;
    }
    const xDomain = [0, x1];
    const { sx, sy } = drawFrame(ctx, box, xDomain, [lo, hi], { log, font });
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.x, box.y - 2, box.w, box.h + 4);
    ctx.clip();
    ctx.lineJoin = "round";
    ctx.lineWidth = 1;
    ctx.strokeStyle = LOSS_COLOURS.batch;
    polylineDecimated(ctx, steps, batch, sx, sy, loss.length, box.w);
    ctx.lineWidth = 2 * p;
    ctx.strokeStyle = LOSS_COLOURS.test;
    polylineDecimated(ctx, es, te, sx, sy, evals.length, box.w);
    ctx.strokeStyle = LOSS_COLOURS.train;
    polylineDecimated(ctx, es, tr, sx, sy, evals.length, box.w);
    for (const c of extras?.curves || []) {
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
    geom = { box, sx };
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

    // legend
    ctx.textAlign = "right";
    ctx.textBaseline = "top";
    let lx = box.x + box.w - 2;
    for (const [label, colour] of [["test", LOSS_COLOURS.test], ["train", LOSS_COLOURS.train], ["batch", "#9aa2b3"]]) {
      ctx.fillStyle = colour;
      ctx.fillText(label, lx, box.y + 2);
      lx -= ctx.measureText(label).width + 10;
    }

    if (hoverX !== null && hoverX >= box.x && hoverX <= box.x + box.w) {
      drawCrosshair(ctx, { ...box, h: lrBox.y + lrBox.h - box.y }, hoverX);
      const step = Math.round(sx.invert(hoverX));
      const i = loss.nearest(step);
      const j = evals.nearest(step);
      const rows = [];
      if (i >= 0) rows.push([`step ${Math.round(loss.steps[i])}`, "#1d2330"], [`batch ${formatSig(batch[i], 4)}`, "#7b8497"]);
      if (j >= 0) {
        rows.push([`train ${formatSig(tr[j], 4)} @${Math.round(es[j])}`, LOSS_COLOURS.train]);
        rows.push([`test ${formatSig(te[j], 4)}`, LOSS_COLOURS.test]);
      }
      if (i >= 0) rows.push([`lr ${formatSig(lr[i], 3)}`, LOSS_COLOURS.lr]);
      const lh = font + 4;
      const bw = Math.max(...rows.map(([t]) => ctx.measureText(t).width)) + 12;
      const bx = hoverX + 8 + bw > w ? hoverX - bw - 8 : hoverX + 8;
      ctx.fillStyle = "rgba(255,255,255,0.94)";
      ctx.strokeStyle = "#cfd4de";
      ctx.fillRect(bx, box.y + 14, bw, rows.length * lh + 6);
      ctx.strokeRect(bx + 0.5, box.y + 14.5, bw, rows.length * lh + 6);
      ctx.textAlign = "left";
      rows.forEach(([t, c], k) => {
        ctx.fillStyle = c;
        ctx.fillText(t, bx + 6, box.y + 18 + k * lh);
      });
    }
  }

  return {
    update: draw,
    reset() {
      hoverX = null;
    },
    get geometry() {
      return geom;
    },
  };
}
