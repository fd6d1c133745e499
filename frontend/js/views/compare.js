// Compare two recorded steps A and B: the decision boundary at both (two small
// output planes), per-layer parameter norms and the norm of their change, and
// every weight's change ΔW = W(B) − W(A) as the edges of a network drawing.

import { networkLayout, edgeCurve, hitTest } from "../layout.js";
import { diverging, css } from "../colors.js";
import { formatSig } from "../scales.js";
import { fitCanvas, roundRect } from "../draw.js";
import { at2 } from "../protocol.js";
import { columnCounts, isDense } from "../state.js";
import { maxChange, nestedToArray } from "../timeline-model.js";
import { createOutputPlane } from "./outputPlane.js";

const LEVELS = 12;

function make(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "for" || k === "role") e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

function evalLine(ev) {
  if (!ev) return "—";
  const acc = Number.isFinite(ev.test_accuracy) ? ` · test acc ${Math.round(ev.test_accuracy * 100)}%` : "";
  return `train ${formatSig(ev.train_loss, 4)} · test ${formatSig(ev.test_loss, 4)}${acc}`;
}

/** Heatmaps of a decoded frame, as `state.heat` holds them. */
function heatOf(frame) {
  const a = frame?.arrays || {};
  return { output: a["heat.output"] || null, outputClass: a["heat.output_class"] || null, input: null, layers: [] };
}

/**
 * @param {HTMLElement} mount  where the panel goes (document.body)
 * @param {object} travel  the controller from timetravel.js
 */
