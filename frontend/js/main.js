// The composer: the only module that wires state, server and views together.
// Server messages update `state` and set `state.dirty`; one requestAnimationFrame
// loop draws the latest state. User actions go to the server over REST; their
// effects come back as frames and events like anybody else's.

import { Api } from "./api.js";
import { SessionSocket } from "./socket.js";
import { createState, applyHello, applyFrame, applyEvent, applySessionInfo, applyHistory, isDense } from "./state.js";
import { decodeConfig, encodeConfig } from "./url.js";
import { onCanvasResize } from "./draw.js";
import { createFramePacer } from "./pacer.js";
import * as model from "./model.js";
import { createAnimation, nextPhase, animationAt, describePhase } from "./animation.js";
import { gridInputs, FEATURES } from "./features.js";
import { createNetworkView } from "./views/network.js";
import { createOutputPlane } from "./views/outputPlane.js";
import { createLossChart } from "./views/lossChart.js";
import { createLayerCharts } from "./views/layerCharts.js";
import { createControls } from "./views/controls.js";
import { createDataPanel } from "./views/data.js";
import { createBanner } from "./views/banner.js";
import { renderExplain } from "./views/explain.js";
import { createSpatialPanel } from "./views/spatial.js";
import { switchDataset, withSpatialDefaults, frameElements, streamFps } from "./spatialModel.js";
import { createClassroom } from "./views/present.js";
import { createTimeTravel } from "./timetravel.js";
import { createTimeline } from "./views/timeline.js";
import { createComparePanel } from "./views/compare.js";
import { createGradcheckPanel } from "./views/gradcheck.js";
import { createForkPanel } from "./views/fork.js";

const $ = (id) => document.getElementById(id);
const api = new Api();
const state = createState();
let socket = null;
let options = null;
let ownSession = false; // this page created the session (and deletes it on leaving)
const pacer = createFramePacer((header, arrays) => applyFrame(state, header, arrays));

// --- small UI helpers -------------------------------------------------------------

