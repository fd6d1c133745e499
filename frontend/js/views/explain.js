// The explain panel: how one weight's, bias's or node's gradient was made at
// the last traced step, with the server's numbers (GET …/explain), factor by
// factor: a_i · δ_j summed over the batch, δ_j from the layer above or the
// loss, the regularization term and the clipping factor, then what the
// optimizer did with it.

import { formatSig } from "../scales.js";

const MAX_ROWS = 12;

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

const f = (v, d = 5) => (v === null || v === undefined ? "—" : typeof v === "number" ? formatSig(v, d) : esc(v));

/** A value cell carrying its full-precision number for tests and copy-paste. */
function num(v, testid, d = 6) {
  const attr = testid ? ` data-testid="${testid}"` : "";
  const raw = typeof v === "number" ? ` data-value="${v}"` : "";
  return `<span${attr}${raw} title="${typeof v === "number" ? v : ""}">${f(v, d)}</span>`;
}

function table(headers, columns, indices, sumRow) {
  const n = columns[0]?.length || 0;
  const shown = Math.min(n, MAX_ROWS);
  let html = `<table class="samples"><thead><tr><th>sample</th>${headers.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>`;
  for (let r = 0; r < shown; r++) {
    html += `<tr><td>#${indices?.[r] ?? r}</td>${columns.map((c) => `<td>${f(c[r], 4)}</td>`).join("")}</tr>`;
  }
  if (n > shown) html += `<tr><td colspan="${headers.length + 1}" class="note">… ${n - shown} more samples in the batch</td></tr>`;
  if (sumRow) html += `<tr class="sum"><td>Σ</td>${sumRow.map((v) => `<td>${v === "" ? "" : f(v, 5)}</td>`).join("")}</tr>`;
  return html + "</tbody></table>";
}

/** The input's name as the network's hover read-out gives it: the feature's name, else x1, x2, … */
function inputName(i, featureNames) {
  return String(featureNames?.[i] ?? `x${i + 1}`);
}

function targetTitle(target, nLayers, featureNames) {
  const layerName = (k) => (k === nLayers - 1 ? "output layer" : `layer ${k + 1}`);
  if (target.kind === "node") return `Node ${target.unit} of the ${layerName(target.layer)}`;
  if (target.kind === "bias") return `Bias b[${target.index[0]}] of the ${layerName(target.layer)}`;
  const from = target.layer === 0 ? `input ${inputName(target.index[0], featureNames)}` : `layer ${target.layer} unit ${target.index[0]}`;
  return `Weight W[${target.index.join("][")}] — from ${from} to ${layerName(target.layer)} unit ${target.index[1]}`;
}

function deltaSection(df, indices, j) {
  if (!df) return "";
  const rows = [];
  let headers;
  let cols;
  if (df.source === "loss") {
    headers = ["z", "a = output", "target", ...(df.fprime ? ["f′(z)"] : []), "δ"];
    cols = [df.z, df.a, df.target, ...(df.fprime ? [df.fprime] : []), df.delta];
  } else {
    headers = ["z", "f′(z)", "Σ W_next·δ_next", "δ = f′·Σ"];
    cols = [df.z, df.fprime, df.downstream, df.delta];
  }
  rows.push(`<h4>① Blame of unit ${j}: δ = ∂L/∂z</h4>`);
  rows.push(`<div class="formula">${esc(df.formula || "")}</div>`);
  if (df.source === "loss") {
    rows.push(`<p class="note">At the output, δ comes straight from the loss (already divided by the batch size).</p>`);
    // bce / cross-entropy: the activation's f′(z) cancels out of δ, so the table has no f′ column
    if (df.fprime_note) rows.push(`<p class="note" data-testid="explain-fprime-note">${esc(df.fprime_note)}</p>`);
  } else if (df.w_next) rows.push(`<p class="note">W_next[${j}, ·] = [${df.w_next.slice(0, 8).map((v) => f(v, 3)).join(", ")}${df.w_next.length > 8 ? ", …" : ""}]</p>`);
  rows.push(table(headers, cols.map((c) => c || []), indices, null));
  return rows.join("");
}

