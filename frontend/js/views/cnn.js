// The CNN view: one batch sample flowing through the network — the input image and its
// gradient ∂L/∂x, every conv / pool layer's feature maps (a, z or δ), dense units, the output
// probabilities against the target — and below, every kernel with its gradient or update.
// Click a map position, a kernel entry or an input-gradient pixel for the sliding-kernel
// explanation. Draws from state.layers (the frames' `L{k}.*` arrays) only.

import { divergingLUT, css, categorical } from "../colors.js";
import { fitCanvas } from "../draw.js";
import { formatSig } from "../scales.js";
import { RectTiles, blit } from "../tiles.js";
import { row, backwardOfSample, gridFit, receptiveField, maxAbsOf, targetsFromOutput, beforeUpdate } from "../maps.js";

const LUT = divergingLUT();
const GAP = 26; // between stages
const CAPTION = 30; // above a stage's tiles
const SPATIAL = new Set(["conv2d", "maxpool2d", "avgpool2d"]);

const prod = (s) => s.reduce((n, d) => n * d, 1);

/** The columns of the drawing: input, each conv / pool / dense layer (flatten folds into the arrow). */
export function stagesOf(arch) {
  const stages = [{ kind: "input", layer: -1, shape: arch.input_shape }];
  let pendingFlatten = false;
  arch.layers.forEach((l, k) => {
    if (l.type === "flatten") {
      pendingFlatten = true;
      return;
    }
    const last = k === arch.layers.length - 1;
    const kind = SPATIAL.has(l.type) ? "maps" : last ? "output" : "units";
    stages.push({ kind, layer: k, shape: l.output_shape, spec: l, flattenBefore: pendingFlatten });
    pendingFlatten = false;
  });
  return stages;
}

function stageTitle(st) {
  if (st.kind === "input") return `input ${st.shape.join("×")}`;
  const l = st.spec;
  const [c, h, w] = l.output_shape;
  if (l.type === "conv2d") return `conv ${c}@${h}×${w} · ${l.activation}`;
  if (l.type === "maxpool2d") return `max pool ${l.size} → ${c}@${h}×${w}`;
  if (l.type === "avgpool2d") return `avg pool ${l.size} → ${c}@${h}×${w}`;
  return `${st.kind === "output" ? "output" : "dense"} ${l.output_shape.join("×")} · ${l.activation}`;
}

/**
 * @param {{root: HTMLElement, tooltip: HTMLElement}} el
 * @param {{select(target), ui(): object, setUi(patch)}} hooks
 */
