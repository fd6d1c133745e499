// The CNN view: one batch sample flowing through the network — the input image and its
// gradient ∂L/∂x, every conv / pool layer's feature maps (a, z or δ), dense units, the output
// probabilities against the target — and below, every kernel with its gradient or update.
// Click a map position, a kernel entry or an input-gradient pixel for the sliding-kernel
// explanation. Draws from state.layers (the frames' `L{k}.*` arrays) only.

import { divergingLUT, css } from "../colors.js";
import { fitCanvas } from "../draw.js";
import { formatSig } from "../scales.js";
import { RectTiles, blit } from "../tiles.js";
import { row, backwardOfSample, gridFit, receptiveField, maxAbsOf, targetsFromOutput } from "../maps.js";
import { drawKernels } from "./kernels.js";
import { cellAt, pointIn, cellTooltip, placeholder, frame, outlineCells, clipText, div, span, seg, samplePicker, batchIndex } from "./widgets.js";

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
  head.append(title, mapsSeg.root, samplePick.root, label); // the modes stay clear of the explanation panel
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

  const tooltip = (hit, ev) => cellTooltip(el.tooltip, hit, ev);

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
    samplePick.set(sample, n, batchIndex(state.batch, sample));
    const hasTensors = !!state.layers[0]?.a || !!state.layers[0]?.W;
    const tooBig = state.info && state.options?.limits && state.info.parameters > state.options.limits.frame_max_parameters;
    note.hidden = !(tooBig || !X);
    if (tooBig) note.textContent = `This network has ${state.info.parameters} parameters: frames carry the maps of networks up to ${state.options.limits.frame_max_parameters}. Make it smaller to watch it here.`;
    else if (!X) note.textContent = hasTensors ? "Press step (→) or play: the maps of the first batch appear here." : "Waiting for the first frame…";
    drawMaps(state, arch, X ? sample : -1, ui);
    kregions = drawKernels(kernels, tiles, state, ui.kernels);
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

  // --- test hooks: screen points and drawn values --------------------------------------

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