let toastTimer = null;
function toast(text, kind = "info") {
  const el = $("toast");
  el.textContent = text;
  el.className = `toast ${kind}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), kind === "error" ? 6000 : 2500);
}

function fail(err) {
  console.warn(err);
  toast(err.message || String(err), "error");
  views.controls.reset(); // re-sync inputs with the session's real values
  state.dirty = true;
}

const controller = () => state.session.role === "controller" && state.session.status !== "deleted";

// --- the session: create, attach, switch --------------------------------------------

function subscription(architecture) {
  const units = (architecture?.layers || []).reduce((n, l) => n + (l.output_shape || [l.units || 0]).reduce((a, b) => a * b, 1), 0);
  const nodes = units <= 64 ? 24 : units <= 256 ? 16 : 8;
  // conv / recurrent frames carry whole feature maps and states: fewer frames for bigger ones
  const fps = streamFps(frameElements(architecture, state.config?.training?.batch_size));
  // 8-bit heatmaps: a colour map has no more levels to show, and frames shrink ~3× (docs/performance.md)
  return { fps, heatmaps: { output: 64, nodes, bits: 8 } };
}

function switchTo(id, token, info, own) {
  if (socket) socket.close();
  pacer.clear();
  const ui = state.ui;
  Object.assign(state, createState());
  state.options = options;
  state.ui = { ...ui, hover: null, selected: null, explain: null, anim: null };
  state.session = { id, token, role: token ? "controller" : "viewer", status: "connecting", viewers: 0 };
  ownSession = own;
  applySessionInfo(state, info);
  for (const v of Object.values(views)) v.reset?.();
  closeExplain();
  socket = new SessionSocket(
    id,
    {
      onHello(msg) {
        pacer.flush();
        applyHello(state, msg);
        classroom.onHello(msg);
        if (msg.session?.step > 0) api.history(id).then((h) => id === state.session.id && applyHistory(state, h)).catch(() => {});
      },
      onFrame(header, arrays) {
        pacer.push(header, arrays);
      },
      onText(msg) {
        pacer.flush();
        if (msg.type === "event") {
          applyEvent(state, msg);
          classroom.onEvent(msg);
          if (msg.event === "config") writeUrl();
        } else if (msg.type === "error") toast(msg.message, "error");
      },
      onStatus(status) {
        if (state.session.status !== "deleted") state.session.status = status;
        state.dirty = true;
      },
    },
    subscription(info?.architecture),
  );
  socket.connect();
  writeUrl();
  classroom.onSwitch(id, token);
}

async function createSession(config) {
  const created = await api.create(config);
  sessionStorage.setItem(`bpl.token.${created.id}`, created.control_token);
  const old = ownSession ? { ...state.session } : null;
  switchTo(created.id, created.control_token, created.session, true);
  if (old?.id && old.token) api.remove(old.id, old.token).catch(() => {});
}

async function attach(id) {
  const token = sessionStorage.getItem(`bpl.token.${id}`);
  const info = await api.get(id);
  switchTo(id, token, info, false);
}

function writeUrl() {
  if (!state.config) return;
  const extra = { presenter: state.ui.presenter ? 1 : undefined };
  let query;
  if (classroom.urlQuery()) {
    query = classroom.urlQuery();
  } else if (state.session.role === "viewer" || !ownSession || state.config.data?.x) {
    query = encodeConfig({}, { session: state.session.id, ...extra }).query;
  } else {
    query = encodeConfig(model.compactConfig(state.config), extra).query;
  }
  const url = `${location.pathname}?${query}`;
  if (url !== location.pathname + location.search) history.replaceState(null, "", url);
}

// --- rebuilding (network or data changes need a new session) ------------------------

let rebuildTimer = null;
let pendingConfig = null;

/** Ask for a new session with this config, debounced so quick clicks build once. */
function rebuild(config, delay = 200) {
  if (!controller()) return;
  pendingConfig = config;
  state.config = config; // the controls show the wanted setup at once
  state.dirty = true;
  clearTimeout(rebuildTimer);
  rebuildTimer = setTimeout(async () => {
    const cfg = pendingConfig;
    pendingConfig = null;
    try {
      await createSession(cfg);
    } catch (err) {
      fail(err);
      // back to the running session's config
      api.get(state.session.id).then((info) => applySessionInfo(state, info)).catch(() => {});
    }
  }, delay);
}

const current = () => model.compactConfig(pendingConfig || state.config);

function limits() {
  return options?.limits || {};
}

// --- actions -----------------------------------------------------------------------

async function withSession(fn) {
  if (!controller()) return;
  try {
    const info = await fn(state.session.id, state.session.token);
    if (info && info.id) applySessionInfo(state, info, state.session.status === "live");
    state.dirty = true;
  } catch (err) {
    fail(err);
  }
}

const actions = {
  play: () => withSession((id, t) => api.play(id, t, views.controls.playOptions())),
  pause: () => withSession((id, t) => api.pause(id, t)),
  step: () =>
    withSession(async (id, t) => {
      const r = await api.step(id, t, 1);
      state.step = Math.max(state.step, r.step);
      state.epoch = r.epoch;
      if (r.eval) state.eval = r.eval;
      if (r.divergence) state.divergence = r.divergence;
    }),
  reset: () => {
    state.ui.anim = null;
    return withSession((id, t) => api.reset(id, t));
  },
  async sample() {
    if (!controller() || state.playing || state.ui.anim) return;
    const id = state.session.id;
    const t = state.session.token;
    const batch = state.config.training.batch_size;
    try {
      if (batch !== 1) await api.patch(id, t, { training: { batch_size: 1 } });
      try {
        await api.step(id, t, 1);
      } finally {
        if (batch !== 1) await api.patch(id, t, { training: { batch_size: batch } });
      }
      const trace = await api.trace(id);
      state.ui.anim = createAnimation(state.architecture.layers.length, { manual: $("anim-manual").checked, now: performance.now(), trace });
      state.dirty = true;
    } catch (err) {
      fail(err);
    }
  },
  train(changes) {
    // PATCH's optimizer schema fills a missing name / lr with its defaults (sgd, 0.03):
    // always send the current ones along so a partial change stays partial.
    const opt = state.config?.training?.optimizer;
    if (changes.optimizer && opt) changes = { ...changes, optimizer: { name: opt.name, lr: opt.lr, ...changes.optimizer } };
    return withSession((id, t) => api.patch(id, t, { training: changes })).then(writeUrl);
  },
  playOptions() {
    const play = views.controls.playOptions();
    return withSession((id, t) => (state.playing ? api.play(id, t, play) : api.patch(id, t, { play })));
  },
  recover: (lr) => withSession((id, t) => api.recover(id, t, lr)).then(writeUrl),
  setOutputPair: (act, loss) => rebuild(model.setOutput(current(), act, loss)),
  setModel: (partial) => rebuild({ ...current(), model: { ...current().model, ...partial } }),
  setSeed: (seed) => rebuild({ ...current(), seed }),
  reseed: () => rebuild({ ...current(), seed: Math.floor(Math.random() * 1e6) }),
  regenerate: () => rebuild({ ...current(), seed: Math.floor(Math.random() * 1e6) }),
  addLayer: () => rebuild(model.addLayer(current(), limits().max_layers || 32)),
  removeLayer: () => rebuild(model.removeLayer(current())),
  changeUnits: (k, d) => rebuild(model.changeUnits(current(), k, d, limits().max_units || 1024)),
  setActivation: (k, act) => rebuild(model.setActivation(current(), k, act)),
  setConfig: (edit) => rebuild(edit(current())),
  setDataset(name, info) {
    const c = current();
    const spatial = switchDataset(c, name, options.datasets); // to, from or between image / sequence sets
    if (spatial) {
      state.custom = null;
      return rebuild(spatial);
    }
    const keep = c.data?.dataset ? c.data : {};
    const data = { dataset: name };
    for (const key of Object.keys(info.defaults || {})) if (keep[key] !== undefined && key !== "classes") data[key] = keep[key];
    if (info.kind !== "plane") delete data.features;
    state.custom = null;
    rebuild(model.fitOutputToTask({ ...c, data }, info.task, info.n_classes));
  },
  setData(partial) {
    const c = current();
    if (c.data?.x) {
      if (partial.features) rebuild({ ...c, data: { ...c.data, features: partial.features } });
      return;
    }
    const next = { ...c, data: { ...c.data, ...partial } };
    const info = options.datasets?.[next.data.dataset];
    rebuild(partial.classes ? model.fitOutputToTask(next, info?.task, partial.classes) : next);
  },
  useCSV(parsed) {
    const c = current();
    const x = [];
    const y = [];
    const xt = [];
    const yt = [];
    parsed.x.forEach((row, i) => {
      if (parsed.x.length >= 10 && i % 5 === 4) {
        xt.push(row);
        yt.push(parsed.y[i]);
      } else {
        x.push(row);
        y.push(parsed.y[i]);
      }
    });
    const data = xt.length ? { x, y, x_test: xt, y_test: yt } : { x, y };
    state.custom = null;
    rebuild(model.fitOutputToTask({ ...c, data }, parsed.task, parsed.classes), 0);
  },
  setAddClass(label) {
    state.ui.addClass = label;
    state.dirty = true;
  },
  addPoint(x1, x2) {
    if (state.ui.addClass === null || !controller()) return;
    state.custom ||= { x: [], y: [], cleared: false };
    state.custom.x.push([x1, x2]);
    state.custom.y.push(state.ui.addClass);
    state.dirty = true;
    clearTimeout(pointsTimer);
    pointsTimer = setTimeout(applyPoints, 900);
  },
  clearPoints() {
    if (!controller() || !state.data) return;
    state.custom = { x: [], y: [], cleared: true };
    state.data = { ...state.data, pointsTrain: [], pointsTest: [], labelsTrain: [], labelsTest: [], targetsTrain: [], targetsTest: [] };
    if (state.ui.addClass === null) state.ui.addClass = 0;
    toast("Click the plane to add points; training uses them once there are a few of each class.");
    state.dirty = true;
  },
  toggle(name, value) {
    state.ui[name] = value;
    state.dirty = true;
  },
  presenter(on) {
    state.ui.presenter = on;
    document.body.classList.toggle("presenter", on);
    $("presenter").checked = on;
    for (const v of Object.values(views)) v.reset?.();
    writeUrl();
    state.dirty = true;
  },
  animManual(on) {
    if (state.ui.anim) state.ui.anim.manual = on;
  },
  share() {
    const url = location.href;
    (navigator.clipboard?.writeText(url) || Promise.reject(new Error("no clipboard")))
      .then(() => toast("Link copied: it opens this setup with the same seed."))
      .catch(() => toast(url));
  },
  async exportSession() {
    try {
      const blob = await api.exportSession(state.session.id);
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = `backprop-lab-${state.session.id}-step${state.step}.json`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    } catch (err) {
      fail(err);
    }
  },
  async importFile(file) {
    try {
      const text = await file.text();
      const created = await api.importSession(text);
      sessionStorage.setItem(`bpl.token.${created.id}`, created.control_token);
      const old = ownSession ? { ...state.session } : null;
      switchTo(created.id, created.control_token, created.session, true);
      if (old?.id && old.token) api.remove(old.id, old.token).catch(() => {});
      toast(`Imported: step ${created.session.step}`);
    } catch (err) {
      fail(err);
    }
  },
};

let pointsTimer = null;
function applyPoints() {
  const c = current();
  const d = state.data;
  const custom = state.custom;
  if (!custom || !d) return;
  const regression = d.task === "regression";
  const baseX = custom.cleared ? [] : d.pointsTrain;
  const baseY = custom.cleared ? [] : regression ? d.targetsTrain || [] : d.labelsTrain;
  const x = [...baseX, ...custom.x];
  const y = [...baseY, ...custom.y];
  if (x.length < 4) return; // wait for a few points
  if (!regression && new Set(y).size < 2) return; // and two classes
  const data = { x, y };
  if (!custom.cleared && d.pointsTest.length) {
    data.x_test = d.pointsTest;
    data.y_test = regression ? d.targetsTest : d.labelsTest;
  }
  const features = c.data?.features;
  if (features && !(features.length === 2 && features[0] === "x1" && features[1] === "x2")) data.features = features;
  rebuild({ ...c, data }, 0);
  state.custom = null;
}

// --- explain panel --------------------------------------------------------------------

let explainAt = 0;
let explainInFlight = false;

function openExplain(target) {
  state.ui.selected = target;
  state.ui.explain = { status: "loading", target, response: null, step: -1 };
  $("explain").hidden = false;
  const pick = target.kind === "node" ? "node" : target.param;
  $("explain-kind").value = pick;
  $("explain-layer").value = String(target.layer + 1);
  $("explain-i").value = target.kind === "weight" ? String(target.index[0]) : "";
  $("explain-j").value = String(target.kind === "node" ? target.unit : target.index.at(-1));
  $("explain-i").closest("label").hidden = target.kind !== "weight";
  explainAt = 0;
  refreshExplain();
  state.dirty = true;
}

function closeExplain() {
  state.ui.selected = null;
  state.ui.explain = null;
  $("explain").hidden = true;
  state.dirty = true;
}

async function refreshExplain() {
  const ex = state.ui.explain;
  if (!ex || explainInFlight) return;
  explainInFlight = true;
  explainAt = performance.now();
  const id = state.session.id;
  const target = ex.target;
  const past = travel.viewedStep(); // a page showing a past step explains that step
  const step = past ?? state.step;
  try {
    const response = past === null ? await api.explain(id, target) : await travel.explainAt(past, target);
    if (state.ui.explain?.target === target && id === state.session.id) {
      state.ui.explain = { status: "ok", target, response, step };
    }
  } catch (err) {
    if (state.ui.explain?.target === target) {
      const msg = err.status === 404 ? "No step has been traced yet: press step (→) and the numbers appear." : err.message;
      state.ui.explain = { status: "error", target, error: msg, step };
    }
  } finally {
    explainInFlight = false;
    state.dirty = true;
  }
}

function maybeRefreshExplain(now) {
  const ex = state.ui.explain;
  if (!ex || explainInFlight || ex.step === (travel.viewedStep() ?? state.step)) return;
  if (state.playing && now - explainAt < 500) return;
  refreshExplain();
}

$("explain-close").addEventListener("click", closeExplain);
$("explain-kind").addEventListener("change", () => {
  $("explain-i").closest("label").hidden = $("explain-kind").value !== "W";
});
$("explain-pick").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const kind = $("explain-kind").value;
  const layer = Number($("explain-layer").value) - 1;
  const i = Number($("explain-i").value);
  const j = Number($("explain-j").value);
  if (!(layer >= 0)) return;
  if (kind === "W") openExplain({ kind: "weight", layer, param: "W", index: [i, j] });
  else if (kind === "b") openExplain({ kind: "bias", layer, param: "b", index: [j] });
  else openExplain({ kind: "node", layer, unit: j });
});

let explainRendered = null;
function drawExplain() {
  const ex = state.ui.explain;
  if (ex === explainRendered) return;
  explainRendered = ex;
  if (!ex) return;
  renderExplain($("explain-body"), ex, state.architecture?.layers.length || 0);
}

// --- heatmaps for data the server does not stream maps for (inline points) -----------

let predictAt = 0;
let predictStep = -1;
let predicting = false;
async function predictHeat(now) {
  const d = state.data;
  if (!d || d.kind === "plane" || !d.domain || !d.pointsTrain?.length || d.pointsTrain[0].length !== 2) return;
  if (predicting || now - predictAt < 300 || predictStep === state.step) return;
  const feats = d.featureNames?.length ? d.featureNames : ["x1", "x2"];
  if (!feats.every((f) => FEATURES[f])) return;
  predicting = true;
  predictAt = now;
  const step = state.step;
  const id = state.session.id;
  const r = 40;
  try {
    const res = await api.predict(id, gridInputs(d.domain, r, feats));
    if (id !== state.session.id) return;
    const toHeat = (rows) => {
      const units = rows[0].length;
      const data = new Float32Array(units * r * r);
      rows.forEach((row, p) => row.forEach((v, u) => (data[u * r * r + p] = v ?? NaN)));
      return { data, shape: [units, r, r] };
    };
    const out = toHeat(res.outputs);
    const heat = { output: { data: out.data.subarray(0, r * r), shape: [r, r] }, outputClass: null, input: toHeat(gridInputs(d.domain, r, feats)), layers: res.layers.map((l) => toHeat(l.a)) };
    if (res.outputs[0].length > 1) {
      const cls = new Uint8Array(r * r);
      res.outputs.forEach((row, p) => (cls[p] = row.indexOf(Math.max(...row))));
      heat.outputClass = { data: cls, shape: [r, r] };
    }
    state.heat = heat;
    predictStep = step;
    state.dirty = true;
  } catch {
    predictStep = step;
  } finally {
    predicting = false;
  }
}

// --- views ------------------------------------------------------------------------------

// Time travel: scrub, compare, fork, gradient checks (timetravel.js and its views below).
const travel = createTimeTravel({ state, api, toast, openSession: (id) => attach(id).catch(fail) });

const views = {
  controls: createControls(actions),
  data: createDataPanel(actions),
  network: createNetworkView(
    { canvas: $("network"), heads: $("layer-heads"), note: $("net-note"), legend: $("net-legend"), tooltip: $("tooltip") },
    {
      select: (target) => openExplain(target),
      hover(hit) {
        state.ui.hover = hit;
        state.dirty = true;
      },
      changeUnits: actions.changeUnits,
      setActivation: actions.setActivation,
      canEdit: controller,
    },
  ),
  plane: createOutputPlane({ canvas: $("output-plane"), caption: $("plane-caption") }, { addPoint: actions.addPoint, canAdd: () => controller() && state.ui.addClass !== null }),
  loss: createLossChart({ canvas: $("loss-chart"), onChange: () => (state.dirty = true), extras: travel.lossExtras }),
  layers: createLayerCharts({ canvas: $("layer-chart"), legend: $("layer-legend") }),
  banner: createBanner($("banner"), { recover: actions.recover, reset: actions.reset }),
  spatial: createSpatialPanel(
    { root: $("spatial"), wrap: $("network-wrap"), evaluation: $("evaluation-card"), hide: [$("net-legend"), document.querySelector(".net-tools")], planeCard: document.querySelector(".plane-card") },
    { api, state, setConfig: actions.setConfig, train: actions.train, canEdit: controller, viewedStep: () => travel.viewedStep() },
  ),
  timeline: createTimeline(
    {
      canvas: $("timeline-track"),
      legend: $("timeline-legend"),
      pill: $("past-pill"),
      pillStep: $("past-step"),
      pillNote: $("past-note"),
      back: $("back-to-live"),
      buttons: { compare: $("compare-open"), fork: $("fork-open"), gradcheck: $("gradcheck-open") },
      marks: [document.querySelector(".plane-card")],
      explain: $("explain"),
    },
    travel,
    () => views.loss.geometry,
  ),
  compare: createComparePanel(document.body, travel),
  gradcheck: createGradcheckPanel({ mount: document.body, explain: $("explain") }, travel),
  fork: createForkPanel(document.body, travel),
};

const classroom = createClassroom({
  state,
  api,
  toast,
  fail,
  actions,
  socket: () => socket,
  attach,
  switchTo,
  createSession,
  currentConfig: current,
  openExplain,
  closeExplain,
});

$("add-layer").addEventListener("click", actions.addLayer);
$("remove-layer").addEventListener("click", actions.removeLayer);
for (const b of document.querySelectorAll("[data-edge]")) {
  b.addEventListener("click", () => {
    state.ui.edgeMode = b.dataset.edge;
    for (const o of document.querySelectorAll("[data-edge]")) o.setAttribute("aria-checked", String(o === b));
    state.dirty = true;
  });
}
for (const b of document.querySelectorAll("[data-node]")) {
  b.addEventListener("click", () => {
    state.ui.nodeMode = b.dataset.node;
    for (const o of document.querySelectorAll("[data-node]")) o.setAttribute("aria-checked", String(o === b));
    state.dirty = true;
  });
}
for (const b of document.querySelectorAll("[data-chart]")) {
  b.addEventListener("click", () => {
    state.ui.layerChart = b.dataset.chart;
    for (const o of document.querySelectorAll("[data-chart]")) o.setAttribute("aria-checked", String(o === b));
    state.dirty = true;
  });
}
$("log-scale").addEventListener("change", () => {
  state.ui.logScale = $("log-scale").checked;
  state.dirty = true;
});
$("anim-next").addEventListener("click", () => {
  if (state.ui.anim) nextPhase(state.ui.anim, performance.now());
  state.dirty = true;
});
$("anim-stop").addEventListener("click", () => {
  state.ui.anim = null;
  state.dirty = true;
});
window.addEventListener("resize", () => (state.dirty = true));
onCanvasResize(() => (state.dirty = true));

// --- keyboard: space play/pause, → step (or next animation phase), r reset, Esc -------
// While a past step is shown, ← / → move it by one step (→ at the live end steps as usual).

document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = ev.target;
  if (t instanceof HTMLElement && (t.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(t.tagName))) return;
  if (t instanceof HTMLElement && t.tagName === "BUTTON" && (ev.key === " " || ev.key === "Enter")) return;
  if (ev.key === " ") {
    ev.preventDefault();
    state.playing ? actions.pause() : actions.play();
  } else if (ev.key === "ArrowRight") {
    ev.preventDefault();
    if (state.ui.anim?.manual) {
      nextPhase(state.ui.anim, performance.now());
      state.dirty = true;
    } else if (travel.viewing()) travel.stepBy(1);
    else actions.step();
  } else if (ev.key === "ArrowLeft") {
    ev.preventDefault();
    if (!state.playing || travel.viewing()) travel.stepBy(-1);
  } else if (ev.key === "r" || ev.key === "R") {
    actions.reset();
  } else if (ev.key === "Escape") {
    if (!travel.escape()) closeExplain();
  }
});

// --- the one drawing loop ------------------------------------------------------------------

// Drawing counters for benchmarks/page.py: `times` holds the last 2048 draw durations (ms).
const stats = { frames: 0, fps: 0, drawMs: 0, drawMsAvg: 0, drawMsMax: 0, windowStart: 0, windowFrames: 0, messages: 0, times: new Float32Array(2048) };
window.__bpl_stats = stats;
window.__bpl = { state, views, api, actions, openExplain, travel, classroom };

function drawCaption(now) {
  const cap = $("anim-caption");
  const anim = state.ui.anim;
  if (!anim) {
    cap.hidden = true;
    return;
  }
  const phase = animationAt(anim, now);
  cap.hidden = false;
  cap.querySelector(".text").textContent = describePhase(phase, state.architecture.layers.length, state.architecture.layers.map((l) => l.activation));
  $("anim-next").hidden = !anim.manual;
}

function loop(now) {
  requestAnimationFrame(loop);
  pacer.tick();
  if (state.ui.anim) {
    if (state.ui.anim.done) state.ui.anim = null;
    state.dirty = true;
  }
  travel.sync(now);
  maybeRefreshExplain(now);
  predictHeat(now);
  classroom.update(now);
  if (!state.dirty) return;
  state.dirty = false;
  const t0 = performance.now();
  views.controls.update(state);
  views.data.update(state);
  views.banner.update(state);
  const shown = travel.view(state); // a past step while one is shown (read-only), else the live state
  views.network.update(shown, options, now);
  views.plane.update(shown);
  views.spatial.update(shown, now);
  views.loss.update(state);
  views.layers.update(state);
  views.timeline.update(state);
  views.compare.update(state);
  views.gradcheck.update(state);
  views.fork.update(state);
  drawCaption(now);
  drawExplain();
  const dt = performance.now() - t0;
  stats.times[stats.frames % stats.times.length] = dt;
  stats.frames++;
  stats.drawMs = dt;
  stats.drawMsAvg = stats.drawMsAvg ? stats.drawMsAvg * 0.95 + dt * 0.05 : dt;
  stats.drawMsMax = Math.max(stats.drawMsMax, dt);
  stats.messages = state.stats.messages;
  stats.step = state.step;
  if (now - stats.windowStart >= 1000) {
    stats.fps = (stats.windowFrames * 1000) / (now - stats.windowStart || 1);
    stats.windowStart = now;
    stats.windowFrames = 0;
  }
  stats.windowFrames++;
}

// --- start ----------------------------------------------------------------------------------

async function boot() {
  const { config, page } = decodeConfig(location.search);
  if (page.presenter) actions.presenter(true);
  requestAnimationFrame(loop);
  try {
    options = await api.options();
  } catch (err) {
    state.session.status = "server unreachable";
    toast(err.message, "error");
    state.dirty = true;
    return;
  }
  state.options = options;
  views.controls.setOptions(options);
  views.data.setOptions(options);
  try {
    if (page.session) await attach(String(page.session));
    else if (!(await classroom.boot(location.search))) await createSession(model.withDefaults(withSpatialDefaults(config, options.datasets)));
  } catch (err) {
    fail(err);
    if (page.session || config) {
      toast(`${err.message} — starting the default setup instead`, "error");
      try {
        await createSession(model.withDefaults(null));
      } catch (err2) {
        fail(err2);
      }
    }
  }
}

window.addEventListener("pagehide", () => {
  // A playground session dies with its page; scripted sessions a page only watches do not.
  if (ownSession && state.session.id && state.session.token) {
    fetch(`/api/sessions/${state.session.id}`, { method: "DELETE", keepalive: true, headers: { authorization: `Bearer ${state.session.token}` } }).catch(() => {});
  }
});

boot();

export { isDense };
