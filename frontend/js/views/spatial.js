// The CNN / RNN panel: takes the network panel's place when the architecture has conv,
// pooling or recurrent layers, and the output plane's place when the data are images or
// sequences. Holds the layer bar, the CNN or RNN view, the evaluation card and the
// explanation panel, and asks the server for explanations and evaluations (throttled while
// playing). Its UI state lives in state.ui.spatial.

import { architectureKind, SPATIAL_KINDS, setTruncate, truncateOf, setTarget } from "../spatialModel.js";
import { explainSpatial, evaluation } from "../spatialApi.js";
import { createCnnView } from "./cnn.js";
import { createRnnView, recurrentLayer } from "./rnn.js";
import { createEvaluationView } from "./evaluation.js";
import { createLayerEditor } from "./layerEditor.js";
import { renderSpatialExplain } from "./spatialExplain.js";
import { batchIndex } from "./widgets.js";

const EXPLAIN_EVERY_MS = 500; // while playing
const EVALUATE_EVERY_MS = 1500; // while playing

export const initialUi = () => ({ sample: 0, maps: "a", kernels: "W", rnnShow: "h", recLayer: -1, editLayer: null, selected: null, explain: null });

/**
 * @param {{root, wrap, evaluation, hide: HTMLElement[], planeCard: HTMLElement}} el
 * @param {{api, state, setConfig(fn), train(changes), canEdit(): boolean, viewedStep(): number|null}} deps
 */
