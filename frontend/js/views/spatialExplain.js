// The explanation panel of the CNN / RNN views, from the server's numbers
// (GET …/explain/conv | kernel | input | recurrent): the sliding kernel's dot product and
// what its δ sends back, a kernel entry's gradient as input ⋆ δ summed over the batch,
// ∂L/∂X as δ convolved with the flipped kernel, and ∂L/∂h_t built from step t+1.
// Built with DOM calls (colours through the CSSOM: the page's CSP forbids inline styles).

import { diverging, css, luminance } from "../colors.js";
import { formatSig } from "../scales.js";
import { optimizerRows, optimizerStateNote } from "./explain.js";

const MAX_CHANNELS = 4;
const MAX_ROWS = 12;
const MAX_UNITS = 32;

function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A number carrying its full precision in data-value (tests, copy-paste). */
function num(v, testid, digits = 6) {
  const s = h("span", "num", formatSig(v, digits));
  if (testid) s.dataset.testid = testid;
  if (typeof v === "number") {
    s.dataset.value = String(v);
    s.title = String(v);
  }
  return s;
}

function eq(pairs) {
  const d = h("div", "eq");
  for (const [k, v, testid, total] of pairs) {
    d.append(h("span", "k", k));
    const cell = h("span", `v${total ? " total" : ""}`);
    cell.append(typeof v === "number" || v === null ? num(v, testid) : v);
    d.append(cell);
  }
  return d;
}

const maxAbs2 = (m) => Math.max(0, ...m.flat(Infinity).filter(Number.isFinite).map(Math.abs));

/**
 * A small matrix as a table of numbers on their colours. `onCell(i, j)` makes cells clickable;
 * `mark(i, j)` dims cells (padding). Scale: the matrix's own largest |value| unless given.
 */
function grid(matrix, { title, scale, onCell, dim, testid } = {}) {
  const wrap = h("figure", "sx-grid");
  if (title) wrap.append(h("figcaption", "", title));
  const table = h("table");
  if (testid) table.dataset.testid = testid;
  const s = scale || maxAbs2(matrix) || 1;
  matrix.forEach((r, i) => {
    const tr = h("tr");
    r.forEach((v, j) => {
      const td = h("td", "", formatSig(v, 2));
      td.title = String(v);
      const colour = diverging(v / s);
      td.style.background = css(colour);
      td.style.color = luminance(colour) < 0.35 ? "#fff" : "#1d2330";
      if (dim?.(i, j)) td.classList.add("pad");
      if (onCell && !dim?.(i, j)) {
        td.classList.add("click");
        td.addEventListener("click", () => onCell(i, j));
      }
      tr.append(td);
    });
    table.append(tr);
  });
  wrap.append(table);
  return wrap;
}

function op(text) {
  return h("span", "sx-op", text);
}

function section(root, title) {
  root.append(h("h4", "", title));
}

function stepNote(r, extra = "") {
  const p = h("p", "note", `numbers of step ${r.step}${extra} — parameters before that step's update`);
  p.dataset.testid = "sx-step";
  p.dataset.value = String(r.step);
  return p;
}

/**
 * @param {HTMLElement} root
 * @param {{status, target, response?, error?}} ex
 * @param {{select(target), sampleIndex(n): number|undefined, layerName(k): string}} ctx
 */
export function renderSpatialExplain(root, ex, ctx) {
  root.replaceChildren();
  if (!ex) return;
  root.append(h("p", "target", titleOf(ex.target, ctx)));
  if (ex.status === "error") {
    root.append(h("p", "note", ex.error));
    return;
  }
  if (!ex.response) {
    root.append(h("p", "note", "loading…"));
    return;
  }
  const r = ex.response;
  const d = r.data;
  if (d.kind === "conv_position") convPosition(root, r, d, ctx);
  else if (d.kind === "conv_kernel") convKernel(root, r, d, ctx);
  else if (d.kind === "conv_input") convInput(root, r, d, ctx);
  else recurrentStep(root, r, d);
}