export function createCnnView(el, hooks) {
  const tiles = new RectTiles();
  el.root.replaceChildren();
  const head = div("sx-head");
  const title = span("sx-title", "Feature maps");
  const samplePick = samplePicker(hooks);
  const label = span("sx-label");
  label.dataset.testid = "cnn-label";
  const mapsSeg = seg("Show in the maps", [
    ["a", "a", "activation a = f(z)"],
    ["z", "z", "pre-activation z"],
    ["delta", "δ", "δ = ∂L/∂z (pooling: ∂L/∂a)"],
  ], (v) => hooks.setUi({ maps: v }));
  head.append(title, samplePick.root, label, mapsSeg.root);
  const maps = document.createElement("canvas");
  maps.className = "sx-maps";
  maps.dataset.testid = "cnn-maps";
  maps.setAttribute("role", "img");
  maps.setAttribute("aria-label", "Feature maps of one batch sample, layer by layer; click a position to explain it");
  const khead = div("sx-head");
  const kernelSeg = seg("Show in the kernels", [
    ["W", "W", "the kernel after the step"],
    ["grad", "∂L/∂W", "the kernel's gradient"],
    ["update", "ΔW", "the change the optimizer applied"],
  ], (v) => hooks.setUi({ kernels: v }));
  khead.append(span("sx-title", "Kernels"), kernelSeg.root, span("hint", "filters across, input channels down · click an entry"));
  const kernels = document.createElement("canvas");
  kernels.className = "sx-kernels";
  kernels.dataset.testid = "cnn-kernels";
  kernels.setAttribute("role", "img");
  kernels.setAttribute("aria-label", "Every kernel of every conv layer, coloured by weight, gradient or update");
  const note = document.createElement("p");
  note.className = "sx-note";
  note.hidden = true;
  el.root.append(head, maps, khead, kernels, note);

  let regions = []; // hit regions of the maps canvas
  let kregions = []; // of the kernels canvas
  let shownValues = new Map(); // "layer:index" → values drawn (tests, tooltips)
  let lastState = null;

  // --- hit testing ------------------------------------------------------------------

  function cellAt(list, canvas, ev) {
    const r = canvas.getBoundingClientRect();
    const x = ev.clientX - r.left;
    const y = ev.clientY - r.top;
    for (const g of list) {
      if (x >= g.x && x < g.x + g.w && y >= g.y && y < g.y + g.h) {
        const col = Math.min(g.cols - 1, Math.floor(((x - g.x) / g.w) * g.cols));
        const rw = Math.min(g.rows - 1, Math.floor(((y - g.y) / g.h) * g.rows));
        return { ...g, row: rw, col };
      }
    }
    return null;
  }

  maps.addEventListener("mousemove", (ev) => {
    const hit = cellAt(regions, maps, ev);
    maps.classList.toggle("pointer", !!hit && hit.clickable);
    tooltip(hit, ev);
  });
  maps.addEventListener("mouseleave", () => (el.tooltip.hidden = true));
  maps.addEventListener("click", (ev) => {
    const hit = cellAt(regions, maps, ev);
    if (!hit || !hit.clickable) return;
    if (hit.kind === "map") hooks.select({ kind: "conv", layer: hit.layer, filter: hit.index, row: hit.row, col: hit.col });
    else if (hit.kind === "inputGrad") hooks.select({ kind: "input", layer: 0, channel: hit.index, row: hit.row, col: hit.col });
  });
  kernels.addEventListener("mousemove", (ev) => {
    const hit = cellAt(kregions, kernels, ev);
    kernels.classList.toggle("pointer", !!hit);
    tooltip(hit, ev);
  });
  kernels.addEventListener("mouseleave", () => (el.tooltip.hidden = true));
  kernels.addEventListener("click", (ev) => {
    const hit = cellAt(kregions, kernels, ev);
    if (hit) hooks.select({ kind: "kernel", layer: hit.layer, filter: hit.index, channel: hit.channel, i: hit.row, j: hit.col });
  });

  function tooltip(hit, ev) {
    const tip = el.tooltip;
    if (!hit || !hit.values) {
      tip.hidden = true;
      return;
    }
    const v = hit.values[hit.offset + hit.row * hit.cols + hit.col];
    tip.textContent = `${hit.label} (${hit.row}, ${hit.col})\n${hit.quantity} = ${formatSig(v, 5)}`;
    tip.hidden = false;
    tip.style.left = `${ev.clientX + 14}px`;
    tip.style.top = `${ev.clientY + 12}px`;
  }

  // --- drawing -------------------------------------------------------------------------

  function update(state) {
    lastState = state;
    const arch = state.architecture;
    const ui = hooks.ui();
    mapsSeg.set(ui.maps);
    kernelSeg.set(ui.kernels);
    const X = state.batch?.X;
    const n = X ? X.shape[0] : 0;
    const sample = Math.min(ui.sample, Math.max(0, n - 1));
    samplePick.set(sample, n, state.batch?.indices?.data[sample]);
    const hasTensors = !!state.layers[0]?.a || !!state.layers[0]?.W;
    const tooBig = state.info && state.options?.limits && state.info.parameters > state.options.limits.frame_max_parameters;
    note.hidden = !(tooBig || !X);
    if (tooBig) note.textContent = `This network has ${state.info.parameters} parameters: frames carry the maps of networks up to ${state.options.limits.frame_max_parameters}. Make it smaller to watch it here.`;
    else if (!X) note.textContent = hasTensors ? "Press step (→) or play: the maps of the first batch appear here." : "Waiting for the first frame…";
    drawMaps(state, arch, X ? sample : -1, ui);
    drawKernels(state, arch, ui);
    maps.dataset.step = String(state.step);
    maps.dataset.sample = String(sample);
  }

  function drawMaps(state, arch, sample, ui) {
    const { ctx, w, h } = fitCanvas(maps);
    ctx.clearRect(0, 0, w, h);
    regions = [];
    shownValues = new Map();
    const stages = stagesOf(arch);
    const back = sample >= 0 ? backwardOfSample(arch, state.layers, sample) : { input: null, outputs: [] };
    const outLayer = arch.layers.length - 1;
    const outArr = state.layers[outLayer] || {};
    const targets = sample >= 0 ? targetsFromOutput(arch.loss, arch.layers[outLayer].activation, outArr.a, outArr.delta) : null;
    const target = targets?.kind === "class" ? targets.classes[sample] : targets?.kind === "value" && targets.values.length === outArr.a.data.length ? targets.values[sample] : null;
    const probs = row(outArr.a, sample);
    // widths: spatial stages share what the narrow ones leave
    const weightOf = (st) => (st.kind === "input" ? 0.8 : st.kind === "maps" ? 1.5 : st.kind === "units" ? 0.35 : 1.1);
    const total = stages.reduce((s, st) => s + weightOf(st), 0);
    const avail = w - GAP * (stages.length - 1) - 8;
    let x = 4;
    const font = 11;
    ctx.font = `${font}px system-ui, sans-serif`;
    ctx.textBaseline = "alphabetic";
    const bodyH = h - CAPTION - 6;
    const sel = state.ui.spatial?.selected;
    for (let si = 0; si < stages.length; si++) {
      const st = stages[si];
      const sw = (avail * weightOf(st)) / total;
      ctx.fillStyle = "#1d2330";
      ctx.textAlign = "left";
      ctx.font = `600 ${font}px system-ui, sans-serif`;
      ctx.fillText(clipText(ctx, stageTitle(st), sw), x, 13);
      ctx.font = `${font}px system-ui, sans-serif`;
      ctx.fillStyle = "#7b8497";
      const L = st.layer >= 0 ? state.layers[st.layer] || {} : {};
      if (st.kind === "input") drawInput(ctx, state, sample, back.input, x, sw, bodyH, sel);
      else if (st.kind === "maps") drawStageMaps(ctx, st, L, back.outputs[st.layer], sample, ui.maps, x, sw, bodyH, sel);
      else if (st.kind === "units") drawUnits(ctx, st, L, sample, ui.maps, x, sw, bodyH);
      else drawOutput(ctx, st, L, sample, ui.maps, probs, target, state, x, sw, bodyH);
      if (si < stages.length - 1) {
        const ax = x + sw + GAP / 2;
        ctx.fillStyle = "#9aa3b5";
        ctx.textAlign = "center";
        ctx.font = "15px system-ui, sans-serif";
        ctx.fillText("→", ax, CAPTION + bodyH / 2);
        if (stages[si + 1].flattenBefore) {
          ctx.font = "9.5px system-ui, sans-serif";
          ctx.fillText("flat", ax, CAPTION + bodyH / 2 + 14);
        }
        ctx.font = `${font}px system-ui, sans-serif`;
      }
      x += sw + GAP;
    }
  }

  function modeLabel(spec, mode) {
    if (mode === "z") return spec.type === "conv2d" ? "z" : "a (no z)";
    if (mode === "delta") return spec.type === "conv2d" ? "δ = ∂L/∂z" : "∂L/∂a";
    return "a";
  }

  function drawInput(ctx, state, sample, grad, x, sw, bodyH, sel) {
    const X = sample >= 0 ? row(state.batch.X, sample) : null;
    const shape = state.architecture.input_shape;
    const [C, H, W] = shape.length === 3 ? shape : [1, 1, prod(shape)];
    const channels = Math.min(C, 3);
    // two rows: x above, ∂L/∂x below; channels across
    const th = Math.max(8, Math.floor(Math.min((bodyH - 50) / 2, (sw - (channels - 1) * 6) / channels / (W / H))));
    const tw = Math.max(8, Math.floor(th * (W / H)));
    const conv0 = state.architecture.layers[0]?.type === "conv2d";
    for (let c = 0; c < channels; c++) {
      const tx = x + c * (tw + 6);
      const ty = CAPTION + 14;
      ctx.fillStyle = "#7b8497";
      ctx.textAlign = "left";
      ctx.fillText(channels > 1 ? `x · channel ${c}` : "x", tx, ty - 3);
      if (X) {
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of X.data) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        const tile = tiles.grey(`in${c}`, W, H, X.data, Math.min(0, lo), Math.max(1e-9, hi), c * H * W);
        blit(ctx, tile, tx, ty, tw, th);
        regions.push({ kind: "input", layer: -1, index: c, x: tx, y: ty, w: tw, h: th, rows: H, cols: W, values: X.data, offset: c * H * W, label: `input channel ${c}`, quantity: "x" });
      } else placeholder(ctx, tx, ty, tw, th);
      frame(ctx, tx, ty, tw, th);
      const gy = ty + th + 18;
      ctx.fillStyle = "#7b8497";
      ctx.fillText("∂L/∂x", tx, gy - 3);
      if (grad) {
        const scale = maxAbsOf(grad.data) || 1;
        const tile = tiles.heat(`ing${c}`, W, H, grad.data, LUT, 0, scale, { offset: c * H * W });
        blit(ctx, tile, tx, gy, tw, th);
        regions.push({ kind: "inputGrad", layer: -1, index: c, x: tx, y: gy, w: tw, h: th, rows: H, cols: W, values: grad.data, offset: c * H * W, label: `∂L/∂x channel ${c}`, quantity: "∂L/∂x", clickable: conv0 });
        shownValues.set(`grad:${c}`, grad.data.slice(c * H * W, (c + 1) * H * W));
      } else placeholder(ctx, tx, gy, tw, th);
      frame(ctx, tx, gy, tw, th);
      // the receptive field of a selected position of the first layer, or the selected pixel
      if (sel && sel.layer === 0) {
        const spec0 = state.architecture.layers[0];
        if (sel.kind === "conv") {
          const rf = receptiveField(spec0, sel.row, sel.col);
          if (rf) for (const yy of [ty, gy]) outlineCells(ctx, tx, yy, tw, th, H, W, rf.rows, rf.cols, "#c66a0a");
        } else if (sel.kind === "input" && sel.channel === c) {
          for (const yy of [ty, gy]) outlineCells(ctx, tx, yy, tw, th, H, W, [sel.row, sel.row], [sel.col, sel.col], "#c66a0a");
        }
      }
    }
  }

  function drawStageMaps(ctx, st, L, dA, sample, mode, x, sw, bodyH, sel) {
    const spec = st.spec;
    const [F, H, W] = spec.output_shape;
    let arr = null;
    if (mode === "delta") arr = spec.type === "conv2d" ? row(L.delta, sample) : dA;
    else if (mode === "z" && L.z) arr = row(L.z, sample);
    else arr = row(L.a, sample);
    ctx.fillStyle = "#7b8497";
    ctx.textAlign = "left";
    ctx.fillText(modeLabel(spec, mode), x, CAPTION - 4 + 8);
    const top = CAPTION + 10;
    const fit = gridFit(F, sw, bodyH - 12, 5, W / H);
    const th = fit.size;
    const tw = Math.floor(th * (W / H));
    const scale = arr ? maxAbsOf(arr.data) || 1 : 1;
    const selected = sel && sel.kind === "conv" && sel.layer === st.layer ? sel : null;
    const below = sel && sel.layer === st.layer + 1 && sel.kind === "conv" ? receptiveField(lastState.architecture.layers[sel.layer], sel.row, sel.col) : null;
    for (let f = 0; f < F; f++) {
      const tx = x + (f % fit.cols) * (tw + 5);
      const ty = top + Math.floor(f / fit.cols) * (th + 5);
      if (arr && sample >= 0) {
        const tile = tiles.heat(`L${st.layer}:${f}`, W, H, arr.data, LUT, 0, scale, { offset: f * H * W });
        blit(ctx, tile, tx, ty, tw, th);
        shownValues.set(`${st.layer}:${f}`, arr.data.slice(f * H * W, (f + 1) * H * W));
      } else placeholder(ctx, tx, ty, tw, th);
      frame(ctx, tx, ty, tw, th);
      regions.push({
        kind: "map",
        layer: st.layer,
        index: f,
        x: tx,
        y: ty,
        w: tw,
        h: th,
        rows: H,
        cols: W,
        values: arr?.data,
        offset: f * H * W,
        label: `layer ${st.layer + 1} · map ${f}`,
        quantity: modeLabel(spec, mode),
        clickable: spec.type === "conv2d" && sample >= 0,
      });
      if (selected && selected.filter === f) outlineCells(ctx, tx, ty, tw, th, H, W, [selected.row, selected.row], [selected.col, selected.col], "#c66a0a", 2.5);
      if (below) outlineCells(ctx, tx, ty, tw, th, H, W, below.rows, below.cols, "#c66a0a");
    }
  }

  function drawUnits(ctx, st, L, sample, mode, x, sw, bodyH) {
    const arr = row(mode === "delta" ? L.delta : mode === "z" ? L.z : L.a, sample);
    const units = st.spec.output_shape[0];
    const top = CAPTION + 10;
    const cell = Math.max(2, Math.min(16, Math.floor((bodyH - 12) / units)));
    const cw = Math.min(sw, 22);
    const scale = arr ? maxAbsOf(arr.data) || 1 : 1;
    if (arr) blit(ctx, tiles.heat(`U${st.layer}`, 1, units, arr.data, LUT, 0, scale), x, top, cw, cell * units);
    else placeholder(ctx, x, top, cw, cell * units);
    frame(ctx, x, top, cw, cell * units);
    regions.push({ kind: "units", layer: st.layer, index: 0, x, y: top, w: cw, h: cell * units, rows: units, cols: 1, values: arr?.data, offset: 0, label: `layer ${st.layer + 1} units`, quantity: mode === "delta" ? "δ" : mode });
  }

  function drawOutput(ctx, st, L, sample, mode, probs, target, state, x, sw, bodyH) {
    const K = st.spec.output_shape.at(-1);
    const names = state.data?.classNames || null;
    const delta = mode === "delta" ? row(L.delta, sample) : null;
    const values = delta ? delta.data : probs?.data;
    const top = CAPTION + 10;
    const barH = Math.max(6, Math.min(20, Math.floor((bodyH - 12) / K) - 3));
    const labelW = 26;
    const maxW = sw - labelW - 44;
    const vmax = delta ? maxAbsOf(delta.data) || 1 : 1;
    let predicted = -1;
    if (probs && K > 1) {
      predicted = 0;
      for (let k = 1; k < K; k++) if (probs.data[k] > probs.data[predicted]) predicted = k;
    }
    ctx.font = "11px system-ui, sans-serif";
    for (let k = 0; k < K && values; k++) {
      const y = top + k * (barH + 3);
      const v = values[k];
      ctx.fillStyle = k === target ? "#1d2330" : "#7b8497";
      ctx.textAlign = "right";
      ctx.fillText(names?.[k] ?? String(k), x + labelW - 6, y + barH - 3);
      ctx.fillStyle = "#eef0f4";
      ctx.fillRect(x + labelW, y, maxW, barH);
      const bw = (Math.abs(v) / vmax) * maxW;
      ctx.fillStyle = delta ? css(v < 0 ? [198, 106, 10] : [27, 95, 166]) : k === predicted ? (k === target ? "#1a7f4b" : "#b3261e") : "#9fb6d3";
      ctx.fillRect(x + labelW, y, Math.max(1, bw), barH);
      if (k === target) {
        ctx.strokeStyle = "#1d2330";
        ctx.lineWidth = 1.5;
        ctx.strokeRect(x + labelW + 0.5, y + 0.5, maxW - 1, barH - 1);
      }
      ctx.fillStyle = "#4a5366";
      ctx.textAlign = "left";
      ctx.fillText(formatSig(v, 2), x + labelW + maxW + 4, y + barH - 3);
    }
    regions.push({ kind: "output", layer: st.layer, index: 0, x: x + labelW, y: top, w: maxW, h: K * (barH + 3), rows: K, cols: 1, values, offset: 0, label: "output", quantity: delta ? "δ" : "a" });
    const labelText = target === null || target === undefined ? "" : `label ${names?.[target] ?? target}`;
    const predText = predicted >= 0 ? ` → predicted ${names?.[predicted] ?? predicted} (${Math.round(probs.data[predicted] * 100)}%)` : "";
    label.textContent = labelText + predText;
    label.dataset.target = String(target ?? "");
    label.dataset.predicted = String(predicted);
    label.classList.toggle("wrong", predicted >= 0 && target !== null && predicted !== target);
  }

  function drawKernels(state, arch, ui) {
    const { ctx, w, h } = fitCanvas(kernels);
    ctx.clearRect(0, 0, w, h);
    kregions = [];
    const convs = arch.layers.map((l, k) => [l, k]).filter(([l]) => l.type === "conv2d");
    if (!convs.length) return;
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
      const key = ui.kernels === "grad" ? "grad_W" : ui.kernels === "update" ? "update_W" : "W";
      const arr = L[key];
      const [F, C, kh, kw] = spec.params.W;
      const { shownC } = blocks[bi];
      const size = Math.max(4, Math.floor(blocks[bi].size * shrink));
      const blockX = x0;
      x0 += Math.max(blocks[bi].width * shrink, 200) + 16;
      ctx.font = "11px system-ui, sans-serif";
      ctx.fillStyle = "#4a5366";
      ctx.textAlign = "left";
      const what = ui.kernels === "grad" ? "∂L/∂W" : ui.kernels === "update" ? "ΔW" : "W";
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
          kregions.push({ kind: "kernel", layer: k, index: f, channel: c, x: tx, y: ty, w: tw, h: size, rows: kh, cols: kw, values: arr?.data, offset, label: `layer ${k + 1} kernel ${f} · channel ${c}`, quantity: what });
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
  }

  // --- test hooks: screen points and drawn values --------------------------------------

  function pointIn(list, canvas, match, r, c) {
    const g = list.find(match);
    if (!g) return null;
    const rect = canvas.getBoundingClientRect();
    return { x: rect.left + g.x + ((c + 0.5) / g.cols) * g.w, y: rect.top + g.y + ((r + 0.5) / g.rows) * g.h };
  }

  return {
    update,
    reset() {
      regions = [];
      kregions = [];
    },
    /** Screen point of map `index` of layer `layer` at (r, c). */
    mapPoint: (layer, index, r, c) => pointIn(regions, maps, (g) => g.kind === "map" && g.layer === layer && g.index === index, r, c),
    kernelPoint: (layer, f, ch, i, j) => pointIn(kregions, kernels, (g) => g.layer === layer && g.index === f && g.channel === ch, i, j),
    inputGradPoint: (ch, r, c) => pointIn(regions, maps, (g) => g.kind === "inputGrad" && g.index === ch, r, c),
    /** The values drawn for map `index` of layer `layer` ("grad" layer: ∂L/∂x of channel index). */
    shownValues: (layer, index) => {
      const v = shownValues.get(layer === "grad" ? `grad:${index}` : `${layer}:${index}`);
      return v ? Array.from(v) : null;
    },
  };
}