export function createComparePanel(mount, travel) {
  const inputA = make("input", { type: "number", min: "0", step: "1", id: "compare-a", "data-testid": "compare-a", "aria-label": "Step A" });
  const inputB = make("input", { type: "number", min: "0", step: "1", id: "compare-b", "data-testid": "compare-b", "aria-label": "Step B" });
  const close = make("button", { type: "button", class: "btn ghost small", "aria-label": "Close the comparison", textContent: "×" });
  const status = make("p", { class: "note", role: "status" });
  const planeA = make("canvas", { class: "cmp-plane", "data-testid": "compare-plane-a", role: "img", "aria-label": "Output at step A" });
  const planeB = make("canvas", { class: "cmp-plane", "data-testid": "compare-plane-b", role: "img", "aria-label": "Output at step B" });
  const capA = make("span", { class: "cmp-cap" });
  const capB = make("span", { class: "cmp-cap" });
  const evalA = make("span", { class: "cmp-eval", "data-testid": "compare-eval-a" });
  const evalB = make("span", { class: "cmp-eval", "data-testid": "compare-eval-b" });
  const titleA = make("b", { "data-testid": "compare-step-a" });
  const titleB = make("b", { "data-testid": "compare-step-b" });
  const norms = make("table", { class: "tt-table", "data-testid": "compare-norms" });
  const net = make("canvas", { class: "cmp-net", "data-testid": "compare-network", role: "img", "aria-label": "Every weight's change from step A to step B" });
  const readout = make("span", { class: "cmp-readout", "data-testid": "compare-readout" });
  const netNote = make("p", { class: "note" });
  const ramp = make("span", { class: "ramp" });
  ramp.style.background = `linear-gradient(90deg, ${[-1, -0.5, 0, 0.5, 1].map((t) => css(diverging(t))).join(",")})`;
  const form = make(
    "form",
    { class: "tt-pick", "aria-label": "Steps to compare" },
    make("label", {}, "A ", inputA),
    make("label", {}, "B ", inputB),
    make("button", { type: "submit", class: "btn small", textContent: "Compare" }),
    make("span", { class: "hint", textContent: "or drag A and B on the timeline" }),
  );
  const panel = make(
    "aside",
    { class: "tt-panel compare", id: "compare-panel", "data-testid": "compare-panel", "aria-labelledby": "compare-title", hidden: true },
    make("div", { class: "tt-head" }, make("h2", { id: "compare-title", textContent: "Compare two steps" }), close),
    form,
    make(
      "div",
      { class: "tt-body" },
      status,
      make(
        "div",
        { class: "cmp-planes" },
        make("figure", {}, planeA, make("figcaption", {}, "step A ", titleA, " ", capA, make("br"), evalA)),
        make("figure", {}, planeB, make("figcaption", {}, "step B ", titleB, " ", capB, make("br"), evalB)),
      ),
      make("h4", { textContent: "Per-layer norms" }),
      norms,
      make("h4", { textContent: "Every weight's change ΔW = W(B) − W(A)" }),
      net,
      make("div", { class: "cmp-legend" }, make("span", {}, "ΔW < 0", ramp, "ΔW > 0 · width ∝ √|ΔW| · node: Δb"), readout),
      netNote,
    ),
  );
  mount.append(panel);

  const planes = {
    a: createOutputPlane({ canvas: planeA, caption: capA }, { addPoint() {}, canAdd: () => false }),
    b: createOutputPlane({ canvas: planeB, caption: capB }, { addPoint() {}, canAdd: () => false }),
  };

  close.addEventListener("click", () => travel.panel("compare"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const a = Number(inputA.value);
    const b = Number(inputB.value);
    if (Number.isFinite(a) && Number.isFinite(b)) travel.compare(a, b);
  });

  let layout = null;
  let drawn = null; // the result drawn last (the panel redraws only when it changes or resizes)
  let size = "";
  let hover = null;
  let current = null;
  const written = { a: null, b: null };

  net.addEventListener("mousemove", (ev) => {
    if (!layout) return;
    const r = net.getBoundingClientRect();
    const hit = hitTest(layout, ev.clientX - r.left, ev.clientY - r.top, 5);
    if (JSON.stringify(hit) === JSON.stringify(hover)) return;
    hover = hit;
    showReadout();
  });
  net.addEventListener("mouseleave", () => {
    hover = null;
    showReadout();
  });

  function changeOf(k, name) {
    const c = current?.compare?.result?.resp?.layers?.[k]?.change?.[name];
    return c === undefined ? null : nestedToArray(c);
  }

  function showReadout() {
    const c = current?.compare;
    if (!hover || !c?.result || hover.kind === "node" && hover.column === 0) {
      readout.textContent = c?.result ? "hover a weight to read its change" : "";
      return;
    }
    const k = hover.column - 1;
    if (hover.kind === "edge") {
      const d = changeOf(k, "W");
      readout.textContent = `ΔW${k + 1}[${hover.i}][${hover.j}] = ${d ? formatSig(at2(d, hover.i, hover.j), 5) : "—"}`;
    } else {
      const d = changeOf(k, "b");
      readout.textContent = `Δb${k + 1}[${hover.unit}] = ${d ? formatSig(d.data[hover.unit], 5) : "—"}`;
    }
  }

  function renderNorms(rows) {
    const head = make("tr", {}, ...["layer", "‖θ‖ at A", "‖θ‖ at B", "‖Δθ‖", "‖Δθ‖ / ‖θ_A‖"].map((t) => make("th", { textContent: t })));
    const body = rows.map((r) =>
      make(
        "tr",
        { "data-layer": String(r.layer) },
        make("td", { textContent: String(r.layer + 1) }),
        make("td", { textContent: formatSig(r.normA, 5), "data-value": String(r.normA), "data-col": "norm-a" }),
        make("td", { textContent: formatSig(r.normB, 5), "data-value": String(r.normB), "data-col": "norm-b" }),
        make("td", { textContent: formatSig(r.changeNorm, 4), "data-value": String(r.changeNorm), "data-col": "change" }),
        make("td", { class: "bar-cell" }, make("span", { class: "bar", "data-w": "" }), formatSig(r.relative, 3)),
      ),
    );
    norms.replaceChildren(make("thead", {}, head), make("tbody", {}, ...body));
    const most = Math.max(1e-12, ...rows.map((r) => (Number.isFinite(r.relative) ? r.relative : 0)));
    norms.querySelectorAll(".bar").forEach((bar, i) => {
      bar.style.width = `${Math.round(40 * Math.min(1, rows[i].relative / most))}px`;
    });
  }

  function drawNet(s, resp) {
    const { ctx, w, h } = fitCanvas(net);
    ctx.clearRect(0, 0, w, h);
    layout = null;
    if (!isDense(s)) {
      netNote.textContent = "This architecture is not drawn as a dense network here; the table above has its per-layer change.";
      return;
    }
    netNote.textContent = "";
    const counts = columnCounts(s);
    layout = networkLayout({ counts, width: w, height: h, top: 8, bottom: 12, left: 10, right: 10, maxNode: 22, minNode: 8 });
    const m = maxChange(resp, "W");
    const mb = maxChange(resp, "b");
    const sz = layout.nodeSize;
    const buckets = new Map();
    for (let c = 1; c < layout.columns.length; c++) {
      const d = changeOf(c - 1, "W");
      for (const a of layout.columns[c - 1].nodes) {
        for (const b of layout.columns[c].nodes) {
          const t = d && m > 0 ? at2(d, a.unit, b.unit) / m : 0;
          const q = Math.round(Math.sign(t) * Math.sqrt(Math.abs(t)) * LEVELS) || 0;
          if (!buckets.has(q)) buckets.set(q, []);
          buckets.get(q).push(edgeCurve(a, b, sz));
        }
      }
    }
    ctx.lineCap = "round";
    for (const q of [...buckets.keys()].sort((x, y) => Math.abs(x) - Math.abs(y))) {
      const f = Math.abs(q) / LEVELS;
      ctx.strokeStyle = q === 0 ? "rgba(200,204,212,0.6)" : css(diverging(Math.sign(q) * (0.3 + 0.7 * f)), 0.35 + 0.6 * f);
      ctx.lineWidth = 0.6 + 4 * f;
      ctx.beginPath();
      for (const e of buckets.get(q)) {
        ctx.moveTo(e[0], e[1]);
        ctx.bezierCurveTo(e[2], e[3], e[4], e[5], e[6], e[7]);
      }
      ctx.stroke();
    }
    for (const col of layout.columns) {
      const db = col.index > 0 ? changeOf(col.index - 1, "b") : null;
      for (const node of col.nodes) {
        const t = db && mb > 0 ? db.data[node.unit] / mb : 0;
        roundRect(ctx, node.x, node.y, sz, sz, 3);
        ctx.fillStyle = col.index === 0 ? "#eef0f4" : css(diverging(Math.sign(t) * Math.sqrt(Math.abs(t))));
        ctx.fill();
        ctx.strokeStyle = "rgba(29,35,48,0.3)";
        ctx.lineWidth = 1;
        ctx.stroke();
      }
      if (col.more) {
        ctx.fillStyle = "#7b8497";
        ctx.font = "10px system-ui, sans-serif";
        ctx.textAlign = "center";
        ctx.fillText(`+${col.more.count}`, col.more.cx, col.more.cy);
      }
    }
  }

  function planeState(s, frame) {
    const view = Object.create(s);
    view.heat = heatOf(frame);
    view.custom = null;
    view.ui = { ...s.ui, hover: null, anim: null };
    return view;
  }

  return {
    update(s) {
      const t = s.travel || {};
      const open = t.panel === "compare" && !!t.compare;
      panel.hidden = !open;
      current = open ? t : null;
      if (!open) {
        drawn = null;
        written.a = written.b = null;
        return;
      }
      const c = t.compare;
      // Write the inputs only when A or B changed elsewhere (the timeline), never over typing.
      if (c.a !== written.a) inputA.value = String((written.a = c.a));
      if (c.b !== written.b) inputB.value = String((written.b = c.b));
      panel.dataset.a = String(c.a);
      panel.dataset.b = String(c.b);
      panel.dataset.status = c.status;
      status.textContent = c.status === "error" ? c.error : c.status === "loading" ? "loading…" : "";
      status.hidden = c.status === "ok";
      const key = `${net.clientWidth}x${net.clientHeight}:${planeA.clientWidth}:${s.ui.showTest}:${s.ui.discretize}`;
      if (c.result === drawn && key === size) return;
      drawn = c.result;
      size = key;
      const r = c.result;
      if (!r) return;
      titleA.textContent = String(r.resp.a);
      titleB.textContent = String(r.resp.b);
      panel.dataset.shownA = String(r.resp.a);
      panel.dataset.shownB = String(r.resp.b);
      evalA.textContent = evalLine(r.resp.eval_a);
      evalB.textContent = evalLine(r.resp.eval_b);
      planes.a.update(planeState(s, r.frameA));
      planes.b.update(planeState(s, r.frameB));
      renderNorms(r.rows);
      drawNet(s, r.resp);
      showReadout();
    },
    reset() {
      drawn = null;
      size = "";
      layout = null;
    },
  };
}