function titleOf(t, ctx) {
  const sample = ctx.sample;
  const idx = ctx.sampleIndex(sample);
  const of = `sample ${sample + 1}${idx !== undefined ? ` (#${idx})` : ""}`;
  if (t.kind === "conv") return `${ctx.layerName(t.layer)} · map ${t.filter} · position (${t.row}, ${t.col}) · ${of}`;
  if (t.kind === "kernel") return `${ctx.layerName(t.layer)} · kernel entry K[${t.filter}, ${t.channel}, ${t.i}, ${t.j}]`;
  if (t.kind === "input") return `∂L/∂X at (${t.row}, ${t.col}) of channel ${t.channel} — input of ${ctx.layerName(t.layer)} · ${of}`;
  return `${ctx.layerName(t.layer)} · ∂L/∂h at t = ${t.t} · ${of}`;
}

function convPosition(root, r, d, ctx) {
  root.append(stepNote(r));
  section(root, "① Forward: the kernel on the patch under it");
  root.append(h("div", "formula", d.formula));
  const padded = (i, j) => d.input_rows[i] < 0 || d.input_cols[j] < 0;
  const channels = Math.min(d.patch.length, MAX_CHANNELS);
  for (let c = 0; c < channels; c++) {
    const rowEl = h("div", "sx-grids");
    rowEl.append(
      grid(d.patch[c], {
        title: `X${d.patch.length > 1 ? ` ch ${c}` : ""} rows ${d.input_rows.filter((v) => v >= 0).join(",")}`,
        dim: padded,
        onCell: (i, j) => ctx.select({ kind: "input", layer: r.layer, channel: c, row: d.input_rows[i], col: d.input_cols[j] }),
        testid: c === 0 ? "sx-patch" : undefined,
      }),
      op("⊙"),
      grid(d.kernel[c], { title: `K[${d.filter}${d.patch.length > 1 ? `, ${c}` : ""}]`, onCell: (i, j) => ctx.select({ kind: "kernel", layer: r.layer, filter: d.filter, channel: c, i, j }) }),
      op("="),
      grid(d.products[c], { title: "products" }),
    );
    root.append(rowEl);
  }
  if (d.patch.length > channels) root.append(h("p", "note", `… and ${d.patch.length - channels} more input channels, summed the same way`));
  root.append(h("p", "note", "Click a patch value for ∂L/∂X there, a kernel value for its whole gradient."));
  root.append(
    eq([
      ["Σ products", d.sum, "sx-sum"],
      [`+ b[${d.filter}]`, d.bias, "sx-bias"],
      ["= z", d.z, "sx-z", true],
      [`a = ${d.activation}(z)`, d.a, "sx-a", true],
    ]),
  );
  const b = d.backward;
  section(root, "② Backward: δ = ∂L/∂z at this position");
  root.append(h("div", "formula", b.formula || ""));
  const rows = [];
  if (b.source !== "loss") {
    rows.push([`∂L/∂a (from the ${b.source} above)`, b.dA, "sx-dA"]);
    rows.push([`× f′(z) (${b.activation})`, b.fprime, "sx-fprime"]);
  }
  rows.push(["= δ", b.delta, "sx-delta", true]);
  root.append(eq(rows));
  section(root, "③ What this δ sends back");
  const back = h("div", "sx-grids");
  back.append(
    grid(b.kernel_grad_share[0], { title: "to ∂L/∂K: X·δ" }),
    grid(b.input_grad_share[0], { title: "to ∂L/∂X: K·δ" }),
  );
  root.append(back);
  root.append(h("p", "note", "Every position of every sample adds such a share: ∂L/∂K is their sum over the batch (input ⋆ δ), ∂L/∂X under the kernel collects K·δ from every position that covers it (δ convolved with the flipped kernel)."));
}

function convKernel(root, r, d, ctx) {
  root.append(stepNote(r, `, batch of ${d.indices?.length ?? "?"}`));
  section(root, "① The gradient: input ⋆ δ, over every position and sample");
  root.append(h("div", "formula", d.formula));
  const n = d.products.length;
  const sums = d.products.map((m) => m.flat().reduce((a, b) => a + b, 0));
  const table = h("table", "samples");
  const head = h("tr");
  for (const t of ["sample", "Σ_pos X·δ"]) head.append(h("th", "", t));
  table.append(head);
  for (let i = 0; i < Math.min(n, MAX_ROWS); i++) {
    const tr = h("tr");
    tr.append(h("td", "", `#${d.indices?.[i] ?? i}`), h("td", "", formatSig(sums[i], 4)));
    table.append(tr);
  }
  if (n > MAX_ROWS) {
    const tr = h("tr");
    const td = h("td", "note", `… ${n - MAX_ROWS} more samples`);
    td.colSpan = 2;
    tr.append(td);
    table.append(tr);
  }
  root.append(table);
  const s = Math.min(ctx.sample, n - 1);
  const g = h("div", "sx-grids");
  g.append(grid(d.inputs[s], { title: `X it read (sample ${s + 1})` }), op("⊙"), grid(d.delta[s], { title: "δ of the map" }), op("="), grid(d.products[s], { title: "products" }));
  root.append(g);
  const reg = d.regularization || { kind: "none", rate: 0 };
  const rows = [
    ["Σ over the batch", d.grad_data, "sx-grad-data"],
    [`+ regularization (${reg.kind})`, d.grad_reg, "sx-grad-reg"],
  ];
  if (d.clipped) {
    rows.push(["= before clipping", d.grad_data + d.grad_reg, "sx-grad-unclipped"]);
    rows.push(["× clipping factor (max norm / ‖g‖, g: every parameter's gradient)", d.clip_scale, "sx-clip"]);
  }
  rows.push(["= ∂L/∂K", d.grad, "sx-grad", true]);
  root.append(eq(rows));
  section(root, `② The optimizer (${d.optimizer?.name || ""})`);
  if (d.optimizer?.rule) root.append(h("div", "formula", d.optimizer.rule));
  // the same inner numbers, labels and order as the dense explain panel
  const inner = optimizerRows(d.optimizer).map((row) => [row.label, row.value, `sx-opt-${row.key}`]);
  root.append(
    eq([
      ["lr", d.lr, "sx-lr"],
      ...inner,
      ["value before", d.value_before, "sx-before"],
      ["+ Δ", d.update, "sx-update"],
      ["= value after", d.value_after, "sx-after", true],
    ]),
  );
  const note = optimizerStateNote(d.optimizer);
  if (note) root.append(h("p", "note", note));
}

function convInput(root, r, d, ctx) {
  root.append(stepNote(r));
  section(root, "∂L/∂X: δ convolved with the flipped kernel");
  root.append(h("div", "formula", d.formula));
  const F = d.products.length;
  const shown = Math.min(F, 8);
  for (let f = 0; f < shown; f++) {
    const sum = d.products[f].flat().reduce((a, b) => a + b, 0);
    const rowEl = h("div", "sx-grids");
    const dim = (i, j) => d.out_rows[i] < 0 || d.out_cols[j] < 0;
    rowEl.append(
      grid(d.delta_window[f], { title: `δ of map ${f}`, dim, onCell: (i, j) => ctx.select({ kind: "conv", layer: r.layer, filter: f, row: d.out_rows[i], col: d.out_cols[j] }) }),
      op("⊙"),
      grid(d.flipped_kernel[f], { title: `K[${f}] flipped` }),
      op("→"),
      h("span", "sx-sum", `Σ = ${formatSig(sum, 4)}`),
    );
    root.append(rowEl);
  }
  if (F > shown) root.append(h("p", "note", `… and ${F - shown} more maps`));
  root.append(eq([["∂L/∂X = Σ over maps", d.value, "sx-value", true]]));
}

function recurrentStep(root, r, d) {
  root.append(stepNote(r));
  root.append(h("div", "formula", d.formula));
  const U = Math.min(d.units, MAX_UNITS);
  const lstm = d.kind === "lstm_step";
  const cols = [
    ["unit", null],
    ["∂L/∂h_{t+1}", d.dh_next],
    ...(d.window < d.steps ? [["− dropped", d.dropped]] : []),
    ...(lstm ? [] : [["f′(z_{t+1})", d.fprime_next]]),
    ...(lstm ? [] : [["δ_{t+1}", d.delta_next]]),
    ["δ_{t+1}·W_hᵀ", d.carried],
    ["+ direct", d.direct],
    ["= ∂L/∂h_t", d.dh_built],
    ["traced", d.dh],
  ];
  section(root, `① ∂L/∂h_${d.t} from step ${d.t + 1}${d.t + 1 >= d.steps ? " (the last step: nothing comes from later)" : ""}`);
  root.append(vectorTable(cols, U, "sx-dh"));
  if (d.units > U) root.append(h("p", "note", `… ${d.units - U} more units`));
  if (lstm) {
    section(root, `② The cell state: ∂L/∂c_${d.t}`);
    root.append(
      vectorTable(
        [
          ["unit", null],
          ["i", d.gates.i],
          ["f", d.gates.f],
          ["g", d.gates.g],
          ["o", d.gates.o],
          ["∂L/∂c_{t+1}", d.dc_next],
          ["f_{t+1}", d.f_next],
          ["= ∂L/∂c_t", d.dc_built],
          ["traced", d.dc],
        ],
        U,
        "sx-dc",
      ),
    );
  }
  section(root, `${lstm ? "③" : "②"} This step's share of ∂L/∂W_h = Σ_batch h_{t−1}ᵀ·δ_t`);
  root.append(eq([["‖share of step t‖", d.grad_W_h_step_norm, "sx-step-norm", true]]));
  if (d.truncate) root.append(h("p", "note", `Truncated BPTT, k = ${d.truncate}: a loss term's gradient stops after ${d.truncate} steps; "dropped" is the part of ∂L/∂h_{t+1} that has used up its steps here.`));
}

function vectorTable(cols, U, testid) {
  const table = h("table", "samples sx-vectors");
  table.dataset.testid = testid;
  const head = h("tr");
  for (const [name] of cols) head.append(h("th", "", name));
  table.append(head);
  for (let u = 0; u < U; u++) {
    const tr = h("tr");
    for (const [name, values] of cols) {
      if (!values) tr.append(h("td", "", String(u)));
      else {
        const v = values[u];
        const td = h("td", "", formatSig(v, 3));
        td.title = String(v);
        if (name.startsWith("= ")) td.classList.add("total");
        tr.append(td);
      }
    }
    table.append(tr);
  }
  return table;
}
