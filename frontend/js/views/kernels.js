// The kernels row of the CNN view: every conv layer's kernels — filters across, input
// channels down — coloured by W, ∂L/∂W or ΔW on one scale per layer, the selected filter or
// entry outlined. Returns the hit regions (one per kernel tile).

import { divergingLUT } from "../colors.js";
import { fitCanvas } from "../draw.js";
import { blit } from "../tiles.js";
import { maxAbsOf } from "../maps.js";
import { placeholder, frame, outlineCells } from "./widgets.js";

const LUT = divergingLUT();

/** Draw the kernels of `state`'s conv layers (mode "W" | "grad" | "update") into `canvas`. */
export function drawKernels(canvas, tiles, state, mode) {
  const { ctx, w, h } = fitCanvas(canvas);
  ctx.clearRect(0, 0, w, h);
  const regions = [];
  const arch = state.architecture;
  const convs = arch.layers.map((l, k) => [l, k]).filter(([l]) => l.type === "conv2d");
  if (!convs.length) return regions;
  const sel = state.ui.spatial?.selected;
  // one tile size per block from the height (channels down), all scaled down together to fit the width
  const top = 20;
  const blocks = convs.map(([spec]) => {
    const [F, C, kh, kw] = spec.params.W;
    const shownC = Math.min(C, 6);
    const size = Math.max(6, (h - top - 4 * (shownC - 1) - 2) / shownC);
    return { F, shownC, size, width: F * (size * (kw / kh) + 4) };
  });
  const room = w - 16 * (convs.length - 1);
  const shrink = Math.min(1, room / blocks.reduce((a, b) => a + b.width, 0));
  let x0 = 0;
  convs.forEach(([spec, k], bi) => {
    const L = state.layers[k] || {};
    const key = mode === "grad" ? "grad_W" : mode === "update" ? "update_W" : "W";
    const arr = L[key];
    const [F, C, kh, kw] = spec.params.W;
    const { shownC } = blocks[bi];
    const size = Math.max(4, Math.floor(blocks[bi].size * shrink));
    const blockX = x0;
    x0 += Math.max(blocks[bi].width * shrink, 200) + 16;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#4a5366";
    ctx.textAlign = "left";
    const what = mode === "grad" ? "∂L/∂W" : mode === "update" ? "ΔW" : "W";
    ctx.fillText(`layer ${k + 1}: ${what} [${F}, ${C}, ${kh}, ${kw}]${C > shownC ? ` (channels 0–${shownC - 1})` : ""}`, blockX, 12);
    const tw = Math.max(3, Math.floor(size * (kw / kh)));
    const scale = arr ? maxAbsOf(arr.data) || 1 : 1;
    for (let f = 0; f < F; f++) {
      for (let c = 0; c < shownC; c++) {
        const tx = blockX + f * (tw + 4);
        const ty = top + c * (size + 4);
        const offset = (f * C + c) * kh * kw;
        if (arr) blit(ctx, tiles.heat(`K${k}:${f}:${c}:${key}`, kw, kh, arr.data, LUT, 0, scale, { offset }), tx, ty, tw, size);
        else placeholder(ctx, tx, ty, tw, size);
        frame(ctx, tx, ty, tw, size);
        regions.push({ kind: "kernel", layer: k, index: f, channel: c, x: tx, y: ty, w: tw, h: size, rows: kh, cols: kw, values: arr?.data, offset, label: `layer ${k + 1} kernel ${f} · channel ${c}`, quantity: what });
        if (sel && sel.layer === k && ((sel.kind === "conv" && sel.filter === f) || (sel.kind === "kernel" && sel.filter === f && sel.channel === c))) {
          if (sel.kind === "kernel") outlineCells(ctx, tx, ty, tw, size, kh, kw, [sel.i, sel.i], [sel.j, sel.j], "#c66a0a", 2.5);
          else {
            ctx.strokeStyle = "#c66a0a";
            ctx.lineWidth = 2;
            ctx.strokeRect(tx - 1.5, ty - 1.5, tw + 3, size + 3);
          }
        }
      }
    }
  });
  return regions;
}