export function createSpatialPanel(el, deps) {
  const { api, state } = deps;
  const ui = () => (state.ui.spatial ||= initialUi());
  const setUi = (patch) => {
    Object.assign(ui(), patch);
    if ("sample" in patch && ui().selected) refreshExplain(); // same target, another sample
    state.dirty = true;
  };

  // --- DOM --------------------------------------------------------------------------------
  el.root.replaceChildren();
  const top = document.createElement("div");
  top.className = "sx-top";
  const editorRoot = document.createElement("div");
  const rnnControls = document.createElement("div");
  rnnControls.className = "sx-rnn-controls";
  top.append(editorRoot, rnnControls);
  const cnnRoot = document.createElement("div");
  cnnRoot.className = "sx-view";
  cnnRoot.dataset.testid = "cnn-view";
  const rnnRoot = document.createElement("div");
  rnnRoot.className = "sx-view";
  rnnRoot.dataset.testid = "rnn-view";
  const tooltip = document.createElement("div");
  tooltip.className = "tooltip";
  tooltip.hidden = true;
  el.root.append(top, cnnRoot, rnnRoot, tooltip);

  const aside = document.createElement("aside");
  aside.className = "explain";
  aside.id = "spatial-explain";
  aside.dataset.testid = "spatial-explain";
  aside.setAttribute("aria-labelledby", "spatial-explain-title");
  aside.hidden = true;
  const asideHead = document.createElement("div");
  asideHead.className = "explain-head";
  const asideTitle = document.createElement("h2");
  asideTitle.id = "spatial-explain-title";
  asideTitle.textContent = "Explain";
  const close = document.createElement("button");
  close.type = "button";
  close.className = "btn ghost small";
  close.textContent = "×";
  close.setAttribute("aria-label", "Close the explanation");
  close.addEventListener("click", () => select(null));
  asideHead.append(asideTitle, close);
  const asideBody = document.createElement("div");
  asideBody.className = "explain-body";
  aside.append(asideHead, asideBody);
  document.body.append(aside);
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && ui().selected) select(null);
  });

  const hooks = { select, ui, setUi };
  const cnn = createCnnView({ root: cnnRoot, tooltip }, hooks);
  const rnn = createRnnView({ root: rnnRoot, tooltip }, hooks);
  const evalView = createEvaluationView({ root: el.evaluation, tooltip });
  const editor = createLayerEditor(editorRoot, {
    setConfig: deps.setConfig,
    canEdit: deps.canEdit,
    ui,
    setUi,
    options: () => state.options,
  });
  const rnnBar = createRnnControls(rnnControls, deps);

  // --- explanations ----------------------------------------------------------------------
  let explainAt = 0;
  let explainBusy = false;
  let rendered = null;

  function select(target) {
    const u = ui();
    u.selected = target;
    u.explain = target ? { status: "loading", target, response: null, step: -1 } : null;
    aside.hidden = !target;
    if (target) refreshExplain();
    state.dirty = true;
  }

  async function refreshExplain() {
    const u = ui();
    const ex = u.explain;
    if (!ex || explainBusy) return;
    explainBusy = true;
    explainAt = performance.now();
    const id = state.session.id;
    const target = ex.target;
    const past = deps.viewedStep?.() ?? null; // a page scrubbed back in time explains the step it shows
    const step = past ?? state.step;
    const sample = u.sample;
    if (step === 0) {
      // nothing is traced at step 0: asking would only earn a 404 (and a console error)
      u.explain = { status: "error", target, error: "No step has been traced yet: press step (→) and the numbers appear.", step, sample };
      explainBusy = false;
      state.dirty = true;
      return;
    }
    try {
      const response = await explainSpatial(api, id, target, sample, past);
      if (ui().explain?.target === target && id === state.session.id) ui().explain = { status: "ok", target, response, step, sample };
    } catch (err) {
      if (ui().explain?.target === target) {
        const msg = err.status === 404 ? "No step has been traced yet: press step (→) and the numbers appear." : err.message;
        ui().explain = { status: "error", target, error: msg, step, sample };
      }
    } finally {
      explainBusy = false;
      state.dirty = true;
    }
  }

  function maybeRefreshExplain(now) {
    const ex = ui().explain;
    if (!ex || explainBusy || ex.step === (deps.viewedStep?.() ?? state.step)) return;
    if (state.playing && now - explainAt < EXPLAIN_EVERY_MS) return;
    refreshExplain();
  }

  function drawExplain() {
    const ex = ui().explain;
    if (ex === rendered) return;
    rendered = ex;
    if (!ex) return;
    const arch = state.architecture;
    renderSpatialExplain(asideBody, ex, {
      select,
      sample: ex.sample ?? ui().sample,
      sampleIndex: (n) => batchIndex(drawn.batch, n), // the batch drawn: a past one while time travel shows it
      layerName: (k) => `layer ${k + 1} (${arch?.layers[k]?.type ?? "?"})`,
    });
    asideTitle.textContent = ex.target.kind === "recurrent" ? "Backprop through time" : ex.target.kind === "kernel" ? "Kernel gradient" : ex.target.kind === "input" ? "Input gradient" : "Sliding kernel";
  }

  // --- evaluation ---------------------------------------------------------------------------
  let evalAt = -Infinity;
  let evalStep = -1;
  let evalBusy = false;
  let evalSession = null;

  async function maybeEvaluate(now) {
    if (evalBusy || !state.session.id || state.session.status !== "live") return;
    if (evalSession === state.session.id && evalStep === state.step) return;
    if (state.playing && now - evalAt < EVALUATE_EVERY_MS) return;
    evalBusy = true;
    evalAt = now;
    const id = state.session.id;
    const step = state.step;
    try {
      const result = await evaluation(api, id, { maxExamples: state.data?.kind === "image" ? 48 : 12 });
      if (id === state.session.id) {
        evalView.set(result);
        evalStep = step;
        evalSession = id;
      }
    } catch (err) {
      evalStep = step; // do not retry the same step in a loop
      evalSession = id;
      if (err.status !== 404) console.warn(err);
    } finally {
      evalBusy = false;
      state.dirty = true;
    }
  }

  // --- the panel ------------------------------------------------------------------------------
  let active = "dense";
  let dataSpatial = false;
  let drawn = state; // the state the views drew last

  /** `shown`: the state to draw (a past step while time travel shows one); requests follow the live one. */
  function update(shown, now = performance.now()) {
    drawn = shown;
    const kind = architectureKind(shown.architecture);
    const spatialData = SPATIAL_KINDS.includes(shown.data?.kind);
    if (kind !== active || spatialData !== dataSpatial) {
      active = kind;
      dataSpatial = spatialData;
      const on = kind !== "dense";
      el.root.hidden = !on;
      el.wrap.classList.toggle("spatial-on", on); // the network canvas steps aside (css/spatial.css)
      for (const e of el.hide) e.hidden = on;
      el.planeCard.hidden = spatialData;
      el.evaluation.hidden = !spatialData;
      cnnRoot.hidden = kind !== "cnn";
      rnnRoot.hidden = kind !== "rnn";
      if (!on && ui().selected) select(null);
    }
    if (spatialData) {
      maybeEvaluate(now);
      evalView.update(state);
    }
    if (active === "dense") return;
    maybeRefreshExplain(now);
    editor.update(shown);
    rnnBar.update(shown, active === "rnn");
    if (active === "cnn") cnn.update(shown);
    else rnn.update(shown);
    drawExplain();
  }

  return {
    update,
    reset() {
      state.ui.spatial = initialUi();
      aside.hidden = true;
      rendered = null;
      evalStep = -1;
      evalSession = null;
      evalView.reset();
      editor.reset();
      cnn.reset();
      rnn.reset();
      active = "";
      state.dirty = true;
    },
    select,
    cnn,
    rnn,
    evaluation: evalView,
  };
}

