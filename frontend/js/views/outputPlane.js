// The output plane: the network's output (or a hovered node's) over the 2-D
// input plane, the decision boundary, train and test points; clicks add points.
// Data with one input (`sine`, one-column tables) gets an x → y plot instead:
// the points (x, target) and the network's prediction curve.

import { divergingLUT, categorical, tint, css, activationDomain, diverging } from "../colors.js";
import { linearScale, linearTicks, maxAbs, extent, formatTick } from "../scales.js";
import { fitCanvas, polyline, TileCache } from "../draw.js";
import { outputActivation } from "../state.js";
import { inputSpace } from "../features.js";

const LUT = divergingLUT();
const INK_3 = "#7b8497";

/** Ticks of an axis over [lo, hi]: a dataset's round domain shows its ends and middle, any other round numbers inside. */
export function axisTicks(lo, hi) {
  if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo, (lo + hi) / 2, hi];
  const t = linearTicks(lo, hi, 4);
  return t.length >= 2 ? t : [lo, hi];
}

/**
 * Where the plot box goes so that every tick label stays inside the w×h canvas: y labels
 * (right-aligned, at most `yLabelWidth` wide) left of it and centred on their tick (half a
 * font above the top tick), x labels (centred, the first `xFirstWidth` and the last
 * `xLastWidth` wide) under it.
 * `square`: one size for both sides, as the plane needs. Returns {x0, y0, pw, ph}.
 */
export function plotBox(w, h, { font, yLabelWidth, xFirstWidth = 0, xLastWidth, square }) {
  const top = Math.ceil(font / 2) + 2;
  const bottom = font + 6;
  const left = Math.max(Math.ceil(yLabelWidth) + 6, Math.ceil(xFirstWidth / 2) + 2);
  const right = Math.max(4, Math.ceil(xLastWidth / 2) + 2);
  const aw = Math.max(10, w - left - right);
  const ah = Math.max(10, h - top - bottom);
  if (!square) return { x0: left, y0: top, pw: aw, ph: ah };
  const size = Math.min(aw, ah);
  return { x0: left + (aw - size) / 2, y0: top, pw: size, ph: size };
}

/** The y range a line plot shows: the targets (regression) or the classes, padded a little. */
export function lineRange(data) {
  let e;
  if (data.task === "regression") {
    const a = extent(data.targetsTrain || []);
    const b = extent(data.targetsTest || []);
    e = a && b ? [Math.min(a[0], b[0]), Math.max(a[1], b[1])] : a || b;
  } else {
    e = [0, Math.max(1, (data.nClasses || 2) - 1)];
  }
  if (!e) e = [-1, 1];
  const pad = Math.max(0.1 * (e[1] - e[0]), 0.25);
  return [e[0] - pad, e[1] + pad];
}

/**
 * @param {{canvas, caption}} el
 * @param {{addPoint(x1, x2), canAdd(): boolean}} actions
 */