// --- small drawing / DOM helpers ---------------------------------------------------------

function placeholder(ctx, x, y, w, h) {
  ctx.fillStyle = "#f3f4f7";
  ctx.fillRect(x, y, w, h);
}

function frame(ctx, x, y, w, h) {
  ctx.strokeStyle = "#cfd4de";
  ctx.lineWidth = 1;
  ctx.strokeRect(x - 0.5, y - 0.5, w + 1, h + 1);
}

function outlineCells(ctx, x, y, w, h, rows, cols, [r0, r1], [c0, c1], colour, width = 2) {
  const cw = w / cols;
  const ch = h / rows;
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.strokeRect(x + c0 * cw, y + r0 * ch, (c1 - c0 + 1) * cw, (r1 - r0 + 1) * ch);
}

function clipText(ctx, text, width) {
  if (ctx.measureText(text).width <= width) return text;
  let t = text;
  while (t.length > 3 && ctx.measureText(`${t}…`).width > width) t = t.slice(0, -1);
  return `${t}…`;
}

function div(cls) {
  const d = document.createElement("div");
  d.className = cls;
  return d;
}

function span(cls, text = "") {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text;
  return s;
}

/** A segmented radio control: [[value, label, title]]. */
export function seg(aria, items, onPick) {
  const root = div("seg");
  root.setAttribute("role", "radiogroup");
  root.setAttribute("aria-label", aria);
  const buttons = items.map(([value, text, title]) => {
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute("role", "radio");
    b.dataset.value = value;
    b.textContent = text;
    b.title = title;
    b.addEventListener("click", () => onPick(value));
    root.append(b);
    return b;
  });
  return {
    root,
    set(value) {
      for (const b of buttons) b.setAttribute("aria-checked", String(b.dataset.value === value));
    },
  };
}

/** ◀ sample n / N ▶ (#index in the training set). */
export function samplePicker(hooks) {
  const root = div("sx-sample");
  const prev = document.createElement("button");
  prev.type = "button";
  prev.className = "btn ghost small";
  prev.textContent = "◀";
  prev.setAttribute("aria-label", "Previous sample of the batch");
  const next = document.createElement("button");
  next.type = "button";
  next.className = "btn ghost small";
  next.textContent = "▶";
  next.setAttribute("aria-label", "Next sample of the batch");
  const out = document.createElement("output");
  out.dataset.testid = "sample";
  root.append(span("hint", "sample"), prev, out, next);
  let n = 0;
  let current = 0;
  prev.addEventListener("click", () => n && hooks.setUi({ sample: (current - 1 + n) % n }));
  next.addEventListener("click", () => n && hooks.setUi({ sample: (current + 1) % n }));
  return {
    root,
    set(sample, count, index) {
      n = count;
      current = sample;
      out.textContent = count ? `${sample + 1}/${count}${index !== undefined ? ` · #${index}` : ""}` : "—";
      prev.disabled = next.disabled = count < 2;
    },
  };
}