// Each optimizer's numbers under the symbol its rule line uses, then the engine's key
// (engine/optimizers.py `explain`), in the order the rule reads.
const OPTIMIZER_SYMBOLS = {
  grad: "∂L/∂θ",
  effective_grad: "g",
  t: "t",
  decayed_lr: "lr_t",
  exp_avg: "m",
  exp_avg_sq: "v",
  max_exp_avg_sq: "v_max",
  square_avg: "v",
  grad_avg: "ḡ",
  v_tilde: "ṽ",
  sum: "s",
  momentum_buffer: "b",
  bias_correction1: "1−β1^t",
  bias_correction2: "1−β2^t",
  m_hat: "m̂",
  v_hat: "v̂",
  denominator: null, // per optimizer, below
  decay_term: "− lr·wd·θ",
};
const DENOMINATORS = { adam: "√v̂ + ε", adamw: "√v̂ + ε", rmsprop: "√ṽ + ε", adagrad: "√s + ε" };
// the running buffers: their values are the ones this step left behind
const OPTIMIZER_STATE = new Set(["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "square_avg", "grad_avg", "sum", "momentum_buffer"]);
// shown elsewhere in both panels: the name, the rule line, lr, and Δθ as the trace applied it
const SHOWN_ELSEWHERE = new Set(["name", "optimizer", "rule", "lr", "update"]);

/**
 * The optimizer's inner numbers of an explain answer, labelled as its rule line names them,
 * e.g. "m (exp_avg)". Keys this page does not know come last under their own name.
 * @returns {{key: string, label: string, value: number}[]}
 */
export function optimizerRows(opt) {
  if (!opt) return [];
  const symbolOf = (key) => (key === "denominator" ? DENOMINATORS[opt.name || opt.optimizer] : OPTIMIZER_SYMBOLS[key]);
  const label = (key) => (key === "t" ? "t (step count)" : symbolOf(key) ? `${symbolOf(key)} (${key})` : key);
  const known = Object.keys(OPTIMIZER_SYMBOLS).filter((k) => typeof opt[k] === "number");
  const unknown = Object.keys(opt).filter((k) => !(k in OPTIMIZER_SYMBOLS) && !SHOWN_ELSEWHERE.has(k) && typeof opt[k] === "number");
  return [...known, ...unknown].map((key) => ({ key, label: label(key), value: opt[key] }));
}

/** Which of the rows are running state (values after the step), as a note; "" when none. */
export function optimizerStateNote(opt) {
  const names = [...new Set(Object.keys(opt || {}).filter((k) => OPTIMIZER_STATE.has(k) && typeof opt[k] === "number").map((k) => OPTIMIZER_SYMBOLS[k]))];
  return names.length ? `${names.join(", ")}: the optimizer's running state as this step left it (the rule's new values).` : "";
}

function optimizerSection(opt, lr) {
  if (!opt) return "";
  let html = `<h4>③ The optimizer (${esc(opt.name || opt.optimizer)})</h4>`;
  if (opt.rule) html += `<div class="formula">${esc(opt.rule)}</div>`;
  html += `<div class="eq"><span class="k">lr (this step)</span><span class="v">${num(lr ?? opt.lr, "explain-lr")}</span>`;
  for (const row of optimizerRows(opt)) html += `<span class="k">${esc(row.label)}</span><span class="v">${num(row.value, `explain-opt-${row.key}`)}</span>`;
  html += `</div>`;
  const note = optimizerStateNote(opt);
  if (note) html += `<p class="note">${esc(note)}</p>`;
  return html;
}

/**
 * Render an explain response into `root`.
 * @param {HTMLElement} root
 * @param {{status: string, target: object, response?: object, error?: string, note?: string}} ex
 *   status "empty": nothing to ask the server yet (step 0), `note` says why
 * @param {{nLayers: number, featureNames?: string[]}} ctx  featureNames: the input layer's, for the title
 */
export function renderExplain(root, ex, { nLayers, featureNames } = { nLayers: 0 }) {
  if (!ex) {
    root.innerHTML = `<p class="note">Click a weight (edge), a bias (dot) or a node in the network to see how its gradient is made.</p>`;
    return;
  }
  const head = `<p class="target" data-testid="explain-title">${esc(targetTitle(ex.target, nLayers, featureNames))}</p>`;
  if (ex.status === "loading" && !ex.response) {
    root.innerHTML = `${head}<p class="note">loading…</p>`;
    return;
  }
  if (ex.status === "error" || ex.status === "empty") {
    root.innerHTML = `${head}<p class="note" data-testid="explain-message">${esc(ex.error ?? ex.note)}</p>`;
    return;
  }
  const r = ex.response;
  const d = r.data;
  const indices = d.indices;
  let html = `${head}<p class="note" data-testid="explain-step" data-value="${r.step}">numbers of step ${r.step}, batch of ${indices?.length ?? "?"} sample(s) — values before the update</p>`;
  if (d.kind === "node") {
    const df = d.delta_factors;
    html += deltaSection(df, indices, r.index[0]);
    const sum = df.delta ? df.delta.reduce((s, v) => s + v, 0) : null;
    html += `<h4>② What δ is used for</h4><p class="note">Every weight into this node gets ∂L/∂W[i, ${r.index[0]}] = Σ a_i·δ, its bias ∂L/∂b = Σ δ = ${f(sum)}; the layer below receives Σ W·δ.</p>`;
    root.innerHTML = html;
    return;
  }
  const j = r.index[r.index.length - 1];
  html += `<h4>Forward</h4><div class="formula">z_${j} = Σ_i a_i · W[i, ${j}] + b_${j}     a_${j} = ${esc(d.delta_factors?.activation || "f")}(z_${j})</div>`;
  html += deltaSection(d.delta_factors, indices, j);
  html += `<h4>② The gradient ${d.kind === "bias" ? "∂L/∂b" : "∂L/∂w"}</h4><div class="formula">${esc(d.formula || "")}</div>`;
  if (d.kind === "weight") {
    html += table(["a_i", "δ_j", "a_i·δ_j"], [d.a_i || [], d.delta_factors?.delta || [], d.products || []], indices, ["", "", d.grad_data]);
  } else {
    html += table(["δ_j"], [d.products || []], indices, [d.grad_data]);
  }
  const reg = d.regularization || { kind: "none", rate: 0 };
  html += `<div class="eq">`;
  html += `<span class="k">Σ over the batch</span><span class="v">${num(d.grad_data, "explain-grad-data")}</span>`;
  html += `<span class="k">+ regularization (${esc(reg.kind)}${reg.kind !== "none" ? `, rate ${f(reg.rate)}` : ""})</span><span class="v">${num(d.grad_reg, "explain-grad-reg")}</span>`;
  if (d.clipped) {
    // the step clipped the whole gradient after adding the regularizer: the factor scales both
    html += `<span class="k">= before clipping</span><span class="v">${num(d.grad_data + d.grad_reg, "explain-grad-unclipped")}</span>`;
    html += `<span class="k">× clipping factor (max norm / ‖g‖, g: every parameter's gradient)</span><span class="v">${num(d.clip_scale, "explain-clip")}</span>`;
  }
  html += `<span class="k">= ∂L/∂${d.kind === "bias" ? "b" : "w"}</span><span class="v total">${num(d.grad, "explain-grad")}</span>`;
  html += `</div>`;
  html += optimizerSection(d.optimizer, d.lr);
  html += `<h4>④ The new value</h4>`;
  html += `<div class="flow"><span class="box">${num(d.value_before, "explain-before")}</span> + Δ <span class="box">${num(d.update, "explain-update")}</span> = <span class="box">${num(d.value_after, "explain-after")}</span></div>`;
  root.innerHTML = html;
}
