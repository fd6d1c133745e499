// The RNN view: a recurrent layer unrolled over time for one batch sample — the cells h_t
// (shaded by ‖∂L/∂h_t‖) with their inputs x_t and outputs ŷ against the targets, heatmaps
// of h_t (or c_t, or an LSTM gate) and of its gradient (unit × time), and a bar per time step
// with the norm of that step's share of ∂L/∂W_h on a log scale: vanishing or exploding at a
// glance. Click a time step for how ∂L/∂h_t was built from ∂L/∂h_{t+1}.

import { divergingLUT, diverging, css } from "../colors.js";
import { fitCanvas } from "../draw.js";
import { formatSig, formatTick, logTicks } from "../scales.js";
import { RectTiles, blit } from "../tiles.js";
import { row, maxAbsOf, gradientFlow, targetsFromOutput, decodeOneHot } from "../maps.js";
import { seg, samplePicker, showTip, batchIndex } from "./widgets.js";

const LUT = divergingLUT();
const LEFT = 76;
const RIGHT = 12;
const RECURRENT = new Set(["rnn", "lstm"]);
const GATES = ["i", "f", "g", "o"];

/** Index of the recurrent layer to show: `wanted` when it is one, else the first. */
export function recurrentLayer(arch, wanted) {
  if (arch?.layers[wanted] && RECURRENT.has(arch.layers[wanted].type)) return wanted;
  return arch ? arch.layers.findIndex((l) => RECURRENT.has(l.type)) : -1;
}

/**
 * @param {{root: HTMLElement, tooltip: HTMLElement}} el
 * @param {{select(target), ui(): object, setUi(patch)}} hooks
 */
