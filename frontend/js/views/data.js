// The data panel: dataset thumbnails, split / noise / samples, input features,
// regenerate, paste CSV, classes for adding points by clicking, clear, test
// points and discretized output toggles.

import { thumbPoints } from "../thumbs.js";
import { categorical, css, diverging } from "../colors.js";
import { FEATURE_NAMES, inputSpace } from "../features.js";
import { parseCSV } from "../csv.js";
import { drawSpatialThumb } from "../spatialThumbs.js";

const $ = (id) => document.getElementById(id);
const PICKABLE = new Set(["plane", "line", "image", "sequence"]);

/**
 * @param {object} actions  setData(partial), regenerate(), useCSV(parsed), setAddClass(label|null),
 *                          clearPoints(), toggle(name, value)
 */
export function createDataPanel(actions) {
  const root = $("data-panel");
  const el = {
    thumbs: root.querySelector(".thumbs"),
    params: root.querySelector(".dataset-params"),
    ratio: $("ratio"),
    ratioOut: $("ratio-out"),
    noise: $("noise"),
    noiseOut: $("noise-out"),
    samples: $("samples"),
    samplesOut: $("samples-out"),
    features: root.querySelector(".features"),
    regenerate: $("regenerate"),
    paste: $("paste-csv"),
    addClasses: root.querySelector(".add-classes"),
    clear: $("clear-points"),
    showTest: $("show-test"),
    discretize: $("discretize"),
    dialog: $("csv-dialog"),
    csvText: $("csv-text"),
    csvErrors: $("csv-errors"),
    csvSummary: $("csv-summary"),
    csvOk: $("csv-ok"),
    addPoints: root.querySelector(".add-points"),
  };
  let options = null;
  let key = "";
  let classesKey = "";
  const shown = { space: undefined, task: undefined }; // what renderSpace last laid out

  el.ratio.addEventListener("input", () => (el.ratioOut.textContent = `${el.ratio.value}%`));
  el.noise.addEventListener("input", () => (el.noiseOut.textContent = el.noise.value));
  el.samples.addEventListener("input", () => (el.samplesOut.textContent = el.samples.value));
  el.ratio.addEventListener("change", () => actions.setData({ train_fraction: Number(el.ratio.value) / 100 }));
  el.noise.addEventListener("change", () => actions.setData({ noise: Number(el.noise.value) }));
  el.samples.addEventListener("change", () => actions.setData({ samples: Number(el.samples.value) }));
  el.regenerate.addEventListener("click", () => actions.regenerate());
  el.clear.addEventListener("click", () => actions.clearPoints());
  el.showTest.addEventListener("change", () => actions.toggle("showTest", el.showTest.checked));
  el.discretize.addEventListener("change", () => actions.toggle("discretize", el.discretize.checked));
  el.paste.addEventListener("click", () => {
    el.dialog.returnValue = ""; // else Escape would repeat the last "ok"
    checkCSV();
    el.dialog.showModal();
  });
  el.csvText.addEventListener("input", checkCSV);
  el.dialog.addEventListener("close", () => {
    if (el.dialog.returnValue !== "ok") return;
    const parsed = parseCSV(el.csvText.value);
    if (parsed.x.length) actions.useCSV(parsed);
  });

  /** Say what the pasted text holds; the button says what it will use, and waits for a good row. */
  function checkCSV() {
    const blank = el.csvText.value.trim() === "";
    const parsed = parseCSV(el.csvText.value);
    const n = parsed.x.length;
    const errors = blank ? [] : parsed.errors.slice(0, 5);
    if (parsed.errors.length > errors.length && !blank) errors.push(`… and ${parsed.errors.length - errors.length} more`);
    let summary = "";
    if (n) {
      const f = parsed.featureNames.length;
      const view = f === 2 ? ", drawn on the plane" : f === 1 ? ", drawn as a curve" : "";
      summary = `${n} good row${n === 1 ? "" : "s"}, ${f} feature${f === 1 ? "" : "s"}, ${parsed.task}${view}.`;
      for (const note of parsed.notes) summary += ` ${note[0].toUpperCase()}${note.slice(1)}.`;
      if (parsed.skipped) summary += ` ${parsed.skipped} row${parsed.skipped === 1 ? "" : "s"} in error would be left out:`;
    } else if (!blank) {
      summary = "No row can be used yet:";
    }
    el.csvSummary.textContent = summary;
    el.csvErrors.textContent = errors.join("\n");
    el.csvOk.disabled = n === 0;
    el.csvOk.textContent = n && parsed.skipped ? `Use the ${n} good row${n === 1 ? "" : "s"}` : "Use this data";
  }

  function drawThumb(canvas, name) {
    const size = 64;
    canvas.width = size;
    canvas.height = size;
    const ctx = canvas.getContext("2d");
    const { kind, points, values } = thumbPoints(name);
    ctx.fillStyle = "#fafbfc";
    ctx.fillRect(0, 0, size, size);
    const s = (v) => ((v + 6) / 12) * size;
    for (let i = 0; i < points.length; i++) {
      const colour = kind === "class" ? categorical(values[i]) : kind === "value" ? diverging(values[i] * 1.5) : [90, 100, 120];
      ctx.fillStyle = css(colour);
      ctx.beginPath();
      ctx.arc(s(points[i][0]), size - s(points[i][1]), 1.8, 0, Math.PI * 2);
      ctx.fill();
    }
  }

  function setOptions(opts) {
    options = opts;
    el.thumbs.replaceChildren();
    for (const [name, info] of Object.entries(opts.datasets || {})) {
      if (!PICKABLE.has(info.kind)) continue;
      const b = document.createElement("button");
      b.type = "button";
      b.className = "thumb";
      b.setAttribute("role", "radio");
      b.setAttribute("aria-checked", "false");
      b.setAttribute("aria-label", `${name}: ${info.description || info.task}`);
      b.title = info.description || name;
      b.dataset.dataset = name;
      const c = document.createElement("canvas");
      if (info.kind === "image" || info.kind === "sequence") drawSpatialThumb(c, name);
      else drawThumb(c, name);
      const label = document.createElement("span");
      label.className = "name";
      label.textContent = name;
      b.append(c, label);
      b.addEventListener("click", () => actions.setDataset(name, info));
      el.thumbs.append(b);
    }
    key = "";
  }

  function renderClasses(state) {
    const task = state.data?.task;
    const n = task === "multiclass" ? state.data.nClasses || 3 : 2;
    const ck = `${task}:${n}:${state.ui.addClass}:${state.session.role}`;
    if (ck === classesKey) return;
    classesKey = ck;
    el.addClasses.replaceChildren();
    if (task === "regression") {
      const input = document.createElement("input");
      input.type = "number";
      input.step = "any";
      input.value = state.ui.addClass ?? "";
      input.placeholder = "target";
      input.setAttribute("aria-label", "Target value of added points (empty: off)");
      input.addEventListener("change", () => actions.setAddClass(input.value === "" ? null : Number(input.value)));
      el.addClasses.append(input);
      return;
    }
    for (let k = 0; k < n; k++) {
      const b = document.createElement("button");
      b.type = "button";
      b.style.background = css(categorical(k));
      b.setAttribute("aria-pressed", String(state.ui.addClass === k));
      b.setAttribute("aria-label", `Add points of class ${k}`);
      b.title = `click the plane to add class ${k}`;
      b.addEventListener("click", () => actions.setAddClass(state.ui.addClass === k ? null : k));
      el.addClasses.append(b);
    }
  }

  // Clicking points in and a discretized output need a plane (discretizing, a class
  // boundary too); test points show on a line as well. Decided by the data the page has.
  function renderSpace(state) {
    const space = inputSpace(state.data, state.architecture);
    const task = state.data?.task;
    if (space === shown.space && task === shown.task) return;
    shown.space = space;
    shown.task = task;
    el.addPoints.hidden = space !== "plane";
    el.showTest.closest("label").hidden = !space;
    el.discretize.closest("label").hidden = space !== "plane" || task === "regression";
  }

  function update(state) {
    renderSpace(state);
    renderClasses(state);
    const cfg = state.config?.data;
    if (!cfg || !options) return;
    const k = JSON.stringify([cfg.dataset, cfg.samples, cfg.noise, cfg.train_fraction, cfg.features, cfg.classes, !!cfg.x]);
    if (k === key) return;
    key = k;
    for (const b of el.thumbs.children) b.setAttribute("aria-checked", String(b.dataset.dataset === cfg.dataset));
    const info = options.datasets?.[cfg.dataset];
    const defaults = info?.defaults || {};
    const inline = !!cfg.x;
    const val = (name) => cfg[name] ?? defaults[name];
    for (const [input, out, name, fmt] of [
      [el.ratio, el.ratioOut, "train_fraction", (v) => `${Math.round(v * 100)}%`],
      [el.noise, el.noiseOut, "noise", (v) => String(v)],
      [el.samples, el.samplesOut, "samples", (v) => String(v)],
    ]) {
      const v = val(name);
      input.disabled = inline || v === undefined;
      if (v === undefined) continue;
      input.value = name === "train_fraction" ? String(Math.round(v * 100)) : String(v);
      out.textContent = fmt(v);
    }
    el.regenerate.disabled = inline;
    // dataset-specific numeric keys (e.g. classes)
    el.params.replaceChildren();
    for (const [name, def] of Object.entries(defaults)) {
      if (["samples", "noise", "train_fraction", "features"].includes(name) || typeof def !== "number") continue;
      const label = document.createElement("label");
      label.className = "field";
      const span = document.createElement("span");
      span.textContent = name;
      const input = document.createElement("input");
      input.type = "number";
      input.step = Number.isInteger(def) ? "1" : "any";
      const lim = info.limits?.[name];
      if (lim) {
        input.min = String(lim[0]);
        input.max = String(lim[1]);
      }
      input.value = String(cfg[name] ?? def);
      input.setAttribute("aria-label", name);
      input.addEventListener("change", () => actions.setData({ [name]: Number(input.value) }));
      label.append(span, input);
      el.params.append(label);
    }
    // features
    const features = cfg.features || defaults.features || ["x1", "x2"];
    el.features.replaceChildren();
    const canFeature = info?.kind === "plane" || (inline && cfg.x?.[0]?.length === 2);
    if (canFeature) {
      for (const f of FEATURE_NAMES) {
        const label = document.createElement("label");
        const input = document.createElement("input");
        input.type = "checkbox";
        input.checked = features.includes(f);
        input.setAttribute("aria-label", `Input feature ${f}`);
        input.addEventListener("change", () => {
          const next = FEATURE_NAMES.filter((n) => (n === f ? input.checked : features.includes(n)));
          if (next.length) actions.setData({ features: next });
          else input.checked = true;
        });
        label.append(input, document.createTextNode(f));
        el.features.append(label);
      }
    }
  }

  return { setOptions, update, reset() { key = ""; classesKey = ""; shown.space = undefined; } };
}
