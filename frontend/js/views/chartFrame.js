// The frame every line chart shares: plot box, grid, tick labels, a hover
// cross-hair. Drawing only.

import { linearScale, logScale, linearTicks, logTicks, formatTick, pad } from "../scales.js";

/**
 * Scales and grid for a plot box. `yFormat(v)` overrides the y tick labels (e.g. percent).
 * Tick labels stay inside the canvas: the top y label is nudged down, an x label that
 * would run past the box's right edge ends at its tick, and one that would collide
 * with the label before it is left out.
 * @returns {{sx, sy, yDomain}}
 */
export function drawFrame(ctx, box, xDomain, yDomain, { log = false, font = 10, yTicks = 4, xTicks = 5, yFormat = null } = {}) {
  const [y0, y1] = log ? [yDomain[0], yDomain[1]] : pad(yDomain, 0.06);
  const sx = linearScale(xDomain, [box.x, box.x + box.w]);
  const sy = (log ? logScale : linearScale)([y0, y1], [box.y + box.h, box.y]);
  ctx.save();
  ctx.font = `${font}px system-ui, sans-serif`;
  ctx.strokeStyle = "#eceef3";
  ctx.lineWidth = 1;
  ctx.fillStyle = "#7b8497";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const yt = log ? logTicks(y0, y1, yTicks) : linearTicks(y0, y1, yTicks);
  for (const t of yt) {
    const y = Math.round(sy(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(box.x, y);
    ctx.lineTo(box.x + box.w, y);
    ctx.stroke();
    ctx.fillText(yFormat ? yFormat(t) : formatTick(t, log), box.x - 4, Math.max(y, font * 0.6));
  }
  ctx.textBaseline = "top";
  const xt = linearTicks(xDomain[0], xDomain[1], xTicks).filter((t) => Number.isInteger(t));
  const labels = xt.map((t) => formatTick(t));
  const starts = xLabelStarts(
    xt.map((t) => sx(t)),
    labels.map((l) => ctx.measureText(l).width),
    box.x + box.w,
  );
  ctx.textAlign = "left";
  labels.forEach((l, i) => starts[i] !== null && ctx.fillText(l, starts[i], box.y + box.h + 3));
  ctx.strokeStyle = "#cfd4de";
  ctx.beginPath();
  ctx.moveTo(box.x, box.y + box.h + 0.5);
  ctx.lineTo(box.x + box.w, box.y + box.h + 0.5);
  ctx.stroke();
  ctx.restore();
  return { sx, sy, yDomain: [y0, y1] };
}

/**
 * Left edges for x tick labels centred under their ticks at `xs` with widths `ws`:
 * a label that would run past `right` ends at its tick instead, and one that would
 * come within `gap` px of the label before it gets null (not drawn). Pure.
 */
export function xLabelStarts(xs, ws, right, gap = 4) {
  let prevEnd = -Infinity;
  return xs.map((x, i) => {
    const start = x + ws[i] / 2 > right ? x - ws[i] : x - ws[i] / 2;
    if (start < prevEnd + gap) return null;
    prevEnd = start + ws[i];
    return start;
  });
}

/** A vertical hover line at x. */
export function drawCrosshair(ctx, box, x) {
  ctx.save();
  ctx.strokeStyle = "rgba(29,35,48,0.35)";
  ctx.setLineDash([3, 3]);
  ctx.beginPath();
  ctx.moveTo(Math.round(x) + 0.5, box.y);
  ctx.lineTo(Math.round(x) + 0.5, box.y + box.h);
  ctx.stroke();
  ctx.restore();
}
