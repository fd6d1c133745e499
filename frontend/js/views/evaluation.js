// The evaluation card of image and sequence data (GET …/evaluation): for classification a
// confusion matrix (rows: true class, columns: predicted; click a cell to list those
// mistakes) and the most confidently wrong examples with their images; for sequences the
// predicted against the target, per example and, for one-number targets, as a scatter.

import { css, tint, categorical } from "../colors.js";
import { fitCanvas } from "../draw.js";
import { formatSig } from "../scales.js";
import { RectTiles, blit } from "../tiles.js";
import { decodeOneHot, confusionSummary } from "../maps.js";
import { nestedToArray } from "../protocol.js";

const MAX_GALLERY = 24;
const vis = (ch) => (ch === " " ? "␣" : ch);

/**
 * @param {{root: HTMLElement, tooltip: HTMLElement}} el
 */
export function createEvaluationView(el) {
  const tiles = new RectTiles();
  el.root.replaceChildren();
  const head = document.createElement("div");
  head.className = "panel-head";
  const h2 = document.createElement("h2");
  h2.textContent = "Evaluation";
  const caption = document.createElement("span");
  caption.className = "plane-caption";
  caption.dataset.testid = "evaluation-caption";
  head.append(h2, caption);
  const confusion = document.createElement("canvas");
  confusion.className = "sx-confusion";
  confusion.dataset.testid = "confusion";
  confusion.setAttribute("role", "img");
  confusion.setAttribute("aria-label", "Confusion matrix: rows are the true class, columns the predicted class");
  const scatter = document.createElement("canvas");
  scatter.className = "sx-scatter";
  scatter.dataset.testid = "scatter";
  scatter.setAttribute("role", "img");
  scatter.setAttribute("aria-label", "Predicted against target for every test sample");
  const listHead = document.createElement("p");
  listHead.className = "hint sx-list-head";
  const gallery = document.createElement("div");
  gallery.className = "sx-gallery";
  gallery.dataset.testid = "misclassified";
  const sequences = document.createElement("div");
  sequences.className = "sx-sequences";
  sequences.dataset.testid = "sequences";
  el.root.append(head, confusion, scatter, listHead, gallery, sequences);

  let data = null;
  let drawnKey = "";
  let filter = null; // [true, predicted] of a clicked confusion cell
  let cm = null; // geometry of the confusion matrix

  confusion.addEventListener("click", (ev) => {
    if (!cm || !data?.confusion) return;
    const r = confusion.getBoundingClientRect();
    const j = Math.floor((ev.clientX - r.left - cm.x) / cm.cell);
    const i = Math.floor((ev.clientY - r.top - cm.y) / cm.cell);
    const K = data.confusion.length;
    if (i < 0 || j < 0 || i >= K || j >= K) return;
    filter = filter && filter[0] === i && filter[1] === j ? null : [i, j];
    drawnKey = "";
    render();
  });
  confusion.addEventListener("mousemove", (ev) => {
    const tip = el.tooltip;
    if (!cm || !data?.confusion) return;
    const r = confusion.getBoundingClientRect();
    const j = Math.floor((ev.clientX - r.left - cm.x) / cm.cell);
    const i = Math.floor((ev.clientY - r.top - cm.y) / cm.cell);
    const K = data.confusion.length;
    if (i < 0 || j < 0 || i >= K || j >= K) {
      tip.hidden = true;
      return;
    }
    const names = data.class_names || [];
    tip.textContent = `true ${vis(names[i] ?? i)} → predicted ${vis(names[j] ?? j)}: ${data.confusion[i][j]}`;
    tip.hidden = false;
    tip.style.left = `${ev.clientX + 14}px`;
    tip.style.top = `${ev.clientY + 12}px`;
  });
  confusion.addEventListener("mouseleave", () => (el.tooltip.hidden = true));

  function set(evaluation) {
    data = evaluation;
    drawnKey = "";
    if (filter && data?.confusion && (filter[0] >= data.confusion.length || filter[1] >= data.confusion.length)) filter = null;
  }

  function update(state) {
    const key = `${data?.step}:${data?.generation}:${confusion.clientWidth}:${scatter.clientWidth}:${state.ui.presenter}`;
    if (key === drawnKey) return;
    drawnKey = key;
    render();
  }

  function render() {
    if (!data) {
      caption.textContent = "";
      confusion.hidden = scatter.hidden = true;
      listHead.textContent = "Evaluated after the first steps…";
      gallery.replaceChildren();
      sequences.replaceChildren();
      return;
    }
    const acc = data.accuracy === null ? "" : ` · accuracy ${(data.accuracy * 100).toFixed(1)}%`;
    caption.textContent = `${data.split} set · ${data.count} samples${acc} · step ${data.step}`;
    el.root.dataset.step = String(data.step);
    el.root.dataset.accuracy = data.accuracy === null ? "" : String(data.accuracy);
    confusion.hidden = !data.confusion;
    scatter.hidden = !data.scatter;
    if (data.confusion) drawConfusion();
    if (data.scatter) drawScatter();
    gallery.replaceChildren();
    sequences.replaceChildren();
    if (data.kind === "image") renderGallery();
    else if (data.kind === "sequence") renderSequences();
  }

  function drawConfusion() {
    const K = data.confusion.length;
    const labelW = K > 12 ? 14 : K <= 4 ? 40 : 22;
    const cell = Math.max(4, Math.floor(Math.min((confusion.clientWidth - labelW - 8) / K, 240 / K, 56)));
    const hNeeded = labelW + cell * K + 4;
    if (confusion.style.height !== `${hNeeded}px`) confusion.style.height = `${hNeeded}px`;
    const { ctx, w, h } = fitCanvas(confusion);
    ctx.clearRect(0, 0, w, h);
    const x = labelW + Math.max(0, (w - labelW - cell * K) / 2 - 10);
    const y = labelW;
    cm = { x, y, cell };
    const { rows } = confusionSummary(data.confusion);
    const names = data.class_names || [];
    ctx.font = `${Math.min(11, cell - 2)}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (let i = 0; i < K; i++) {
      for (let j = 0; j < K; j++) {
        const n = data.confusion[i][j];
        const share = rows[i] ? n / rows[i] : 0;
        const base = i === j ? [27, 95, 166] : [198, 106, 10];
        ctx.fillStyle = n ? css(tint(base, 1 - Math.min(1, 0.15 + share * 0.85))) : "#f6f7fa";
        ctx.fillRect(x + j * cell, y + i * cell, cell - 1, cell - 1);
        if (cell >= 16 && n) {
          ctx.fillStyle = share > 0.5 ? "#fff" : "#1d2330";
          ctx.fillText(String(n), x + j * cell + cell / 2, y + i * cell + cell / 2);
        }
      }
    }
    if (filter) {
      ctx.strokeStyle = "#1d2330";
      ctx.lineWidth = 2;
      ctx.strokeRect(x + filter[1] * cell, y + filter[0] * cell, cell - 1, cell - 1);
    }
    ctx.fillStyle = "#7b8497";
    const every = Math.ceil(10 / cell);
    const short = (k) => vis(String(names[k] ?? k)).slice(0, K <= 4 ? 6 : 3);
    for (let k = 0; k < K; k += every) {
      ctx.fillText(short(k), x + k * cell + cell / 2, y - 8);
      ctx.textAlign = "right";
      ctx.fillText(short(k), x - 4, y + k * cell + cell / 2);
      ctx.textAlign = "center";
    }
    ctx.textAlign = "left";
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillText("predicted →", x, 6);
    confusion.dataset.total = String(confusionSummary(data.confusion).total);
  }

  function drawScatter() {
    const { ctx, w, h } = fitCanvas(scatter);
    ctx.clearRect(0, 0, w, h);
    const t = data.scatter.target;
    const o = data.scatter.output;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of [...t, ...o]) {
      if (v === null) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (!(hi > lo)) hi = lo + 1;
    const pad = 26;
    const sx = (v) => pad + ((v - lo) / (hi - lo)) * (w - pad - 8);
    const sy = (v) => h - pad + 6 - ((v - lo) / (hi - lo)) * (h - pad - 6);
    ctx.strokeStyle = "#cfd4de";
    ctx.beginPath();
    ctx.moveTo(sx(lo), sy(lo));
    ctx.lineTo(sx(hi), sy(hi));
    ctx.stroke();
    ctx.fillStyle = "rgba(27,95,166,0.55)";
    for (let i = 0; i < t.length; i++) {
      if (t[i] === null || o[i] === null) continue;
      ctx.beginPath();
      ctx.arc(sx(t[i]), sy(o[i]), 2.2, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.fillStyle = "#7b8497";
    ctx.font = "10px system-ui, sans-serif";
    ctx.textAlign = "left";
    ctx.fillText(`target → (${formatSig(lo, 2)} … ${formatSig(hi, 2)})`, pad, h - 4);
    ctx.save();
    ctx.translate(10, h - pad);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText("predicted →", 0, 0);
    ctx.restore();
  }

  function renderGallery() {
    const names = data.class_names || [];
    let list = data.misclassified;
    if (filter) list = list.filter((m) => m.label === filter[0] && m.predicted === filter[1]);
    const shownList = list.slice(0, MAX_GALLERY);
    listHead.textContent = filter
      ? `${names[filter[0]] ?? filter[0]} taken for ${names[filter[1]] ?? filter[1]}: ${data.confusion[filter[0]][filter[1]]} (click the cell again for all mistakes)`
      : data.misclassified.length
        ? "Most confidently wrong (true → predicted, confidence) · click a cell above to filter"
        : "No mistakes on this set.";
    for (const m of shownList) {
      const x = nestedToArray(m.x);
      const [, H, W] = x.shape;
      const fig = document.createElement("figure");
      fig.className = "sx-thumb";
      const c = document.createElement("canvas");
      c.width = W * 4;
      c.height = H * 4;
      const ctx = c.getContext("2d");
      blit(ctx, tiles.grey(`m${m.index}`, W, H, x.data, 0, 1), 0, 0, W * 4, H * 4);
      const cap = document.createElement("figcaption");
      cap.textContent = `${names[m.label] ?? m.label}→${names[m.predicted] ?? m.predicted} ${Math.round(m.confidence * 100)}%`;
      fig.title = `sample ${m.index} of the ${data.split} set: true ${names[m.label] ?? m.label}, predicted ${names[m.predicted] ?? m.predicted} with ${formatSig(m.confidence, 3)}`;
      fig.append(c, cap);
      gallery.append(fig);
    }
  }

  function renderSequences() {
    const names = data.class_names || null;
    const examples = data.sequences.slice(0, 6);
    listHead.textContent = examples.length ? "Predicted against target, first test sequences:" : "";
    for (const ex of examples) {
      const x = nestedToArray(ex.x);
      const target = nestedToArray(ex.target);
      const output = nestedToArray(ex.output);
      const item = document.createElement("div");
      item.className = "sx-seq";
      if (data.task === "multiclass" && names && x.shape[1] === names.length) {
        // text: the window, then the next character(s)
        const window = decodeOneHot(x, names);
        const code = document.createElement("code");
        const label = Array.isArray(ex.label) ? ex.label : [ex.label];
        const pred = Array.isArray(ex.predicted) ? ex.predicted : [ex.predicted];
        const right = label.filter((v, i) => v === pred[i]).length;
        if (label.length === 1) {
          code.textContent = `${window.replace(/ /g, "␣")} → ${vis(names[pred[0]])}`;
          item.classList.add(pred[0] === label[0] ? "ok" : "bad");
          item.title = `target ${vis(names[label[0]])}`;
          const t = document.createElement("span");
          t.className = "hint";
          t.textContent = pred[0] === label[0] ? " ✓" : ` (target ${vis(names[label[0]])})`;
          item.append(code, t);
        } else {
          code.textContent = pred.map((p) => vis(names[p])).join("");
          const t = document.createElement("span");
          t.className = "hint";
          t.textContent = ` ${right}/${label.length} right`;
          item.append(code, t);
        }
      } else {
        const c = document.createElement("canvas");
        c.className = "sx-seq-chart";
        item.append(c);
        requestAnimationFrame(() => drawSequence(c, x, target, output));
      }
      sequences.append(item);
    }
  }

  return {
    set,
    update,
    reset() {
      data = null;
      filter = null;
      drawnKey = "";
      render();
    },
    shown: () => data,
  };
}

/** One sequence: input channel(s) faint, target dots, output line (or a marker at the end). */
function drawSequence(canvas, x, target, output) {
  const { ctx, w, h } = fitCanvas(canvas);
  ctx.clearRect(0, 0, w, h);
  const [T, F] = x.shape;
  const perStep = target.shape.length === 2;
  const perStepPlot = target.shape.length === 2;
  const sx = (t) => 6 + (t / Math.max(1, T - 1)) * (w - (perStepPlot ? 12 : 84));
  let lo = Infinity;
  let hi = -Infinity;
  const scan = (arr) => arr.data.forEach((v) => Number.isFinite(v) && ((lo = Math.min(lo, v)), (hi = Math.max(hi, v))));
  scan(x);
  scan(target);
  scan(output);
  if (!(hi > lo)) hi = lo + 1;
  const sy = (v) => h - 4 - ((v - lo) / (hi - lo)) * (h - 8);
  for (let f = 0; f < Math.min(F, 3); f++) {
    ctx.strokeStyle = css(tint(categorical(f + 2), 0.45));
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let t = 0; t < T; t++) (t ? ctx.lineTo : ctx.moveTo).call(ctx, sx(t), sy(x.data[t * F + f]));
    ctx.stroke();
  }
  if (perStep) {
    ctx.fillStyle = "#c66a0a";
    for (let t = 0; t < T; t++) {
      ctx.beginPath();
      ctx.arc(sx(t), sy(target.data[t * target.shape[1]]), 2.4, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.strokeStyle = "#1b5fa6";
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    for (let t = 0; t < T; t++) (t ? ctx.lineTo : ctx.moveTo).call(ctx, sx(t), sy(output.data[t * output.shape[1]]));
    ctx.stroke();
  } else {
    const xe = w - 64;
    ctx.fillStyle = "#c66a0a";
    ctx.beginPath();
    ctx.arc(xe, sy(target.data[0]), 4, 0, Math.PI * 2);
    ctx.fill();
    ctx.strokeStyle = "#1b5fa6";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(xe - 8, sy(output.data[0]));
    ctx.lineTo(xe + 8, sy(output.data[0]));
    ctx.stroke();
    ctx.fillStyle = "#4a5366";
    ctx.font = "10px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.fillStyle = "#1b5fa6";
    ctx.fillText(`ŷ ${formatSig(output.data[0], 2)}`, w - 2, h / 2 - 6);
    ctx.fillStyle = "#c66a0a";
    ctx.fillText(`y ${formatSig(target.data[0], 2)}`, w - 2, h / 2 + 8);
  }
}