export function createOutputPlane(el, actions) {
  const tiles = new TileCache();
  let geometry = null;
  let adding = false;

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
        const name = hover.column === 0 ? state.data.featureNames[hover.unit] || `x${hover.unit + 1}` : `layer ${hover.column} · unit ${hover.unit}`;
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

  // Frames bring new heat objects: the same heat, data, hovered node and switch draw the
  // same tile, so it is filled again only when one of them changed (animations and hovers
  // redraw at 60 frames/s between frames).
  const lastBg = { heat: null, data: null, architecture: null, column: -2, unit: -2, discretize: false, result: null };

  function cachedBackground(state) {
    const hover = state.ui.hover;
    const node = hover && hover.kind === "node";
    const column = node ? hover.column : -1;
    const unit = node ? hover.unit : -1;
    const b = lastBg;
    if (b.heat === state.heat && b.data === state.data && b.architecture === state.architecture && b.column === column && b.unit === unit && b.discretize === state.ui.discretize) return b.result;
    Object.assign(b, { heat: state.heat, data: state.data, architecture: state.architecture, column, unit, discretize: state.ui.discretize });
    b.result = background(state);
    return b.result;
  }

  // The train / test / added points change only with the data, the view's size and its
  // switches, not with training: they are painted once into an offscreen layer that every
  // frame copies (hundreds of stroked arcs each frame cost ~2 ms of software rasterising).
  const layer = { canvas: document.createElement("canvas"), data: null, custom: null, key: "" };

  function pointsLayer(state, mode, w, h, sx, sy, scale) {
    const dpr = Math.min(3, window.devicePixelRatio || 1);
    const custom = state.custom;
    // sx and sy are linear: their values at 0 and 1 pin them down
    const key = [mode, w, h, dpr, scale, state.ui.showTest, custom?.x.length, custom?.cleared, sx(0), sy(0), sx(1), sy(1)].join();
    if (layer.data === state.data && layer.custom === custom && layer.key === key) return layer.canvas;
    Object.assign(layer, { data: state.data, custom, key });
    layer.canvas.width = Math.round(w * dpr);
    layer.canvas.height = Math.round(h * dpr);
    const ctx = layer.canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    paintPoints(ctx, state, mode, sx, sy, scale);
    return layer.canvas;
  }

  function paintPoints(ctx, state, mode, sx, sy, scale) {
    const data = state.data;
    const r = 2.9 * scale;
    const regression = data.task === "regression";
    const targetScale = regression ? regressionDomain(state).scale || 1 : 1;
    const points = (pts, labels, targets, test) => {
      for (let i = 0; i < pts.length; i++) {
        const p = pts[i];
        const colour = regression && targets ? diverging(targets[i] / targetScale) : classOf(state, labels?.[i] ?? 0);
        // a line plots each point at its target (or class) over its one input
        const y = mode === "line" ? (regression ? targets?.[i] : labels?.[i]) : p[1];
        if (y === undefined || y === null) continue;
        ctx.beginPath();
        ctx.arc(sx(p[0]), sy(y), r, 0, Math.PI * 2);
        ctx.fillStyle = css(colour);
        ctx.fill();
        ctx.lineWidth = test ? 1.2 * scale : 1;
        // on a line's pale ground a target near 0 (near white) needs a grey rim to be seen
        ctx.strokeStyle = test ? "#1d2330" : mode === "line" ? "rgba(29,35,48,0.35)" : "#fff";
        ctx.stroke();
      }
    };
    points(data.pointsTrain, data.labelsTrain, data.targetsTrain, false);
    if (state.ui.showTest) points(data.pointsTest, data.labelsTest, data.targetsTest, true);
    if (state.custom && mode === "plane") {
      ctx.setLineDash([2, 2]);
      state.custom.x.forEach((p, i) => {
        ctx.beginPath();
        ctx.arc(sx(p[0]), sy(p[1]), r + 1.5, 0, Math.PI * 2);
        ctx.fillStyle = css(regression ? diverging(state.custom.y[i]) : classOf(state, state.custom.y[i]));
        ctx.fill();
        ctx.strokeStyle = "#1d2330";
        ctx.lineWidth = 1.2;
        ctx.stroke();
      });
      ctx.setLineDash([]);
    }
  }

  // The plot box and its ticks depend on the canvas size, the domain and the y range only:
  // worked out (with the labels measured) when one of them changes, not every frame.
  const box = { mode: "", w: 0, h: 0, scale: 0, lo: 0, hi: 0, ylo: 0, yhi: 0, font: "", x0: 0, y0: 0, pw: 0, ph: 0, sx: null, sy: null, xt: [], yt: [], xl: [], yl: [] };

  function layout(ctx, mode, w, h, scale, lo, hi, ylo, yhi) {
    const b = box;
    if (b.mode === mode && b.w === w && b.h === h && b.scale === scale && b.lo === lo && b.hi === hi && b.ylo === ylo && b.yhi === yhi) return b;
    const fontPx = Math.round(10 * scale);
    const font = `${fontPx}px system-ui, sans-serif`;
    ctx.font = font;
    const xt = axisTicks(lo, hi);
    const yt = mode === "line" ? axisTicks(ylo, yhi) : xt;
    const xl = xt.map((t) => formatTick(t));
    const yl = yt.map((t) => formatTick(t));
    const width = (text) => ctx.measureText(text).width;
    const { x0, y0, pw, ph } = plotBox(w, h, {
      font: fontPx,
      yLabelWidth: Math.max(...yl.map(width)),
      xFirstWidth: width(xl[0]),
      xLastWidth: width(xl[xl.length - 1]),
      square: mode === "plane",
    });
    const sx = linearScale([lo, hi], [x0, x0 + pw]);
    const sy = linearScale([ylo, yhi], [y0 + ph, y0]);
    return Object.assign(b, { mode, w, h, scale, lo, hi, ylo, yhi, font, x0, y0, pw, ph, sx, sy, xt, yt, xl, yl });
  }

  function drawTicks(ctx, b) {
    ctx.fillStyle = INK_3;
    ctx.font = b.font;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let i = 0; i < b.xt.length; i++) ctx.fillText(b.xl[i], b.sx(b.xt[i]), b.y0 + b.ph + 3);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let i = 0; i < b.yt.length; i++) ctx.fillText(b.yl[i], b.x0 - 4, b.sy(b.yt[i]));
  }

  function setCaption(text) {
    // Only when it changes: writing the same text still invalidates layout, and the next view's
    // canvas size read would lay the page out a second time in the frame.
    if (el.caption.textContent !== text) el.caption.textContent = text;
  }

  function setAdding(on) {
    if (on === adding) return;
    adding = on;
    el.canvas.classList.toggle("adding", on);
  }

  function drawSample(ctx, x, y, scale) {
    ctx.beginPath();
    ctx.arc(x, y, 2.9 * scale + 6 * scale, 0, Math.PI * 2);
    ctx.strokeStyle = "#1d2330";
    ctx.lineWidth = 2.5 * scale;
    ctx.stroke();
  }

  function drawPlane(ctx, state, w, h, scale) {
    const data = state.data;
    const [lo, hi] = data.domain;
    const b = layout(ctx, "plane", w, h, scale, lo, hi, lo, hi);
    const { x0, y0, pw: size, sx, sy } = b;
    geometry = { x0, y0, size, sx, sy };
    setAdding(actions.canAdd());

    const bg = cachedBackground(state);
    if (bg) {
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(bg.canvas, x0, y0, size, size);
    } else {
      ctx.fillStyle = "#f2f3f6";
      ctx.fillRect(x0, y0, size, size);
    }
    setCaption(bg ? bg.caption : "");
    ctx.strokeStyle = "rgba(29,35,48,0.25)";
    ctx.lineWidth = 1;
    ctx.strokeRect(x0 + 0.5, y0 + 0.5, size - 1, size - 1);
    drawTicks(ctx, b);

    ctx.drawImage(pointsLayer(state, "plane", w, h, sx, sy, scale), 0, 0, w, h);
    const idx = state.ui.anim?.trace?.indices?.[0];
    const X = idx === undefined ? null : data.pointsTrain[idx];
    if (X) drawSample(ctx, sx(X[0]), sy(X[1]), scale);
  }

  let rangeOf = null; // the data object lineRange was last worked out for, and its answer
  let range = null;
  let curveOf = null; // the curve whose x values curveXs holds
  let curveXs = null;

  function drawLine(ctx, state, w, h, scale) {
    const data = state.data;
    const [lo, hi] = data.domain;
    if (rangeOf !== data) {
      rangeOf = data;
      range = lineRange(data);
    }
    const b = layout(ctx, "line", w, h, scale, lo, hi, range[0], range[1]);
    const { x0, y0, pw, ph, sx, sy } = b;
    geometry = null; // points are added by class on a plane only
    setAdding(false);

    ctx.fillStyle = "#fafbfc";
    ctx.fillRect(x0, y0, pw, ph);
    ctx.strokeStyle = "rgba(29,35,48,0.08)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const t of b.yt) {
      const y = Math.round(sy(t)) + 0.5;
      ctx.moveTo(x0, y);
      ctx.lineTo(x0 + pw, y);
    }
    ctx.stroke();
    ctx.strokeStyle = "rgba(29,35,48,0.25)";
    ctx.strokeRect(x0 + 0.5, y0 + 0.5, pw - 1, ph - 1);
    drawTicks(ctx, b);
    ctx.drawImage(pointsLayer(state, "line", w, h, sx, sy, scale), 0, 0, w, h);

    const curve = state.heat?.curve;
    const shown = !!curve && curve.domain[0] === lo && curve.domain[1] === hi && curve.values.length > 1;
    if (shown) {
      if (curveOf !== curve) {
        // the curve's x values: its points spread evenly over the domain (once per curve, not per frame)
        curveOf = curve;
        const n = curve.values.length;
        curveXs = Float64Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
      }
      ctx.save();
      ctx.beginPath();
      ctx.rect(x0, y0, pw, ph);
      ctx.clip();
      ctx.strokeStyle = "#1d2330";
      ctx.lineWidth = 2 * scale;
      polyline(ctx, curveXs, curve.values, sx, sy);
      ctx.restore();
    }
    setCaption(shown ? "network output" : "");

    const idx = state.ui.anim?.trace?.indices?.[0];
    const X = idx === undefined ? null : data.pointsTrain[idx];
    const Y = idx === undefined ? undefined : data.task === "regression" ? data.targetsTrain?.[idx] : data.labelsTrain?.[idx];
    if (X && Y !== undefined) drawSample(ctx, sx(X[0]), sy(Y), scale);
  }

  function draw(state) {
    const { ctx, w, h } = fitCanvas(el.canvas);
    ctx.clearRect(0, 0, w, h);
    const data = state.data;
    const mode = inputSpace(data, state.architecture);
    const scale = state.ui.presenter ? 1.35 : 1;
    if (mode === "plane") return drawPlane(ctx, state, w, h, scale);
    if (mode === "line") return drawLine(ctx, state, w, h, scale);
    ctx.fillStyle = INK_3;
    ctx.font = "13px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(data ? "this data has no 2-D input plane" : "…", w / 2, h / 2);
    setCaption("");
    setAdding(false);
    geometry = null;
  }

  return {
    update(state) {
      draw(state);
    },
    reset() {
      geometry = null;
      lastBg.heat = null;
      box.mode = ""; // presenter mode and the like change the fonts: measure again
    },
  };
}
