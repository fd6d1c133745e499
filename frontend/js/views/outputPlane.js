// The output plane: the network's output (or a hovered node's) over the 2-D
// input plane, the decision boundary, train and test points; clicks add points.

import { divergingLUT, categorical, tint, css, activationDomain, diverging } from "../colors.js";
import { linearScale, maxAbs, extent, formatTick } from "../scales.js";
import { fitCanvas, TileCache } from "../draw.js";
import { outputActivation } from "../state.js";

const LUT = divergingLUT();

/**
 * @param {{canvas, caption}} el
 * @param {{addPoint(x1, x2), canAdd(): boolean}} actions
 */
export function createOutputPlane(el, actions) {
  const tiles = new TileCache();
  let geometry = null;

  el.canvas.addEventListener("click", (ev) => {
    if (!geometry || !actions.canAdd()) return;
    const r = el.canvas.getBoundingClientRect();
    const px = ev.clientX - r.left;
    const py = ev.clientY - r.top;
    if (px < geometry.x0 || px > geometry.x0 + geometry.size || py < geometry.y0 || py > geometry.y0 + geometry.size) return;
    actions.addPoint(geometry.sx.invert(px), geometry.sy.invert(py));
  });

  function classOf(state, label) {
    // binary labels 0/1 → orange / blue; multi-class k → class colour k
    return categorical(Math.round(label));
  }

  function regressionDomain(state) {
    const t = state.data.targetsTrain || [];
    const e = extent(t) || [-1, 1];
    const m = Math.max(Math.abs(e[0]), Math.abs(e[1])) || 1;
    return { center: 0, scale: m };
  }

  function background(state) {
    const hover = state.ui.hover;
    const heat = state.heat;
    if (hover && hover.kind === "node") {
      const arr = hover.column === 0 ? heat.input : heat.layers[hover.column - 1];
      if (arr && arr.shape[0] > hover.unit) {
        const r = arr.shape[1];
        const values = arr.data.subarray(hover.unit * r * r, (hover.unit + 1) * r * r);
        const act = hover.column === 0 ? null : state.architecture.layers[hover.column - 1].activation;
        const dom = act ? activationDomain(act, maxAbs(arr.data)) : { center: 0, scale: maxAbs(values) || 1 };
        const name = hover.column === 0 ? state.data.featureNames[hover.unit] : `layer ${hover.column} · unit ${hover.unit}`;
        return { canvas: tiles.paint(0, r, values, LUT, dom.center, dom.scale), caption: `showing ${name}` };
      }
    }
    if (!heat.output) return null;
    const r = heat.output.shape[0];
    const task = state.data.task;
    if (task === "multiclass" && heat.outputClass) {
      const cls = heat.outputClass.data;
      const colours = Array.from({ length: Math.max(2, state.data.nClasses) }, (_, k) => tint(categorical(k), state.ui.discretize ? 0.35 : 0.55));
      return { canvas: tiles.paintWith(1, r, r * r, (p) => colours[cls[p]] || [200, 200, 200]), caption: "predicted class" };
    }
    const act = outputActivation(state);
    let dom = task === "regression" ? regressionDomain(state) : activationDomain(act, maxAbs(heat.output.data));
    if (state.ui.discretize && task !== "regression") {
      const c = dom.center;
      const v = heat.output.data;
      const lo = tint(diverging(-0.8), 0.35);
      const hi = tint(diverging(0.8), 0.35);
      return { canvas: tiles.paintWith(2, r, r * r, (p) => (v[p] > c ? hi : lo)), caption: "output > 0.5" };
    }
    return { canvas: tiles.paint(3, r, heat.output.data, LUT, dom.center, dom.scale, 175), caption: "network output" };
  }

  // The train / test / added points change only with the data, the view's size and its
  // switches, not with training: they are painted once into an offscreen layer that every
  // frame copies (hundreds of stroked arcs each frame cost ~2 ms of software rasterising).
  const layer = { canvas: document.createElement("canvas"), data: null, custom: null, key: "" };

  function pointsLayer(state, w, h, sx, sy, scale) {
    const dpr = Math.min(3, window.devicePixelRatio || 1);
    const custom = state.custom;
    const key = [w, h, dpr, scale, state.ui.showTest, custom?.x.length, custom?.cleared, sx(0), sy(0), sx(1), sy(1)].join();
    if (layer.data === state.data && layer.custom === custom && layer.key === key) return layer.canvas;
    Object.assign(layer, { data: state.data, custom, key });
    layer.canvas.width = Math.round(w * dpr);
    layer.canvas.height = Math.round(h * dpr);
    const ctx = layer.canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    paintPoints(ctx, state, sx, sy, scale);
    return layer.canvas;
  }

  function paintPoints(ctx, state, sx, sy, scale) {
    const data = state.data;
    const r = 2.9 * scale;
    const targetScale = data.task === "regression" ? regressionDomain(state).scale || 1 : 1;
    const points = (pts, labels, targets, test) => {
      for (let i = 0; i < pts.length; i++) {
        const p = pts[i];
        const colour = data.task === "regression" && targets ? diverging(targets[i] / targetScale) : classOf(state, labels[i] ?? 0);
        ctx.beginPath();
        ctx.arc(sx(p[0]), sy(p[1]), r, 0, Math.PI * 2);
        ctx.fillStyle = css(colour);
        ctx.fill();
        ctx.lineWidth = test ? 1.2 * scale : 1;
        ctx.strokeStyle = test ? "#1d2330" : "#fff";
        ctx.stroke();
      }
    };
    points(data.pointsTrain, data.labelsTrain, data.targetsTrain, false);
    if (state.ui.showTest) points(data.pointsTest, data.labelsTest, data.targetsTest, true);
    if (state.custom) {
      ctx.setLineDash([2, 2]);
      state.custom.x.forEach((p, i) => {
        ctx.beginPath();
        ctx.arc(sx(p[0]), sy(p[1]), r + 1.5, 0, Math.PI * 2);
        ctx.fillStyle = css(data.task === "regression" ? diverging(state.custom.y[i]) : classOf(state, state.custom.y[i]));
        ctx.fill();
        ctx.strokeStyle = "#1d2330";
        ctx.lineWidth = 1.2;
        ctx.stroke();
      });
      ctx.setLineDash([]);
    }
  }

  function draw(state) {
    const { ctx, w, h } = fitCanvas(el.canvas);
    ctx.clearRect(0, 0, w, h);
    const data = state.data;
    if (!data || data.kind !== "plane" || !data.domain) {
      ctx.fillStyle = "#7b8497";
      ctx.font = "13px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.fillText(data ? "this data has no 2-D input plane" : "…", w / 2, h / 2);
      geometry = null;
      return;
    }
    const scale = state.ui.presenter ? 1.35 : 1;
    const pad = 22 * scale;
    const size = Math.max(10, Math.min(w, h) - pad - 4);
    const x0 = (w - size) / 2 + pad / 2;
    const y0 = 2;
    const [lo, hi] = data.domain;
    const sx = linearScale([lo, hi], [x0, x0 + size]);
    const sy = linearScale([lo, hi], [y0 + size, y0]);
    geometry = { x0, y0, size, sx, sy };
    el.canvas.classList.toggle("adding", actions.canAdd());

    const bg = background(state);
    if (bg) {
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(bg.canvas, x0, y0, size, size);
    } else {
      ctx.fillStyle = "#f2f3f6";
      ctx.fillRect(x0, y0, size, size);
    }
    // Only when it changes: writing the same text still invalidates layout, and the next view's
    // canvas size read would lay the page out a second time in the frame.
    const caption = bg ? bg.caption : "";
    if (el.caption.textContent !== caption) el.caption.textContent = caption;
    ctx.strokeStyle = "rgba(29,35,48,0.25)";
    ctx.lineWidth = 1;
    ctx.strokeRect(x0 + 0.5, y0 + 0.5, size - 1, size - 1);

    // axes ticks
    ctx.fillStyle = "#7b8497";
    ctx.font = `${Math.round(10 * scale)}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const t of [lo, (lo + hi) / 2, hi]) ctx.fillText(formatTick(t), sx(t), y0 + size + 3);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const t of [lo, (lo + hi) / 2, hi]) ctx.fillText(formatTick(t), x0 - 4, sy(t));

    ctx.drawImage(pointsLayer(state, w, h, sx, sy, scale), 0, 0, w, h);
    // the animated sample
    const idx = state.ui.anim?.trace?.indices?.[0];
    const X = idx === undefined ? null : data.pointsTrain[idx];
    if (X) {
      ctx.beginPath();
      ctx.arc(sx(X[0]), sy(X[1]), 2.9 * scale + 6 * scale, 0, Math.PI * 2);
      ctx.strokeStyle = "#1d2330";
      ctx.lineWidth = 2.5 * scale;
      ctx.stroke();
    }
  }

  return {
    update(state) {
      draw(state);
    },
    reset() {
      geometry = null;
    },
  };
}
