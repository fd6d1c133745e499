// Small Canvas 2D helpers shared by the views (DPR-aware sizing, heatmap tiles,
// axes). They draw; they hold no state of the page.

import { fillHeat } from "./colors.js";

// Each canvas's CSS size, kept by one ResizeObserver. Reading clientWidth in the drawing
// loop would force a synchronous layout whenever a view has just written text (the step
// count does, every frame): a second layout per frame, ~1 ms of the main thread.
const cssSizes = new WeakMap();
let sizeObserver = null;
let resized = () => {};

/** Call fn whenever an observed canvas changes size (the page redraws then). */
export function onCanvasResize(fn) {
  resized = fn;
}

function cssSize(canvas) {
  let size = cssSizes.get(canvas);
  // Not observed yet, or hidden when last seen: read it once (the observer reports the rest).
  if (!size || !size.w || !size.h) {
    size = { w: canvas.clientWidth, h: canvas.clientHeight };
    cssSizes.set(canvas, size);
    if (typeof ResizeObserver !== "undefined") {
      sizeObserver ||= new ResizeObserver((entries) => {
        for (const e of entries) cssSizes.set(e.target, { w: e.target.clientWidth, h: e.target.clientHeight });
        resized();
      });
      sizeObserver.observe(canvas);
    }
  }
  return size;
}

/** Size a canvas's backing store to its CSS box × devicePixelRatio; returns {ctx, w, h, dpr}. */
export function fitCanvas(canvas) {
  const dpr = Math.min(3, window.devicePixelRatio || 1);
  const size = cssSize(canvas);
  const w = Math.max(1, Math.round(size.w));
  const h = Math.max(1, Math.round(size.h));
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

/**
 * Stroke `path` ctx.lineWidth wide as hairlines stacked ≤ 1 px apart vertically.
 * Software rasterisers (Chromium without a GPU) stroke a jagged path wider than
 * 1 px ~10× slower than a hairline: 7 noisy 300-point series took 3.7 ms per frame
 * at 1.6 px, 0.5 ms as two hairlines. For the mostly horizontal lines of a time-series
 * chart the band looks the same; dashed lines are stroked as they are.
 */
export function strokeBand(ctx, path) {
  const width = ctx.lineWidth;
  if (width <= 1.2 || ctx.getLineDash().length > 0) {
    ctx.stroke(path);
    return;
  }
  const span = width - 1;
  const lines = Math.ceil(span) + 1;
  ctx.lineWidth = 1;
  for (let i = 0; i < lines; i++) {
    const dy = -span / 2 + (span * i) / (lines - 1);
    ctx.translate(0, dy);
    ctx.stroke(path);
    ctx.translate(0, -dy);
  }
  ctx.lineWidth = width;
}

/** Draw a polyline of (xs[i], ys[i]) through the scales, skipping non-finite points. */
export function polyline(ctx, xs, ys, sx, sy, n = xs.length) {
  const path = new Path2D();
  let pen = false;
  for (let i = 0; i < n; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) {
      pen = false;
      continue;
    }
    const px = sx(xs[i]);
    const py = sy(y);
    if (pen) path.lineTo(px, py);
    else path.moveTo(px, py);
    pen = true;
  }
  strokeBand(ctx, path);
}

/**
 * The same polyline reduced to at most ~2 points per pixel column (min and max),
 * so drawing stays cheap however many points a series holds.
 */
export function polylineDecimated(ctx, xs, ys, sx, sy, n, width) {
  if (n <= width * 2) return polyline(ctx, xs, ys, sx, sy, n);
  const path = new Path2D();
  let col = -Infinity;
  let lo = Infinity;
  let hi = -Infinity;
  let pen = false;
  const flush = () => {
    if (col === -Infinity || lo === Infinity) return;
    if (pen) path.lineTo(col, sy(lo));
    else path.moveTo(col, sy(lo));
    path.lineTo(col, sy(hi));
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
  strokeBand(ctx, path);
}
