// "Is this gradient really right?" Central finite differences, computed by the
// server in float64, beside backprop's analytic gradient with the relative
// error: for the whole network or one layer (a side panel), and for the weight,
// bias or node the explain panel shows (a strip at the bottom of that panel).

import { formatSig } from "../scales.js";
import { gradcheckRows } from "../timeline-model.js";

function make(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role") e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

const MAX_ROWS = 400;
const STATUS_TEXT = { ok: "ok", tiny: "ok (≈0)", flagged: "flagged" };
const STATUS_TITLE = {
  ok: "relative error within the tolerance",
  tiny: "a gradient near 0: its own relative error is rounding, its difference is negligible next to the largest gradient checked",
  flagged: "backprop and finite differences disagree",
};

/** One line saying what was computed, how, and the verdict. */
function verdict(r, what) {
  const ok = r.ok;
  const el = make("div", { class: `gc-verdict ${ok ? "ok" : "bad"}`, "data-testid": "gradcheck-verdict", "data-ok": String(ok), "data-value": String(r.max_relative_error) });
  el.append(
    make("strong", { textContent: ok ? "✓ gradients agree" : "✗ flagged" }),
    ` — max relative error ${formatSig(r.max_relative_error, 3)} ${ok ? "≤" : ">"} ${formatSig(r.tolerance, 2)}`,
    make("br"),
    make("span", {
      class: "hint",
      "data-testid": "gradcheck-dtype",
      textContent: `${what}: ${r.entries.length} entr${r.entries.length === 1 ? "y" : "ies"} at step ${r.step}, central differences (L(θ+ε) − L(θ−ε)) / 2ε computed in ${r.dtype_checked}`,
    }),
  );
  return el;
}

function table(r) {
  const rows = gradcheckRows(r);
  const head = make("tr", {}, ...["parameter", "analytic ∂L/∂θ", "numeric", "rel. error", ""].map((t) => make("th", { textContent: t })));
  const body = rows.slice(0, MAX_ROWS).map((e) =>
    make(
      "tr",
      { class: e.status, "data-status": e.status },
      make("td", { textContent: `L${e.layer + 1}.${e.name}` }),
      make("td", { textContent: formatSig(e.analytic, 8), "data-value": String(e.analytic), title: String(e.analytic) }),
      make("td", { textContent: formatSig(e.numeric, 8), "data-value": String(e.numeric), title: String(e.numeric) }),
      make("td", { textContent: formatSig(e.relative_error, 2), "data-value": String(e.relative_error) }),
      make("td", { textContent: STATUS_TEXT[e.status], title: STATUS_TITLE[e.status] }),
    ),
  );
  const t = make("table", { class: "tt-table gc-table", "data-testid": "gradcheck-table" }, make("thead", {}, head), make("tbody", {}, ...body));
  if (rows.length > MAX_ROWS) t.append(make("caption", { textContent: `first ${MAX_ROWS} of ${rows.length} entries` }));
  return t;
}

/**
 * @param {{mount: HTMLElement, explain: HTMLElement}} el  the panel goes in `mount`; the strip in the explain panel
 * @param {object} travel  the controller from timetravel.js
 */
export function createGradcheckPanel(el, travel) {
  // --- the side panel: whole network or one layer ----------------------------------
  const scope = make("select", { id: "gc-scope", "data-testid": "gradcheck-scope", "aria-label": "What to check" });
  const param = make("select", { id: "gc-param", "aria-label": "Which parameter of the layer" });
  for (const [v, t] of [["", "all"], ["W", "W"], ["b", "b"]]) param.add(new Option(t, v));
  const eps = make("input", { type: "number", step: "any", min: "0", value: "1e-6", id: "gc-eps", "aria-label": "ε, the finite-difference step" });
  const most = make("input", { type: "number", step: "1", min: "1", max: "5000", value: "200", id: "gc-max", "aria-label": "Check at most this many entries (a random sample)" });
  const run = make("button", { type: "submit", class: "btn small", "data-testid": "gradcheck-run", textContent: "Run check" });
  const close = make("button", { type: "button", class: "btn ghost small", "aria-label": "Close the gradient check", textContent: "×" });
  const where = make("p", { class: "hint" });
  const out = make("div", { class: "gc-out", "aria-live": "polite" });
  const form = make(
    "form",
    { class: "tt-pick", "aria-label": "Gradient check" },
    scope,
    make("label", {}, "param ", param),
    make("label", {}, "ε ", eps),
    make("label", {}, "at most ", most),
    run,
  );
  const panel = make(
    "aside",
    { class: "tt-panel gradcheck", id: "gradcheck-panel", "data-testid": "gradcheck-panel", "aria-labelledby": "gradcheck-title", hidden: true },
    make("div", { class: "tt-head" }, make("h2", { id: "gradcheck-title", textContent: "Gradient check" }), close),
    form,
    make("div", { class: "tt-body" }, where, out),
  );
  el.mount.append(panel);
  close.addEventListener("click", () => travel.panel("gradcheck"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const layer = scope.value === "all" ? null : Number(scope.value);
    const epsilon = Number(eps.value);
    const maxEntries = Math.round(Number(most.value));
    travel.check({ layer, param: param.value || null, epsilon: epsilon > 0 ? epsilon : 1e-6, maxEntries: maxEntries >= 1 ? maxEntries : 200 });
  });

  // --- the strip in the explain panel: the selected weight, bias or node -------------
  const checkOne = make("button", { type: "button", class: "btn small", "data-testid": "explain-check-run", textContent: "Check numerically" });
  const oneOut = make("div", { class: "gc-one", "data-testid": "explain-check-result", "aria-live": "polite" });
  const strip = make("section", { class: "explain-check", "aria-label": "Check this gradient by finite differences" }, checkOne, oneOut);
  el.explain.append(strip);
  let selected = null;
  checkOne.addEventListener("click", () => travel.checkTarget(selected));

  let scopeKey = "";
  let shownCheck = null;
  let shownOne = null;

  function fillScope(s) {
    const layers = s.architecture?.layers || [];
    const key = JSON.stringify(layers.map((l) => l.type));
    if (key === scopeKey) return;
    scopeKey = key;
    const keep = scope.value;
    scope.replaceChildren(new Option("whole network", "all"), ...layers.map((l, k) => new Option(`layer ${k + 1} (${l.type}${l.units ? ` ${l.units}` : ""})`, String(k))));
    if ([...scope.options].some((o) => o.value === keep)) scope.value = keep;
  }

  function renderCheck(job) {
    if (job === shownCheck?.job && job?.status === shownCheck?.status) return;
    shownCheck = { job, status: job?.status };
    if (!job) return out.replaceChildren();
    if (job.status === "loading") return out.replaceChildren(make("p", { class: "note", textContent: "computing finite differences…" }));
    if (job.status === "error") return out.replaceChildren(make("p", { class: "note error", textContent: job.error }));
    const b = job.body;
    const what = b.layer === undefined ? "whole network" : `layer ${b.layer + 1}${b.param ? ` ${b.param}` : ""}`;
    out.replaceChildren(verdict(job.result, what), table(job.result));
  }

  function targetName(t) {
    if (!t) return "";
    if (t.kind === "node") return `b${t.layer + 1}[${t.unit}] (= Σ δ of the node)`;
    return `${t.param}${t.layer + 1}[${t.index.join("][")}]`;
  }

  function renderOne(job, target) {
    if (shownOne && shownOne.job === job && shownOne.target === target && shownOne.status === job?.status) return;
    shownOne = { job, target, status: job?.status };
    oneOut.removeAttribute("data-ok");
    oneOut.removeAttribute("data-value");
    if (!job || job.target !== target) {
      oneOut.replaceChildren(make("span", { class: "hint", textContent: `finite differences of ${targetName(target)} in float64, on the same batch` }));
      return;
    }
    if (job.status === "loading") return oneOut.replaceChildren(make("span", { class: "hint", textContent: "computing…" }));
    if (job.status === "error") return oneOut.replaceChildren(make("span", { class: "note error", textContent: job.error }));
    const r = job.result;
    const e = r.entries[0];
    oneOut.dataset.ok = String(r.ok);
    oneOut.dataset.value = String(e.relative_error);
    oneOut.replaceChildren(
      make(
        "div",
        { class: "gc-pair" },
        make("span", { class: "k", textContent: "analytic" }),
        make("span", { class: "v", "data-testid": "explain-check-analytic", "data-value": String(e.analytic), textContent: formatSig(e.analytic, 10) }),
        make("span", { class: "k", textContent: "numeric" }),
        make("span", { class: "v", "data-testid": "explain-check-numeric", "data-value": String(e.numeric), textContent: formatSig(e.numeric, 10) }),
        make("span", { class: "k", textContent: "relative error" }),
        make("span", { class: `v ${r.ok ? "ok" : "bad"}`, textContent: `${formatSig(e.relative_error, 2)} ${r.ok ? "✓ ok" : "✗ flagged"}` }),
      ),
      make("span", { class: "hint", textContent: `${targetName(target)} at step ${r.step}, in ${r.dtype_checked}, ε ${formatSig(job.body.epsilon ?? 1e-6, 2)}, tolerance ${formatSig(r.tolerance, 2)}` }),
    );
  }

  return {
    update(s) {
      const t = s.travel || {};
      panel.hidden = t.panel !== "gradcheck";
      fillScope(s);
      param.disabled = scope.value === "all";
      const past = t.past?.step;
      where.textContent =
        past === undefined
          ? "On the batch of the last traced step, at the weights that step started from: backprop's ∂L/∂θ beside (L(θ+ε) − L(θ−ε)) / 2ε, in float64 even for float32 sessions."
          : `On the batch of step ${past} (the step you are viewing), at the weights that step started from, in float64.`;
      renderCheck(t.check || null);
      selected = s.ui.selected;
      strip.hidden = !selected;
      if (selected) renderOne(t.explainCheck || null, selected);
    },
    reset() {
      scopeKey = "";
      shownCheck = null;
      shownOne = null;
    },
  };
}