export function createRnnView(el, hooks) {
  const tiles = new RectTiles();
  el.root.replaceChildren();
  const head = document.createElement("div");
  head.className = "sx-head";
  const title = document.createElement("span");
  title.className = "sx-title";
  title.textContent = "Unrolled through time";
  const samplePick = samplePicker(hooks);
  const showSeg = seg("Show", [
    ["h", "h", "hidden state h_t and ∂L/∂h_t"],
    ["c", "c", "cell state c_t and ∂L/∂c_t"],
    ["i", "i", "input gate and its δ"],
    ["f", "f", "forget gate and its δ"],
    ["g", "g", "candidate g and its δ"],
    ["o", "o", "output gate and its δ"],
  ], (v) => hooks.setUi({ rnnShow: v }));
  const readout = document.createElement("span");
  readout.className = "sx-label";
  readout.dataset.testid = "rnn-readout";
  head.append(title, showSeg.root, samplePick.root, readout);
  const canvas = document.createElement("canvas");
  canvas.className = "sx-time";
  canvas.dataset.testid = "rnn-view-canvas";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "The recurrent layer unrolled over time: states, their gradients, and the gradient norm per time step");
  const flag = document.createElement("p");
  flag.className = "sx-flow";
  flag.dataset.testid = "rnn-flow";
  const note = document.createElement("p");
  note.className = "sx-note";
  note.hidden = true;
  el.root.append(head, canvas, flag, note);

  let geo = null; // {x0, colW, T, rows: [{kind, y, h, ...}]}
  let shown = null;

  function columnAt(ev) {
    if (!geo) return null;
    const r = canvas.getBoundingClientRect();
    const x = ev.clientX - r.left;
    const y = ev.clientY - r.top;
    const t = Math.floor((x - geo.x0) / geo.colW);
    if (t < 0 || t >= geo.T) return null;
    const band = geo.rows.find((b) => y >= b.y && y < b.y + b.h) || null;
    return { t, band, y };
  }

  canvas.addEventListener("mousemove", (ev) => {
    const hit = columnAt(ev);
    canvas.classList.toggle("pointer", !!hit);
    const tip = el.tooltip;
    if (!hit || !hit.band || !shown) {
      tip.hidden = true;
      return;
    }
    const { t, band } = hit;
    let text = `t = ${t}`;
    if (band.kind === "heat") {
      const u = Math.min(band.units - 1, Math.floor(((hit.y - band.y) / band.h) * band.units));
      text += ` · unit ${u}\n${band.label} = ${formatSig(band.values[t * band.stride + band.offset + u], 5)}`;
    } else if (band.kind === "bars") text += `\n‖share of ∂L/∂W_h‖ = ${formatSig(shown.norms[t], 4)}`;
    else if (band.kind === "cells") text += `\n‖∂L/∂h_t‖ = ${formatSig(shown.dhNorms[t], 4)}`;
    showTip(tip, text, ev);
  });
  canvas.addEventListener("mouseleave", () => (el.tooltip.hidden = true));
  canvas.addEventListener("click", (ev) => {
    const hit = columnAt(ev);
    if (hit && shown) hooks.select({ kind: "recurrent", layer: shown.layer, t: hit.t });
  });

  function update(state) {
    const arch = state.architecture;
    const ui = hooks.ui();
    const k = recurrentLayer(arch, ui.recLayer);
    if (k < 0) {
      // sequence input without a recurrent layer: nothing unrolls
      fitCanvas(canvas).ctx.clearRect(0, 0, canvas.width, canvas.height);
      note.hidden = false;
      note.textContent = "This network has no rnn or lstm layer: insert one (+ in the layer bar) to unroll it through time.";
      flag.textContent = "";
      geo = shown = null;
      return;
    }
    const spec = arch.layers[k];
    const L = state.layers[k] || {};
    const lstm = spec.type === "lstm";
    showSeg.root.hidden = !lstm;
    const show = lstm ? ui.rnnShow : "h";
    showSeg.set(show);
    const n = L.h ? L.h.shape[0] : 0;
    const sample = Math.min(ui.sample, Math.max(0, n - 1));
    samplePick.set(sample, n, batchIndex(state.batch, sample));
    const tooBig = state.info && state.options?.limits && state.info.parameters > state.options.limits.frame_max_parameters;
    note.hidden = !(tooBig || !L.h);
    if (tooBig) note.textContent = `This network has ${state.info.parameters} parameters: frames carry the states of networks up to ${state.options.limits.frame_max_parameters}. Make it smaller to watch it here.`;
    else if (!L.h) note.textContent = "Press step (→) or play: the unrolled states of the first batch appear here.";
    draw(state, arch, k, spec, L, n ? sample : -1, show);
    canvas.dataset.step = String(state.step);
    canvas.dataset.layer = String(k);
  }

  function draw(state, arch, k, spec, L, sample, show) {
    const { ctx, w, h } = fitCanvas(canvas);
    ctx.clearRect(0, 0, w, h);
    const [T, F] = spec.input_shape;
    const U = spec.units;
    const colW = (w - LEFT - RIGHT) / T;
    const x0 = LEFT;
    const sel = state.ui.spatial?.selected;
    const selT = sel?.kind === "recurrent" && sel.layer === k ? sel.t : -1;
    // forward / backward arrays of the chosen quantity
    let fwd = L.h;
    let bwd = L.dh;
    let fLabel = "h_t";
    let bLabel = "∂L/∂h_t";
    let gate = -1;
    if (show === "c") [fwd, bwd, fLabel, bLabel] = [L.c, L.dc, "c_t", "∂L/∂c_t"];
    else if (GATES.includes(show)) {
      gate = GATES.indexOf(show);
      [fwd, bwd, fLabel, bLabel] = [L[show], L.delta, `${show}_t`, `δ_${show}`];
    }
    const fRow = row(fwd, sample);
    const bRow = row(bwd, sample);
    const dhRow = row(L.dh, sample);
    const norms = L.grad_W_h_step_norm ? Array.from(L.grad_W_h_step_norm.data) : [];
    const dhNorms = new Array(T).fill(NaN);
    if (dhRow) {
      for (let t = 0; t < T; t++) {
        let s = 0;
        for (let u = 0; u < U; u++) s += dhRow.data[t * U + u] ** 2;
        dhNorms[t] = Math.sqrt(s);
      }
    }
    const xIn = k === 0 ? row(state.batch?.X, sample) : row(state.layers[k - 1]?.a, sample);
    // output against target (the network's output layer)
    const out = state.layers[arch.layers.length - 1] || {};
    const outSpec = arch.layers.at(-1);
    const targets = targetsFromOutput(arch.loss, outSpec.activation, out.a, out.delta);
    const perStep = outSpec.output_shape.length === 2;
    const K = outSpec.output_shape.at(-1);
    const names = state.data?.classNames || null;

    // --- layout of the bands ---
    const rows = [];
    const smallX = Math.min(30, Math.max(10, F * 4));
    const cellsH = 14 + 26 + 6 + smallX;
    const rest = h - cellsH - 14 - 24;
    const heatH = Math.max(36, Math.min(150, Math.floor(rest * 0.3)));
    const barsH = Math.max(50, rest - 2 * heatH - 20);
    let y = 4;
    const cells = { kind: "cells", y, h: cellsH };
    y += cellsH + 8;
    const hb = { kind: "heat", y, h: heatH, units: U, label: fLabel };
    y += heatH + 8;
    const db = { kind: "heat", y, h: heatH, units: U, label: bLabel };
    y += heatH + 12;
    const bars = { kind: "bars", y, h: barsH };
    rows.push(cells, hb, db, bars);
    geo = { x0, colW, T, rows };

    if (selT >= 0) {
      ctx.fillStyle = "rgba(198,106,10,0.10)";
      ctx.fillRect(x0 + selT * colW, 0, colW, bars.y + bars.h);
    }
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";

    // --- cells: x_t → [h_t] → … with ŷ above -------------------------------------
    labelLeft(ctx, "ŷ / y", cells.y + 7);
    labelLeft(ctx, spec.type === "lstm" ? "LSTM cell" : "RNN cell", cells.y + 14 + 13);
    labelLeft(ctx, names && F === names.length ? "x_t" : F > 1 ? `x_t (${F})` : "x_t", cells.y + 14 + 26 + 6 + smallX / 2);
    const boxW = Math.max(3, Math.min(44, colW - (colW > 14 ? 8 : 1)));
    const maxDh = Math.max(...dhNorms.filter(Number.isFinite), 0) || 1;
    ctx.strokeStyle = "#9aa3b5";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x0, cells.y + 14 + 13);
    ctx.lineTo(x0 + T * colW, cells.y + 14 + 13);
    ctx.stroke();
    for (let t = 0; t < T; t++) {
      const cx = x0 + (t + 0.5) * colW;
      const bx = cx - boxW / 2;
      const by = cells.y + 14;
      const m = Number.isFinite(dhNorms[t]) ? dhNorms[t] / maxDh : 0;
      ctx.fillStyle = css(diverging(-(0.08 + 0.92 * m)));
      roundBox(ctx, bx, by, boxW, 26, Math.min(6, boxW / 3));
      ctx.fill();
      ctx.strokeStyle = t === selT ? "#c66a0a" : "#9aa3b5";
      ctx.lineWidth = t === selT ? 2 : 1;
      ctx.stroke();
      if (boxW >= 26) {
        ctx.fillStyle = m > 0.6 ? "#fff" : "#1d2330";
        ctx.textAlign = "center";
        ctx.fillText(`h${t}`, cx, by + 13);
      }
      // ŷ vs y
      const showOut = perStep || t === T - 1;
      if (showOut && out.a && sample >= 0) {
        const yhat = perStep ? out.a.data[(sample * T + t) * K] : out.a.data[sample * K];
        let text;
        if (K > 1) {
          const rowA = row(out.a, sample);
          const base = perStep ? t * K : 0;
          let best = 0;
          for (let j = 1; j < K; j++) if (rowA.data[base + j] > rowA.data[base + best]) best = j;
          const tgt = targets?.kind === "class" ? targets.classes[perStep ? sample * T + t : sample] : null;
          const ok = tgt === best;
          ctx.fillStyle = tgt === null ? "#4a5366" : ok ? "#1a7f4b" : "#b3261e";
          text = names ? `${vis(names[best])}` : String(best);
          if (colW >= 30 && tgt !== null && !ok) text += `/${names ? vis(names[tgt]) : tgt}`;
        } else {
          const tgt = targets?.kind === "value" ? targets.values[perStep ? sample * T + t : sample] : null;
          ctx.fillStyle = "#1b5fa6";
          text = colW >= 62 || !perStep ? `${formatSig(yhat, 2)}${tgt !== null ? ` / ${formatSig(tgt, 2)}` : ""}` : formatSig(yhat, 1);
        }
        ctx.textAlign = perStep ? "center" : "right";
        if (colW >= 14 || !perStep) ctx.fillText(text, perStep ? cx : x0 + T * colW, cells.y + 6);
      }
    }
    // x_t: characters for one-hot text, else a heat strip (features × time)
    const vocab = names && xIn && k === 0 && xIn.shape[1] === names.length ? names : null;
    if (vocab && colW >= 7) {
      const text = decodeOneHot(xIn, vocab);
      ctx.fillStyle = "#1d2330";
      ctx.textAlign = "center";
      ctx.font = `${Math.min(13, Math.max(9, colW * 0.6))}px ui-monospace, monospace`;
      for (let t = 0; t < T; t++) ctx.fillText(vis(text[t]), x0 + (t + 0.5) * colW, cells.y + 14 + 26 + 6 + smallX / 2);
      ctx.font = "11px system-ui, sans-serif";
    } else if (xIn) {
      const Fx = xIn.shape[1];
      const scale = maxAbsOf(xIn.data) || 1;
      const tile = tiles.heat("x", T, Fx, xIn.data, LUT, 0, scale, { transpose: true, stride: Fx });
      blit(ctx, tile, x0, cells.y + 14 + 26 + 6, T * colW, smallX);
    }

    // --- heatmaps: unit × time ----------------------------------------------------
    // gates: forward arrays are (T, U) each; their δ are a U-wide slice of the (T, 4U) δ
    drawHeat(ctx, "fwd", hb, fRow, fLabel, x0, T, colW, U, 0, U);
    drawHeat(ctx, "bwd", db, bRow, bLabel, x0, T, colW, U, gate >= 0 ? gate * U : 0, gate >= 0 ? 4 * U : U);

    // --- bars: ‖share of ∂L/∂W_h‖ per step, log scale --------------------------------
    drawBars(ctx, bars, norms, x0, T, colW, selT, spec);
    const flow = gradientFlow(norms);
    const trunc = spec.truncate;
    let text = "";
    if (flow.flag === "vanishing") text = `Vanishing: step ${flow.first}'s share of ∂L/∂W_h is ${formatSig(flow.ratio, 2)}× step ${flow.last}'s — early inputs barely teach W_h.`;
    else if (flow.flag === "exploding") text = `Exploding: step ${flow.first}'s share is ${formatSig(flow.ratio, 2)}× step ${flow.last}'s.`;
    else if (flow.ratio !== null) text = `Gradient flows back to step ${flow.first}: its share is ${formatSig(flow.ratio, 2)}× step ${flow.last}'s.`;
    if (trunc && trunc < T) text += ` Truncated BPTT (k = ${trunc}): the gradient of each loss term stops after ${trunc} steps.`;
    flag.textContent = text;
    flag.className = `sx-flow ${flow.flag || ""}`;
    flag.dataset.flag = flow.flag || "";

    // time axis
    ctx.fillStyle = "#7b8497";
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const every = Math.max(1, Math.ceil(24 / colW));
    for (let t = 0; t < T; t += every) ctx.fillText(String(t), x0 + (t + 0.5) * colW, bars.y + bars.h + 3);
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    ctx.fillText("t", x0 - 6, bars.y + bars.h + 9);

    shown = { layer: k, step: state.step, sample, norms, dhNorms, hShape: fRow ? [U, T] : null, h: fRow ? Array.from(fRow.data) : null };
    readout.textContent = sample >= 0 ? readoutText(out, targets, sample, perStep, K, names) : "";

    function drawHeat(ctx2, slot, band, arr, label, xs, Tn, cw, nUnits, offset, strideU) {
      labelLeft(ctx2, label, band.y + band.h / 2);
      Object.assign(band, { values: arr?.data, stride: strideU, offset });
      if (!arr) {
        ctx2.fillStyle = "#f3f4f7";
        ctx2.fillRect(xs, band.y, Tn * cw, band.h);
        return;
      }
      let m = 0;
      for (let t = 0; t < Tn; t++) for (let u = 0; u < nUnits; u++) m = Math.max(m, Math.abs(arr.data[t * strideU + offset + u]) || 0);
      const sigmoidGate = label.length === 3 && "ifo".includes(label[0]) && label.endsWith("_t");
      const center = sigmoidGate ? 0.5 : 0;
      const scale = sigmoidGate ? 0.5 : m || 1;
      const tile = tiles.heat(slot, Tn, nUnits, arr.data, LUT, center, scale, { transpose: true, stride: strideU, offset });
      blit(ctx2, tile, xs, band.y, Tn * cw, band.h);
      ctx2.strokeStyle = "#cfd4de";
      ctx2.lineWidth = 1;
      ctx2.strokeRect(xs - 0.5, band.y - 0.5, Tn * cw + 1, band.h + 1);
      ctx2.fillStyle = "#7b8497";
      ctx2.textAlign = "right";
      ctx2.font = "9.5px system-ui, sans-serif";
      ctx2.fillText(`${nUnits} units`, xs - 6, band.y + band.h / 2 + 13);
      ctx2.fillText(`±${formatSig(sigmoidGate ? 1 : m, 2)}`, xs - 6, band.y + band.h / 2 + 25);
      ctx2.font = "11px system-ui, sans-serif";
    }
  }

  function drawBars(ctx, band, norms, x0, T, colW, selT, spec) {
    labelLeft(ctx, "‖∂L/∂W_h‖", band.y + 8);
    ctx.fillStyle = "#7b8497";
    ctx.font = "9.5px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.fillText("share of step t", x0 - 6, band.y + 21);
    ctx.font = "11px system-ui, sans-serif";
    ctx.strokeStyle = "#e2e5ec";
    ctx.strokeRect(x0 - 0.5, band.y - 0.5, T * colW + 1, band.h + 1);
    const positive = norms.filter((v) => v > 0 && Number.isFinite(v));
    if (!positive.length) return;
    let lo = Math.min(...positive);
    let hi = Math.max(...positive);
    if (hi / lo < 100) lo = hi / 100;
    lo /= 1.5;
    hi *= 1.5;
    const ly = (v) => band.y + band.h - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * band.h;
    ctx.textAlign = "right";
    ctx.font = "9.5px system-ui, sans-serif";
    for (const tick of logTicks(lo, hi, 4)) {
      const yy = ly(tick);
      if (yy < band.y + 34 || yy > band.y + band.h) continue; // clear of the band's label
      ctx.strokeStyle = "#eef0f4";
      ctx.beginPath();
      ctx.moveTo(x0, yy);
      ctx.lineTo(x0 + T * colW, yy);
      ctx.stroke();
      ctx.fillStyle = "#7b8497";
      ctx.fillText(formatTick(tick, true), x0 - 6, yy);
    }
    ctx.font = "11px system-ui, sans-serif";
    const bw = Math.max(1, colW - (colW > 6 ? 3 : 0));
    for (let t = 0; t < T; t++) {
      const v = norms[t];
      const bx = x0 + t * colW + (colW - bw) / 2;
      if (!(v > 0)) {
        ctx.fillStyle = "#cfd4de";
        ctx.fillRect(bx, band.y + band.h - 2, bw, 2);
        continue;
      }
      const yy = ly(v);
      ctx.fillStyle = t === selT ? "#c66a0a" : spec.truncate && t < spec.input_shape[0] - spec.truncate ? "#9fb6d3" : "#1b5fa6";
      ctx.fillRect(bx, yy, bw, band.y + band.h - yy);
    }
  }

  return {
    update,
    reset() {
      geo = null;
      shown = null;
    },
    /** Screen point of time step t's cell. */
    columnPoint(t) {
      if (!geo) return null;
      const r = canvas.getBoundingClientRect();
      return { x: r.left + geo.x0 + (t + 0.5) * geo.colW, y: r.top + geo.rows[0].y + 14 + 13 };
    },
    /** What the last draw showed: {layer, step, sample, norms, dhNorms, hShape, h}. */
    shown: () => (shown ? JSON.parse(JSON.stringify(shown)) : null),
  };
}

function readoutText(out, targets, sample, perStep, K, names) {
  if (!out.a || perStep) return "";
  const a = row(out.a, sample);
  if (K > 1) {
    let best = 0;
    for (let j = 1; j < K; j++) if (a.data[j] > a.data[best]) best = j;
    const tgt = targets?.kind === "class" ? targets.classes[sample] : null;
    const name = (j) => (names ? `“${vis(names[j])}”` : String(j));
    return `predicted ${name(best)} (${Math.round(a.data[best] * 100)}%)${tgt !== null ? ` · target ${name(tgt)}` : ""}`;
  }
  const tgt = targets?.kind === "value" ? targets.values[sample] : null;
  return `predicted ${formatSig(a.data[0], 3)}${tgt !== null ? ` · target ${formatSig(tgt, 3)}` : ""}`;
}

const vis = (ch) => (ch === " " ? "␣" : ch);

function labelLeft(ctx, text, y) {
  ctx.fillStyle = "#4a5366";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  ctx.fillText(text, LEFT - 6, y);
}

function roundBox(ctx, x, y, w, h, r) {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}
