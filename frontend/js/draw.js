// Small Canvas 2D helpers shared by the views (DPR-aware sizing, heatmap tiles,
// axes). They draw; they hold no state of the page.

import { fillHeat } from "./colors.js";

/** Size a canvas's backing store to its CSS box × devicePixelRatio; returns {ctx, w, h, dpr}. */
export function fitCanvas(canvas) {
  const dpr = Math.min(3, window.devicePixelRatio || 1);
  const w = Math.max(1, Math.round(canvas.clientWidth));
  const h = Math.max(1, Math.round(canvas.clientHeight));
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, w, h, dpr };
}

/**
 * A reusable r×r offscreen tile: fill it from values (through a colour LUT),
 * then drawImage it scaled. Keeps one canvas + ImageData per slot.
 */
export class TileCache {
  constructor() {
    this.tiles = [];
  }

  tile(slot, r) {
    let t = this.tiles[slot];
    if (!t || t.r !== r) {
      const canvas = document.createElement("canvas");
      canvas.width = r;
      canvas.height = r;
      const ctx = canvas.getContext("2d");
      t = this.tiles[slot] = { r, canvas, ctx, image: ctx.createImageData(r, r) };
    }
    return t;
  }

  /** Fill slot from `values` (length r·r) and return its canvas. */
  paint(slot, r, values, lut, center, scale, alpha = 255) {
    const t = this.tile(slot, r);
    fillHeat(values, t.image.data, lut, center, scale, alpha);
    t.ctx.putImageData(t.image, 0, 0);
    return t.canvas;
  }

  /** Fill slot with per-pixel RGBA computed by fn(index) → [r, g, b, a]. */
  paintWith(slot, r, n, fn) {
    const t = this.tile(slot, r);
    const d = t.image.data;
    for (let p = 0; p < n; p++) {
      const c = fn(p);
      d[p * 4] = c[0];
      d[p * 4 + 1] = c[1];
      d[p * 4 + 2] = c[2];
      d[p * 4 + 3] = c[3] ?? 255;
    }
    t.ctx.putImageData(t.image, 0, 0);
    return t.canvas;
  }
}

/** Rounded rectangle path. */
export function roundRect(ctx, x, y, w, h, r) {
  const rr = Math.min(r, w / 2, h / 2);
  ctx.beginPath();
  ctx.moveTo(x + rr, y);
  ctx.arcTo(x + w, y, x + w, y + h, rr);
  ctx.arcTo(x + w, y + h, x, y + h, rr);
  ctx.arcTo(x, y + h, x, y, rr);
  ctx.arcTo(x, y, x + w, y, rr);
  ctx.closePath();
}

/** The page's CSS custom property value (for canvas colours that follow the theme). */
export function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** Draw a polyline of (xs[i], ys[i]) through the scales, skipping non-finite points. */
export function polyline(ctx, xs, ys, sx, sy, n = xs.length) {
  ctx.beginPath();
  let pen = false;
  for (let i = 0; i < n; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) {
      pen = false;
      continue;
    }
    const px = sx(xs[i]);
    const py = sy(y);
    if (pen) ctx.lineTo(px, py);
    else ctx.moveTo(px, py);
    pen = true;
  }
  ctx.stroke();
}

/**
 * The same polyline reduced to at most ~2 points per pixel column (min and max),
 * so drawing stays cheap however many points a series holds.
 */
export function polylineDecimated(ctx, xs, ys, sx, sy, n, width) {
  if (n <= width * 2) return polyline(ctx, xs, ys, sx, sy, n);
  ctx.beginPath();
  let col = -Infinity;
  let lo = Infinity;
  let hi = -Infinity;
  let pen = false;
  const flush = () => {
    if (col === -Infinity || lo === Infinity) return;
    if (pen) ctx.lineTo(col, sy(lo));
    else ctx.moveTo(col, sy(lo));
    ctx.lineTo(col, sy(hi));
    pen = true;
  };
  for (let i = 0; i < n; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) continue;
    const px = Math.round(sx(xs[i]));
    if (px !== col) {
      flush();
      col = px;
      lo = hi = y;
    } else {
      if (y < lo) lo = y;
      if (y > hi) hi = y;
    }
  }
  flush();
  ctx.stroke();
}
