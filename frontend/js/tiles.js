// Offscreen w×h heat tiles for the CNN / RNN views: fill an ImageData from values through
// the diverging LUT (or greyscale), then drawImage it scaled without smoothing, so each
// value stays a crisp cell. One canvas per slot, reused across frames.

import { lutIndex, MISSING } from "./colors.js";

export class RectTiles {
  constructor() {
    this.slots = new Map();
  }

  tile(slot, w, h) {
    let t = this.slots.get(slot);
    if (!t || t.w !== w || t.h !== h) {
      const canvas = document.createElement("canvas");
      canvas.width = w;
      canvas.height = h;
      const ctx = canvas.getContext("2d");
      t = { w, h, canvas, ctx, image: ctx.createImageData(w, h) };
      this.slots.set(slot, t);
    }
    return t;
  }

  /**
   * Paint `values` (row-major h×w, or any accessor `at(p)`) through `lut` with t = (v − center)/scale.
   * `transpose`: values are w×h (column-major): used to draw units × time from (T, U) arrays.
   */
  heat(slot, w, h, values, lut, center = 0, scale = 1, { offset = 0, stride = null, transpose = false } = {}) {
    const t = this.tile(slot, w, h);
    const d = t.image.data;
    const inv = scale > 0 ? 1 / scale : 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = y * w + x;
        const src = transpose ? offset + x * (stride ?? h) + y : offset + p;
        const i = lutIndex((values[src] - center) * inv);
        const o = p * 4;
        if (i < 0) {
          d[o] = MISSING[0];
          d[o + 1] = MISSING[1];
          d[o + 2] = MISSING[2];
        } else {
          d[o] = lut[i * 4];
          d[o + 1] = lut[i * 4 + 1];
          d[o + 2] = lut[i * 4 + 2];
        }
        d[o + 3] = 255;
      }
    }
    t.ctx.putImageData(t.image, 0, 0);
    return t.canvas;
  }

  /** Greyscale: lo → white, hi → near-black (ink on paper, like the digits). */
  grey(slot, w, h, values, lo = 0, hi = 1, offset = 0) {
    const t = this.tile(slot, w, h);
    const d = t.image.data;
    const span = hi - lo || 1;
    for (let p = 0; p < w * h; p++) {
      const v = values[offset + p];
      const o = p * 4;
      const k = Number.isFinite(v) ? Math.round(250 - 225 * Math.max(0, Math.min(1, (v - lo) / span))) : 150;
      d[o] = k;
      d[o + 1] = k;
      d[o + 2] = k + 3;
      d[o + 3] = 255;
    }
    t.ctx.putImageData(t.image, 0, 0);
    return t.canvas;
  }
}

/** Draw a tile canvas into a rectangle with crisp cells. */
export function blit(ctx, tile, x, y, w, h) {
  const smooth = ctx.imageSmoothingEnabled;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tile, x, y, w, h);
  ctx.imageSmoothingEnabled = smooth;
}
