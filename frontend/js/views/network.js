// The network view: nodes as live heatmaps over the input plane, edges by
// weight / gradient / update, bias dots, hover read-outs, click to explain,
// and the one-sample forward/backward animation. Canvas 2D.

import { networkLayout, headMode, headRoom, edgeCurve, curveBox, changedRect, bezierPoint, biasDot, hitTest, findNode } from "../layout.js";
import { diverging, divergingLUT, activationDomain, css } from "../colors.js";
import { maxAbs, formatSig } from "../scales.js";
import { fitCanvas, TileCache, roundRect } from "../draw.js";
import { columnMean, at2 } from "../protocol.js";
import { columnCounts, isDense } from "../state.js";
import { animationAt, columnState } from "../animation.js";
import { createLayerHeads } from "./layerHeads.js";

const LUT = divergingLUT();
const EDGE_LEVELS = 12;

/**
 * @param {{canvas, heads, note, legend, tooltip}} el
 * @param {{select(target), hover(hit), changeUnits(k, d), setActivation(k, act), canEdit(): boolean}} actions
 */
export function createNetworkView(el, actions) {
  const tiles = new TileCache();
  let layout = null;
  let layoutKey = "";
  const heads = createLayerHeads(el.heads, actions);
  let headFit = { mode: "wide", width: 0 }; // how the headers fit between the columns (layerHeads.js)
  let scale = 1;
  let lastHover = null;
  let pointer = null; // client coordinates of the mouse over the canvas

  el.canvas.addEventListener("mousemove", (ev) => {
    pointer = { x: ev.clientX, y: ev.clientY };
    if (!layout) return;
    const r = el.canvas.getBoundingClientRect();
    const hit = hitTest(layout, ev.clientX - r.left, ev.clientY - r.top, 5 * scale);
    el.canvas.classList.toggle("pointer", !!hit && !(hit.kind === "node" && hit.column === 0));
    if (JSON.stringify(hit) !== JSON.stringify(lastHover)) {
      lastHover = hit;
      actions.hover(hit);
    }
  });
  el.canvas.addEventListener("mouseleave", () => {
    pointer = null;
    lastHover = null;
    actions.hover(null);
  });
  el.canvas.addEventListener("click", (ev) => {
    if (!layout) return;
    const r = el.canvas.getBoundingClientRect();
    const hit = hitTest(layout, ev.clientX - r.left, ev.clientY - r.top, 5 * scale);
    if (!hit) return;
    const target = targetOf(hit);
    if (target) actions.select(target);
  });

  function targetOf(hit) {
    if (hit.kind === "edge") return { kind: "weight", layer: hit.column - 1, param: "W", index: [hit.i, hit.j] };
    if (hit.kind === "bias") return { kind: "bias", layer: hit.column - 1, param: "b", index: [hit.unit] };
    if (hit.kind === "node" && hit.column > 0) return { kind: "node", layer: hit.column - 1, unit: hit.unit };
    return null;
  }

  // --- drawing --------------------------------------------------------------------

  function edgeValues(state, c, mode) {
    const L = state.layers[c - 1];
    if (!L) return null;
    const arr = mode === "grad" ? L.grad_W : mode === "update" ? L.update_W : L.W;
    return arr || null;
  }

  function biasValues(state, c, mode) {
    const L = state.layers[c - 1];
    if (!L) return null;
    return (mode === "grad" ? L.grad_b : mode === "update" ? L.update_b : L.b) || null;
  }

  function draw(state, options, now) {
    const { ctx, w, h, dpr } = fitCanvas(el.canvas);
    ctx.clearRect(0, 0, w, h);
    if (!isDense(state)) {
      heads.clear();
      layout = null;
      el.note.hidden = false;
      el.note.textContent = state.architecture
        ? "This architecture has convolutional or recurrent layers: their view is drawn by the CNN / RNN views."
        : "Connecting…";
      return;
    }
    el.note.hidden = true;
    scale = state.ui.presenter ? 1.4 : 1;
    const counts = columnCounts(state);
    const key = `${w}x${h}:${counts.join("-")}:${scale}`;
    if (key !== layoutKey) {
      const place = (top) => networkLayout({ counts, width: w, height: h, top, bottom: 34, left: 18, right: 18, maxNode: 52 * scale, minNode: 12 });
      layout = place(headRoom("wide", scale));
      const cols = layout.columns;
      const spacing = cols.length > 1 ? cols[1].cx - cols[0].cx : w;
      headFit = { mode: headMode(spacing, scale), width: Math.floor(spacing - 6) };
      if (headFit.mode !== "wide") layout = place(headRoom(headFit.mode, scale));
      layoutKey = key;
      el.canvas.dataset.layers = counts.join("-");
    }
    heads.render(state, options, layout, headFit, scale);

    const anim = state.ui.anim;
    const phase = anim ? animationAt(anim, now) : null;
    let edgeMode = state.ui.edgeMode;
    if (phase) edgeMode = phase.dir === "backward" ? "grad" : phase.dir === "update" ? "update" : "weight";
    el.canvas.dataset.edgeMode = edgeMode;
    el.canvas.dataset.nodeMode = state.ui.nodeMode;
    el.canvas.dataset.step = String(state.step);

    drawEdges(ctx, state, edgeMode, phase, dpr);
    if (phase) drawPulses(ctx, state, phase);
    drawNodes(ctx, state, phase, edgeMode);
    drawHighlights(ctx, state);
    drawLegend(state, edgeMode);
    updateTooltip(state);
  }

  // Edges are quantised to EDGE_LEVELS widths and colours each way, so from one drawn frame to
  // the next almost all of them keep their level while the weights train. Stroking ~350 wide
  // anti-aliased Béziers is most of what rasterising this canvas costs (software rendering: ~5 ms
  // a frame for six hidden layers of eight), so once the levels hold still for two frames the
  // stroked edges go to an offscreen layer that is copied 1:1 each frame (edges are the first
  // thing drawn on the cleared canvas: the same picture). When a few edges change level, only
  // the pixel rectangle around them is cleared and stroked again, clipped, with every edge that
  // reaches it, in the same order (Skia anti-aliases such a stroke a shade differently at some
  // edge pixels; nothing visible). When most edges change (a new scale, gradient or update
  // colouring while training) they are stroked straight onto the canvas, as without the layer.
  const edgeLayer = { canvas: null, valid: false, key: "", n: 0, levels: new Int16Array(0), drawn: new Int16Array(0) };
  let curves = new Float64Array(0); // per layout: 8 numbers per edge (edgeCurve), in drawing order
  let boxes = new Float64Array(0); // and the bounding box of each curve: x0, y0, x1, y1 (CSS px)
  let curvesKey = "";

  function edgeGeometry() {
    if (curvesKey === layoutKey) return;
    const s = layout.nodeSize;
    let n = 0;
    for (let c = 1; c < layout.columns.length; c++) n += layout.columns[c - 1].nodes.length * layout.columns[c].nodes.length;
    curves = new Float64Array(n * 8);
    boxes = new Float64Array(n * 4);
    let e = 0;
    for (let c = 1; c < layout.columns.length; c++) {
      for (const a of layout.columns[c - 1].nodes) {
        for (const b of layout.columns[c].nodes) {
          const k = edgeCurve(a, b, s);
          curves.set(k, 8 * e);
          boxes.set(curveBox(k), 4 * e);
          e++;
        }
      }
    }
    curvesKey = layoutKey;
  }

  function drawEdges(ctx, state, mode, phase, dpr) {
    edgeGeometry();
    let vmax = 0;
    for (let c = 1; c < layout.columns.length; c++) {
      const v = edgeValues(state, c, mode);
      if (v) vmax = Math.max(vmax, maxAbs(v.data));
    }
    const n = curves.length / 8;
    if (edgeLayer.levels.length < n) {
      edgeLayer.levels = new Int16Array(n);
      edgeLayer.drawn = new Int16Array(n);
      edgeLayer.key = "";
    }
    const levels = edgeLayer.levels;
    let e = 0;
    for (let c = 1; c < layout.columns.length; c++) {
      const v = edgeValues(state, c, mode);
      const dim = phase && phase.dir === "forward" && c > phase.column;
      for (const a of layout.columns[c - 1].nodes) {
        for (const b of layout.columns[c].nodes) {
          let q = 0;
          if (v && vmax > 0) {
            const t = at2(v, a.unit, b.unit) / vmax;
            q = Math.round(Math.sign(t) * Math.sqrt(Math.abs(t)) * EDGE_LEVELS) || 0;
          }
          levels[e++] = dim ? 1000 + q : q;
        }
      }
    }
    ctx.lineCap = "round"; // also for the later strokes (node borders, bias dots), as before
    // `drawn`: the levels of the last frame; the layer holds them when `valid`
    const w = el.canvas.width;
    const h = el.canvas.height;
    const key = `${layoutKey}:${w}x${h}:${dpr}`;
    const sameGeometry = key === edgeLayer.key && n === edgeLayer.n;
    const r = sameGeometry ? changedRect(levels, edgeLayer.drawn, n, boxes, edgePad(), dpr, w, h) : null;
    let useLayer = true;
    if (sameGeometry && edgeLayer.valid) {
      if (r && (r[2] - r[0]) * (r[3] - r[1]) > 0.6 * w * h) useLayer = false;
      else if (r) strokeEdges(layerContext(dpr, r), levels, n, r, dpr);
    } else if (sameGeometry && !r) {
      strokeEdges(layerContext(dpr, null), levels, n, null, dpr); // still for two frames: worth a layer
      edgeLayer.valid = true;
    } else useLayer = false;
    if (useLayer) {
      ctx.save();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.drawImage(edgeLayer.canvas, 0, 0);
      ctx.restore();
    } else {
      strokeEdges(ctx, levels, n, null, dpr);
      edgeLayer.valid = false;
    }
    edgeLayer.levels = edgeLayer.drawn;
    edgeLayer.drawn = levels;
    edgeLayer.key = key;
    edgeLayer.n = n;
  }

  /** How far (CSS px) a stroked edge reaches outside its curve's box: half the widest line, its round cap, anti-aliasing. */
  const edgePad = () => 3 * scale + 2;

  /** The layer's context, cleared (all of it, or clipped to the device-pixel `rect`), drawing in CSS px. */
  function layerContext(dpr, rect) {
    const canvas = (edgeLayer.canvas ||= document.createElement("canvas"));
    if (canvas.width !== el.canvas.width || canvas.height !== el.canvas.height) {
      canvas.width = el.canvas.width;
      canvas.height = el.canvas.height;
    }
    const ctx = canvas.getContext("2d");
    ctx.restore(); // the previous clip, if any (a no-op on a fresh context)
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    const [x0, y0, x1, y1] = rect || [0, 0, canvas.width, canvas.height];
    if (rect) {
      ctx.beginPath();
      ctx.rect(x0, y0, x1 - x0, y1 - y0);
      ctx.clip();
    }
    ctx.clearRect(x0, y0, x1 - x0, y1 - y0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }

  /** Stroke the edges (those that reach the device-pixel `rect`, or all), by level, smallest |level| first. */
  function strokeEdges(ctx, levels, n, rect, dpr) {
    // Buckets are made in the order their level first occurs among all edges, so the stable sort
    // below stacks equal magnitudes (+q, −q) in the same order whether all edges or some are drawn.
    const pad = edgePad();
    const [x0, y0, x1, y1] = rect ? [rect[0] / dpr - pad, rect[1] / dpr - pad, rect[2] / dpr + pad, rect[3] / dpr + pad] : [0, 0, 0, 0];
    const buckets = new Map();
    for (let e = 0; e < n; e++) {
      let list = buckets.get(levels[e]);
      if (!list) buckets.set(levels[e], (list = []));
      if (!rect || !(boxes[4 * e] > x1 || boxes[4 * e + 2] < x0 || boxes[4 * e + 1] > y1 || boxes[4 * e + 3] < y0)) list.push(e);
    }
    const keys = [...buckets.keys()].sort((x, y) => Math.abs(x % 1000) - Math.abs(y % 1000));
    ctx.lineCap = "round";
    for (const key of keys) {
      const list = buckets.get(key);
      if (!list.length) continue;
      const dim = key >= 500;
      const q = dim ? key - 1000 : key;
      const m = Math.abs(q) / EDGE_LEVELS;
      const colour = q === 0 ? [200, 204, 212] : diverging(Math.sign(q) * (0.3 + 0.7 * m));
      ctx.strokeStyle = css(colour, dim ? 0.12 : 0.35 + 0.6 * m);
      ctx.lineWidth = (0.6 + 4.4 * m) * scale;
      ctx.beginPath();
      for (const e of list) {
        const o = 8 * e;
        ctx.moveTo(curves[o], curves[o + 1]);
        ctx.bezierCurveTo(curves[o + 2], curves[o + 3], curves[o + 4], curves[o + 5], curves[o + 6], curves[o + 7]);
      }
      ctx.stroke();
    }
  }

  function drawPulses(ctx, state, phase) {
    const s = layout.nodeSize;
    let c = phase.column;
    if (phase.dir === "forward" && c >= 1) {
      // dots travel along the edges into column c
    } else if (phase.dir === "backward" && c >= 1) {
      // dots travel backwards along the edges into column c (from c to c-1)
    } else return;
    const from = layout.columns[c - 1];
    const to = layout.columns[c];
    const t = phase.dir === "forward" ? phase.progress : 1 - phase.progress;
    ctx.fillStyle = phase.dir === "forward" ? "rgba(27,95,166,0.9)" : "rgba(198,106,10,0.95)";
    let n = 0;
    for (const a of from.nodes) {
      for (const b of to.nodes) {
        if (n++ > 600) return;
        const [x, y] = bezierPoint(edgeCurve(a, b, s), t);
        ctx.beginPath();
        ctx.arc(x, y, 2.6 * scale, 0, Math.PI * 2);
        ctx.fill();
      }
    }
  }

  function nodeTile(state, c, unit, slot, r) {
    const heat = c === 0 ? state.heat.input : state.heat.layers[c - 1];
    if (!heat || heat.shape[0] <= unit) return null;
    const res = heat.shape[1];
    const size = res * heat.shape[2];
    const values = heat.data.subarray(unit * size, (unit + 1) * size);
    let dom;
    if (c === 0) dom = { center: 0, scale: maxAbs(values) || 1 };
    else {
      const act = state.architecture.layers[c - 1].activation;
      dom = activationDomain(act, r.layerMax[c] || 1);
    }
    return tiles.paint(slot, res, values, LUT, dom.center, dom.scale);
  }

  function drawNodes(ctx, state, phase, edgeMode) {
    const s = layout.nodeSize;
    const radius = Math.max(3, s * 0.14);
    const layerMax = layout.columns.map((col, c) => (c > 0 && state.heat.layers[c - 1] ? maxAbs(state.heat.layers[c - 1].data) : 1));
    let deltaMax = 0;
    if (state.ui.nodeMode === "delta") {
      state.layers.forEach((L) => {
        if (L.delta) for (let j = 0; j < L.delta.shape[1]; j++) deltaMax = Math.max(deltaMax, Math.abs(columnMean(L.delta, j)));
      });
    }
    const trace = state.ui.anim?.trace || null;
    let slot = 0;
    ctx.font = `${Math.round(10 * scale)}px ui-monospace, monospace`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (const col of layout.columns) {
      const c = col.index;
      const cs = phase ? columnState(state.ui.anim, c) : null;
      for (const node of col.nodes) {
        const tile = nodeTile(state, c, node.unit, slot++, { layerMax });
        ctx.save();
        roundRect(ctx, node.x, node.y, s, s, radius);
        ctx.clip();
        if (state.ui.nodeMode === "delta" && c > 0) {
          const L = state.layers[c - 1];
          const d = L?.delta ? columnMean(L.delta, node.unit) : NaN;
          const t = deltaMax > 0 ? Math.sign(d) * Math.sqrt(Math.abs(d) / deltaMax) : 0;
          if (tile) {
            ctx.globalAlpha = 0.25;
            ctx.imageSmoothingEnabled = true;
            ctx.drawImage(tile, node.x, node.y, s, s);
            ctx.globalAlpha = 1;
          }
          ctx.fillStyle = css(diverging(t), tile ? 0.82 : 1);
          ctx.fillRect(node.x, node.y, s, s);
        } else if (tile) {
          ctx.imageSmoothingEnabled = true;
          ctx.drawImage(tile, node.x, node.y, s, s);
        } else {
          ctx.fillStyle = "#eef0f4";
          ctx.fillRect(node.x, node.y, s, s);
        }
        if (cs && !cs.forward) {
          ctx.fillStyle = "rgba(255,255,255,0.75)";
          ctx.fillRect(node.x, node.y, s, s);
        }
        ctx.restore();
        ctx.lineWidth = cs?.active ? 2.5 * scale : 1;
        ctx.strokeStyle = cs?.active ? (phase.dir === "backward" ? "#c66a0a" : "#1b5fa6") : "rgba(29,35,48,0.28)";
        roundRect(ctx, node.x, node.y, s, s, radius);
        ctx.stroke();
        if (trace && cs && s >= 22) drawAnimValue(ctx, trace, c, node, cs, s);
        if (c === 0 && s >= 20) drawFeatureName(ctx, state.data?.featureNames?.[node.unit], node, s);
        if (c > 0) {
          const b = biasValues(state, c, edgeMode);
          const dot = biasDot(node, s);
          let t = 0;
          if (b) {
            const bm = maxAbs(b.data) || 1;
            t = b.data[node.unit] / bm;
          }
          ctx.beginPath();
          ctx.arc(dot.x, dot.y, dot.r * Math.min(1.4, scale), 0, Math.PI * 2);
          ctx.fillStyle = css(diverging(Math.sign(t) * (0.25 + 0.75 * Math.abs(t))));
          ctx.fill();
          ctx.lineWidth = 1;
          ctx.strokeStyle = "#fff";
          ctx.stroke();
        }
      }
      if (col.more) {
        ctx.fillStyle = "#7b8497";
        ctx.font = `${Math.round(11 * scale)}px system-ui, sans-serif`;
        ctx.fillText(`+${col.more.count} more`, col.more.cx, col.more.cy);
        ctx.font = `${Math.round(10 * scale)}px ui-monospace, monospace`;
      }
    }
  }

  // Which input is which (x1, x2, x1², sin(x1)…): a small label in the node's lower left corner.
  function drawFeatureName(ctx, name, node, s) {
    if (!name) return;
    ctx.save();
    ctx.font = `${Math.round(Math.min(11, s * 0.24) * Math.min(scale, 1.2))}px system-ui, sans-serif`;
    ctx.textAlign = "left";
    ctx.textBaseline = "bottom";
    const w = ctx.measureText(name).width;
    const h = Math.min(14, s * 0.3) * Math.min(scale, 1.2);
    ctx.fillStyle = "rgba(255,255,255,0.82)";
    ctx.fillRect(node.x + 1, node.y + s - h - 1, Math.min(w + 4, s - 2), h);
    ctx.fillStyle = "#1d2330";
    ctx.fillText(name, node.x + 3, node.y + s - 1.5, s - 6);
    ctx.restore();
  }

  function drawAnimValue(ctx, trace, c, node, cs, s) {
    // The animated sample's own numbers: a on the way forward, δ on the way back.
    let v = null;
    let colour = "#1b5fa6";
    if (cs.backward && c > 0) {
      v = trace.layers[c - 1]?.delta?.[0]?.[node.unit];
      colour = "#c66a0a";
    } else if (cs.forward) {
      v = c === 0 ? trace.X?.[0]?.[node.unit] : trace.layers[c - 1]?.a?.[0]?.[node.unit];
    }
    if (v === null || v === undefined) return;
    const text = formatSig(v, 3);
    const tw = ctx.measureText(text).width + 6;
    const th = 13 * scale;
    ctx.fillStyle = "rgba(255,255,255,0.92)";
    roundRect(ctx, node.cx - tw / 2, node.cy - th / 2, tw, th, 3);
    ctx.fill();
    ctx.fillStyle = colour;
    ctx.fillText(text, node.cx, node.cy + 0.5);
  }

  function drawHighlights(ctx, state) {
    const s = layout.nodeSize;
    const mark = (t, colour, width) => {
      if (!t) return;
      if (t.kind === "weight" || t.kind === "edge") {
        const c = t.column ?? t.layer + 1;
        const [i, j] = t.index ?? [t.i, t.j];
        const a = findNode(layout, c - 1, i);
        const b = findNode(layout, c, j);
        if (!a || !b) return;
        const e = edgeCurve(a, b, s);
        ctx.strokeStyle = colour;
        ctx.lineWidth = width;
        ctx.beginPath();
        ctx.moveTo(e[0], e[1]);
        ctx.bezierCurveTo(e[2], e[3], e[4], e[5], e[6], e[7]);
        ctx.stroke();
      } else {
        const c = t.column ?? t.layer + 1;
        const n = findNode(layout, c, t.unit ?? t.index?.[0]);
        if (!n) return;
        ctx.strokeStyle = colour;
        ctx.lineWidth = width;
        if (t.kind === "bias") {
          const dot = biasDot(n, s);
          ctx.beginPath();
          ctx.arc(dot.x, dot.y, dot.r + 3, 0, Math.PI * 2);
          ctx.stroke();
        } else {
          roundRect(ctx, n.x - 2, n.y - 2, s + 4, s + 4, Math.max(3, s * 0.16));
          ctx.stroke();
        }
      }
    };
    mark(state.ui.selected, "rgba(29,35,48,0.9)", 3 * scale);
    mark(state.ui.hover, "rgba(29,35,48,0.55)", 2 * scale);
  }

  let legendKey = "";
  function drawLegend(state, edgeMode) {
    const key = `${edgeMode}:${state.ui.nodeMode}`;
    if (key === legendKey) return;
    legendKey = key;
    const what = { weight: "weight w", grad: "gradient ∂L/∂w", update: "update Δw" }[edgeMode];
    const node = state.ui.nodeMode === "delta" ? "node: blame δ = ∂L/∂z (batch mean)" : "node: its output over the input plane";
    const ramp = `linear-gradient(90deg, ${[-1, -0.5, 0, 0.5, 1].map((t) => css(diverging(t))).join(",")})`;
    el.legend.replaceChildren();
    const a = document.createElement("span");
    const bar = document.createElement("span");
    bar.className = "ramp";
    bar.style.background = ramp; // CSSOM, allowed by the page's style-src 'self'
    a.append("negative", bar, "positive");
    const b = document.createElement("span");
    b.textContent = `edges: ${what} (width ∝ √|value|) · ${node} · dot: bias`;
    el.legend.append(a, b);
  }

  // --- tooltip: exact live values of what is under the mouse -----------------------

  function updateTooltip(state) {
    const tip = el.tooltip;
    const hit = state.ui.hover;
    if (!hit || !pointer) {
      tip.hidden = true;
      return;
    }
    const lines = describe(state, hit);
    if (!lines) {
      tip.hidden = true;
      return;
    }
    tip.innerHTML = lines;
    tip.hidden = false;
    const x = Math.min(window.innerWidth - tip.offsetWidth - 8, pointer.x + 14);
    const y = Math.min(window.innerHeight - tip.offsetHeight - 8, pointer.y + 14);
    tip.style.left = `${x}px`;
    tip.style.top = `${y}px`;
  }

  function fmt(v) {
    return v === undefined || v === null ? "—" : formatSig(v, 5);
  }

  function describe(state, hit) {
    const c = hit.column;
    const L = state.layers[c - 1] || {};
    const step = `step ${state.step}`;
    if (hit.kind === "edge") {
      const g = (a) => (a ? at2(a, hit.i, hit.j) : undefined);
      return [
        `<b>weight W${sub(c)}[${hit.i}][${hit.j}]</b>  ${step}`,
        `from ${c === 1 ? `input ${featureName(state, hit.i)}` : `layer ${c - 1} unit ${hit.i}`} to ${c === state.architecture.layers.length ? "output" : `layer ${c}`} unit ${hit.j}`,
        `w       = ${fmt(g(L.W))}`,
        `∂L/∂w   = ${fmt(g(L.grad_W))}`,
        `Δw      = ${fmt(g(L.update_W))}`,
        `click to see how ∂L/∂w is made`,
      ].join("\n");
    }
    if (hit.kind === "bias") {
      const g = (a) => (a ? a.data[hit.unit] : undefined);
      return [`<b>bias b${sub(c)}[${hit.unit}]</b>  ${step}`, `b       = ${fmt(g(L.b))}`, `∂L/∂b   = ${fmt(g(L.grad_b))}`, `Δb      = ${fmt(g(L.update_b))}`, "click to explain"].join("\n");
    }
    if (c === 0) return `<b>input ${featureName(state, hit.unit)}</b>\nits value over the plane`;
    const act = state.architecture.layers[c - 1].activation;
    const m = (a) => (a ? columnMean(a, hit.unit) : undefined);
    const batch = L.a ? L.a.shape[0] : 0;
    return [
      `<b>${c === state.architecture.layers.length ? "output" : `layer ${c}`} unit ${hit.unit}</b> (${act})  ${step}`,
      `batch of ${batch}, means:`,
      `z       = ${fmt(m(L.z))}`,
      `a       = ${fmt(m(L.a))}`,
      `δ=∂L/∂z = ${fmt(m(L.delta))}`,
      `b       = ${fmt(L.b ? L.b.data[hit.unit] : undefined)}`,
      "click to see how δ is made",
    ].join("\n");
  }

  function featureName(state, i) {
    const name = state.data?.featureNames?.[i] ?? `x${i + 1}`;
    return String(name).replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]);
  }

  return {
    update(state, options, now) {
      draw(state, options, now);
    },
    reset() {
      layoutKey = "";
      heads.reset();
      legendKey = "";
    },
    /** Client coordinates of a point on an edge / node (for tests and tours). */
    edgePoint(layer, i, j, t = 0.5) {
      if (!layout) return null;
      const a = findNode(layout, layer, i);
      const b = findNode(layout, layer + 1, j);
      if (!a || !b) return null;
      const [x, y] = bezierPoint(edgeCurve(a, b, layout.nodeSize), t);
      const r = el.canvas.getBoundingClientRect();
      return { x: r.left + x, y: r.top + y };
    },
    nodePoint(column, unit) {
      if (!layout) return null;
      const n = findNode(layout, column, unit);
      if (!n) return null;
      const r = el.canvas.getBoundingClientRect();
      return { x: r.left + n.cx, y: r.top + n.cy };
    },
    columns() {
      return layout ? layout.columns.length : 0;
    },
  };
}

function sub(n) {
  return String(n)
    .split("")
    .map((d) => "₀₁₂₃₄₅₆₇₈₉"[Number(d)])
    .join("");
}

