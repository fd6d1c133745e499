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
import { createExplainPanel } from "./explainPanel.js";
import { createInlineHeat } from "./inlineHeat.js";
import { createActions } from "./actions.js";
import { installKeyboard } from "./keyboard.js";
import * as model from "./model.js";
import { nextPhase, animationAt, describePhase } from "./animation.js";
import { createNetworkView } from "./views/network.js";
import { createOutputPlane } from "./views/outputPlane.js";
import { createLossChart } from "./views/lossChart.js";
import { createLayerCharts } from "./views/layerCharts.js";
import { createControls } from "./views/controls.js";
import { createDataPanel } from "./views/data.js";
import { createBanner } from "./views/banner.js";
import { createSpatialPanel } from "./views/spatial.js";
import { withSpatialDefaults, frameElements, streamFps } from "./spatialModel.js";
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
  toastTimer = setTimeout(() => (el.hidden = true), kind === "info" ? 2500 : 6000);
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
          // a stop condition ended play: say which (a plain pause needs no words)
          if (msg.event === "pause" && msg.reason && msg.reason !== "paused") toast(`Stopped: ${msg.reason}. Change or clear the stop conditions to go on.`, "warn");
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

/** Switch to a session this page just created (or imported); the one it replaces is deleted. */
function adopt(created) {
  sessionStorage.setItem(`bpl.token.${created.id}`, created.control_token);
  const old = ownSession ? { ...state.session } : null;
  switchTo(created.id, created.control_token, created.session, true);
  if (old?.id && old.token) api.remove(old.id, old.token).catch(() => {});
}

async function createSession(config) {
  adopt(await api.create(config));
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
    // Speed and stop conditions are play options, not config: carry them to the new session.
    const play = Object.fromEntries(Object.entries(state.play || {}).filter(([, v]) => v !== null && v !== undefined));
    try {
      await createSession(cfg);
      if (Object.keys(play).length) {
        const info = await api.patch(state.session.id, state.session.token, { play });
        applySessionInfo(state, info, true);
      }
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

// --- actions: what the controls, keys and views may ask for (actions.js) ----------------

const actions = createActions({
  state,
  api,
  views: () => views,
  options: () => options,
  controller,
  fail,
  toast,
  writeUrl,
  rebuild,
  current,
  limits,
  adopt,
});

// --- views ------------------------------------------------------------------------------

// Time travel: scrub, compare, fork, gradient checks (timetravel.js and its views below).
const travel = createTimeTravel({ state, api, toast, openSession: (id) => attach(id).catch(fail) });
const explain = createExplainPanel({ state, api, travel });
const openExplain = (target) => explain.open(target);
const closeExplain = () => explain.close();
const inlineHeat = createInlineHeat({ state, api });

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
installKeyboard({ state, actions, travel, closeExplain });

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

const addLayerButton = $("add-layer");
const removeLayerButton = $("remove-layer");
/** "− layer" only with a hidden layer to remove, "+ layer" only below the server's limit. */
function updateLayerButtons() {
  const can = model.layerButtons(state.config, limits().max_layers || 32);
  if (removeLayerButton.disabled === can.canRemove) removeLayerButton.disabled = !can.canRemove;
  if (addLayerButton.disabled === can.canAdd) addLayerButton.disabled = !can.canAdd;
}

function loop(now) {
  requestAnimationFrame(loop);
  pacer.tick();
  if (state.ui.anim) {
    if (state.ui.anim.done) state.ui.anim = null;
    state.dirty = true;
  }
  travel.sync(now);
  explain.maybeRefresh(now);
  inlineHeat.update(now);
  classroom.update(now);
  if (!state.dirty) return;
  state.dirty = false;
  const t0 = performance.now();
  views.controls.update(state);
  updateLayerButtons();
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
  explain.draw();
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

/** The config a link asks for, with defaults; a link that names only the data (`?data=spiral3`)
 * gets the output and loss that fit the data's task, as picking its thumbnail does. */
function startingConfig(config) {
  const full = model.withDefaults(withSpatialDefaults(config, options.datasets));
  const info = options.datasets?.[full.data?.dataset];
  const namesModel = config?.model?.loss || config?.model?.layers;
  if (!info || namesModel || !["plane", "line"].includes(info.kind)) return full;
  return model.fitOutputToTask(full, info.task, full.data.classes ?? info.n_classes);
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
    else if (!(await classroom.boot(location.search))) await createSession(startingConfig(config));
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