/** Truncation length, clipping norm, target kind and which recurrent layer: the RNN view's controls. */
function createRnnControls(root, deps) {
  const { state } = deps;
  root.replaceChildren();
  const mk = (labelText, input, title) => {
    const label = document.createElement("label");
    label.className = "field compact";
    label.title = title;
    const span = document.createElement("span");
    span.textContent = labelText;
    label.append(span, input);
    root.append(label);
    return label;
  };
  const trunc = document.createElement("input");
  trunc.type = "number";
  trunc.min = "1";
  trunc.step = "1";
  trunc.placeholder = "full";
  trunc.dataset.testid = "truncate";
  trunc.setAttribute("aria-label", "Truncated BPTT length k (empty: full backprop through time)");
  mk("BPTT truncation k", trunc, "Backprop each loss term through at most k steps; empty = full BPTT. Rebuilds the network.");
  const clip = document.createElement("input");
  clip.type = "number";
  clip.min = "0";
  clip.step = "any";
  clip.placeholder = "off";
  clip.dataset.testid = "clip";
  clip.setAttribute("aria-label", "Clip the global gradient norm to (empty: off)");
  mk("clip ‖g‖ to", clip, "Global gradient clipping: scale the whole gradient down to this norm when it is larger. Live, no rebuild.");
  const target = document.createElement("select");
  target.setAttribute("aria-label", "Targets: one per sequence or one per step");
  target.add(new Option("one per sequence", "last"));
  target.add(new Option("one per step", "sequence"));
  const targetLabel = mk("target", target, "Many-to-one (the last step predicts) or many-to-many (every step predicts)");
  const layerSel = document.createElement("select");
  layerSel.setAttribute("aria-label", "Which recurrent layer to show");
  const layerLabel = mk("layer", layerSel, "Which recurrent layer the view shows");
  trunc.addEventListener("change", () => {
    const v = trunc.value.trim() === "" ? null : Math.round(Number(trunc.value));
    if (v !== null && !(v >= 1)) return;
    deps.setConfig((c) => setTruncate(c, v));
  });
  clip.addEventListener("change", () => {
    const v = clip.value.trim() === "" ? null : Number(clip.value);
    if (v !== null && !(v > 0)) return;
    deps.train({ clip_norm: v });
  });
  target.addEventListener("change", () => deps.setConfig((c) => setTarget(c, target.value)));
  layerSel.addEventListener("change", () => {
    state.ui.spatial.recLayer = Number(layerSel.value);
    state.dirty = true;
  });
  let key = "";
  return {
    update(s, on) {
      root.hidden = !on;
      if (!on) return;
      const cfg = s.config;
      const info = s.options?.datasets?.[cfg?.data?.dataset];
      const recs = (s.architecture?.layers || []).map((l, k) => [l, k]).filter(([l]) => l.type === "rnn" || l.type === "lstm");
      const k = JSON.stringify([truncateOf(cfg), cfg?.training?.clip_norm, cfg?.data?.target, info?.targets, recs.map(([, i]) => i), deps.canEdit(), s.ui.spatial?.recLayer]);
      if (k === key) return;
      key = k;
      const editable = deps.canEdit();
      if (document.activeElement !== trunc) trunc.value = truncateOf(cfg) ?? "";
      if (document.activeElement !== clip) clip.value = cfg?.training?.clip_norm ?? "";
      trunc.disabled = clip.disabled = target.disabled = !editable;
      targetLabel.hidden = !(info?.targets?.length > 1);
      target.value = cfg?.data?.target || "last";
      layerLabel.hidden = recs.length < 2;
      layerSel.replaceChildren(...recs.map(([l, i]) => new Option(`layer ${i + 1} (${l.type})`, String(i))));
      layerSel.value = String(recurrentLayer(s.architecture, s.ui.spatial?.recLayer));
    },
  };
}
