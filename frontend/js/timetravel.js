// Time travel on the page, the I/O half: showing a recorded past step (scrub),
// comparing two steps, forking, gradient checks, and the curves of a fork's
// parent or of a run's forks. Everything it learns goes into `state.travel`
// and sets `state.dirty`; the views (views/timeline.js, compare.js,
// gradcheck.js, fork.js) draw it. The rules are pure, in timeline-model.js.

import { decodeFrame } from "./protocol.js";
import { ApiError } from "./api.js";
import {
  StepCache,
  latestOnly,
  pastSnapshot,
  pastView,
  recordedRange,
  stepBy,
  clampStep,
  compareRows,
  curveUpTo,
  forkChanges,
} from "./timeline-model.js";

const POLL_MS = 4000; // forks and a fork's parent: their curves move slowly next to the live run's

/** Colours of fork curves (Okabe & Ito, skipping the train / test / lr hues). */
export const FORK_COLOURS = ["#009e73", "#cc79a7", "#d55e00", "#56b4e9", "#7f7f7f"];
export const PAST_COLOUR = "#b8860b";

export function freshTravel(sessionId = null, generation = -1) {
  return {
    sessionId,
    generation,
    past: null, // {step: the step asked for, data: the snapshot shown (lags while loading), loading, error}
    compare: null, // {a, b, status, result: {resp, rows, frameA, frameB}, error}
    panel: null, // which side panel is open: "compare" | "gradcheck" | "fork" | null
    check: null, // the gradient-check panel's last run: {body, status, result, error}
    explainCheck: null, // the explain panel's check of its target: {target, status, result, error}
    forks: [], // GET …/forks
    parent: null, // {id, step, history, training, gone}
  };
}

/**
 * @param {{state, api, toast(text, kind), openSession(id): Promise}} deps
 */
export function createTimeTravel({ state, api, toast, openSession }) {
  const cache = new StepCache(48);
  let pollAt = -Infinity;
  let polling = false;
  const tr = () => (state.travel ||= freshTravel());
  const keyOf = (step) => `${state.session.id}:${state.generation}:${step}`;

  function heatRes() {
    return {
      output: state.heat?.output?.shape?.[0] || 64,
      nodes: state.heat?.layers?.[0]?.shape?.[1] || state.heat?.input?.shape?.[1] || 20,
    };
  }

  const range = () => recordedRange(state.info?.recorded, state.step);

  async function refreshInfo() {
    try {
      const info = await api.get(state.session.id);
      if (info.id === state.session.id) state.info = { ...state.info, recorded: info.recorded };
    } catch {
      // the next event or reply brings it
    }
  }

  // --- scrub: one past step at a time, latest wins ---------------------------------

  async function loadPast(step) {
    const id = state.session.id;
    const gen = state.generation;
    let snap = cache.get(keyOf(step));
    try {
      if (!snap) {
        const [buf, at] = await Promise.all([api.frameAt(id, step, heatRes()), api.at(id, step)]);
        snap = pastSnapshot(decodeFrame(buf), at);
        if (id === state.session.id && gen === state.generation) cache.set(`${id}:${gen}:${step}`, snap);
      }
    } catch (err) {
      const past = tr().past;
      if (id !== state.session.id || !past) return;
      past.loading = false;
      past.error = err.message;
      if (err.status === 422) refreshInfo();
      toast(err.message, "error");
      state.dirty = true;
      return;
    }
    const past = tr().past;
    if (!past || id !== state.session.id || gen !== state.generation) return;
    if (past.loading || past.step === snap.step) {
      past.data = snap; // the newest loaded step, even while the wanted one is still on its way
      past.loading = past.step !== snap.step;
      past.error = null;
    }
    state.dirty = true;
  }
  const pastFetcher = latestOnly(loadPast);

  /** Show step `step` (read-only); null, or the live step, goes back to live. */
  function show(step) {
    const r = range();
    if (!r || step === null || step === undefined || step >= r.last) return live();
    const s = clampStep(step, r);
    const t = tr();
    t.past ||= { step: s, data: null, loading: true, error: null };
    t.past.step = s;
    const hit = cache.get(keyOf(s));
    if (hit) {
      t.past.data = hit;
      t.past.loading = false;
      pastFetcher.cancel();
    } else {
      t.past.loading = true;
      pastFetcher.request(s);
    }
    state.dirty = true;
  }

  function live() {
    if (!state.travel?.past) return;
    tr().past = null;
    pastFetcher.cancel();
    state.dirty = true;
  }

  // --- compare ---------------------------------------------------------------------

  const compareFetcher = latestOnly(async ({ a, b }) => {
    const id = state.session.id;
    const res = { output: heatRes().output, nodes: 0 };
    try {
      const [resp, fa, fb] = await Promise.all([api.compare(id, a, b), api.frameAt(id, a, res), api.frameAt(id, b, res)]);
      const c = tr().compare;
      if (!c || id !== state.session.id || c.a !== a || c.b !== b) return;
      c.result = { resp, rows: compareRows(resp), frameA: decodeFrame(fa), frameB: decodeFrame(fb) };
      c.status = "ok";
      c.error = null;
    } catch (err) {
      const c = tr().compare;
      if (!c || c.a !== a || c.b !== b) return;
      c.status = "error";
      c.error = err.message;
      if (err.status === 422) refreshInfo();
    }
    state.dirty = true;
  });

  function compare(a, b) {
    const r = range();
    if (!r) return;
    const t = tr();
    const c = t.compare || {};
    a = clampStep(a ?? c.a ?? r.first, r);
    b = clampStep(b ?? c.b ?? r.last, r);
    t.compare = { a, b, status: "loading", result: c.result || null, error: null };
    t.panel = "compare";
    compareFetcher.request({ a, b });
    state.dirty = true;
  }

  function openCompare() {
    const r = range();
    if (!r) return;
    const past = tr().past?.step;
    compare(past ?? r.first, r.last);
  }

  // --- gradient checks ---------------------------------------------------------------

  async function runCheck(slot, body, extra = {}) {
    const t = tr();
    const id = state.session.id;
    const job = { ...extra, body, status: "loading", result: null, error: null };
    t[slot] = job;
    state.dirty = true;
    try {
      const result = await api.gradcheck(id, body);
      if (tr()[slot] !== job || id !== state.session.id) return;
      job.result = result;
      job.status = "ok";
    } catch (err) {
      if (tr()[slot] !== job) return;
      job.error = err.message;
      job.status = "error";
    }
    state.dirty = true;
  }

  /** The step a check or an explanation is about: the shown past step, else the last traced one. */
  const checkStep = () => tr().past?.step ?? null;

  function checkTarget(target) {
    if (!target) return;
    const body =
      target.kind === "node"
        ? { layer: target.layer, param: "b", index: [target.unit] } // ∂L/∂b_j = Σ δ_j: the node's blame, checked
        : { layer: target.layer, param: target.param, index: target.index };
    const step = checkStep();
    if (step !== null) body.step = step;
    return runCheck("explainCheck", body, { target });
  }

  function check({ layer = null, param = null, maxEntries = 200, epsilon = 1e-6 } = {}) {
    const body = { max_entries: maxEntries, epsilon };
    if (layer !== null) body.layer = layer;
    if (layer !== null && param) body.param = param;
    const step = checkStep();
    if (step !== null) body.step = step;
    return runCheck("check", body);
  }

  // --- forks -------------------------------------------------------------------------

  async function fork({ step = null, optimizer, lr, batchSize } = {}) {
    const body = {};
    if (step !== null && step !== undefined) body.step = step;
    const training = forkChanges(state.config?.training, { optimizer, lr, batchSize }, state.options?.optimizers);
    if (Object.keys(training).length) body.training = training;
    const created = await api.fork(state.session.id, body);
    sessionStorage.setItem(`bpl.token.${created.id}`, created.control_token);
    await openSession(created.id);
    toast(`Forked at step ${created.session.step}: this is the fork; the dashed curves are its parent.`);
    return created;
  }

  async function poll(now) {
    if (polling || now - pollAt < POLL_MS || !state.session.id || state.session.status !== "live") return;
    polling = true;
    pollAt = now;
    const id = state.session.id;
    const parent = state.info?.parent || null;
    // A class of viewers need not poll: forks are their controller's business (and the presenter's panel's).
    const mine = state.session.role === "controller";
    if (!mine && !parent) {
      polling = false;
      return;
    }
    try {
      const [forks, history, info] = await Promise.all([
        mine ? api.forks(id).catch(() => null) : null,
        parent ? api.history(parent.id, 2000).catch((e) => (e.status === 404 ? "gone" : null)) : null,
        parent && !tr().parent?.training ? api.get(parent.id).catch(() => null) : null,
      ]);
      if (id !== state.session.id) return;
      const t = tr();
      if (forks) t.forks = forks.forks || [];
      if (parent) {
        t.parent ||= { id: parent.id, step: parent.step, history: null, training: null, gone: false };
        if (history === "gone") t.parent.gone = true;
        else if (history) t.parent.history = history;
        if (info) t.parent.training = info.config?.training || null;
      }
      state.dirty = true;
    } finally {
      polling = false;
    }
  }

  // --- what the loss chart draws on top --------------------------------------------

  /** Extra curves and step markers for the loss chart (lossChart's `extras` hook). */
  function lossExtras(s) {
    const t = s.travel;
    if (!t) return null;
    const curves = [];
    const markers = [];
    const upto = s.step; // overlays never stretch the live run's axis
    const h = t.parent?.history?.evals;
    if (h?.step?.length) {
      for (const [field, colour] of [["train_loss", "rgba(27,95,166,0.6)"], ["test_loss", "rgba(198,106,10,0.6)"]]) {
        const c = curveUpTo(h.step, h[field] || [], upto);
        curves.push({ ...c, colour, dash: [5, 4], width: 1.5 });
      }
    }
    if (t.parent) markers.push({ step: t.parent.step, colour: "#6b4fa0", label: "forked here" });
    t.forks.forEach((f, k) => {
      const colour = FORK_COLOURS[k % FORK_COLOURS.length];
      const ev = f.evals || {};
      const steps = [];
      const values = [];
      (ev.step || []).forEach((st, i) => {
        if (st >= f.parent_step && st <= upto) {
          steps.push(st);
          values.push(ev.train_loss?.[i] ?? NaN);
        }
      });
      curves.push({ steps: Float64Array.from(steps), values: Float64Array.from(values), colour, dash: [6, 3], width: 1.75 });
      markers.push({ step: f.parent_step, colour, label: "" });
    });
    const c = t.compare;
    if (c && t.panel === "compare") {
      markers.push({ step: c.a, colour: "#1d2330", label: "A" });
      markers.push({ step: c.b, colour: "#1d2330", label: "B" });
    }
    if (t.past) markers.push({ step: t.past.step, colour: PAST_COLOUR, label: `step ${t.past.step}`, strong: true });
    return { curves, markers };
  }

  // --- per frame -----------------------------------------------------------------------

  /** Notice session switches and resets; poll forks / the parent. Call once per animation frame. */
  function sync(now) {
    const t = tr();
    if (t.sessionId !== state.session.id) {
      Object.assign(t, freshTravel(state.session.id, state.generation));
      cache.clear();
      pastFetcher.cancel();
      compareFetcher.cancel();
      pollAt = -Infinity;
      state.dirty = true;
    } else if (t.generation !== state.generation) {
      if (t.generation >= 0 && (t.past || t.compare)) toast("The run was reset or rebuilt: its recorded past starts again.");
      t.generation = state.generation;
      t.past = null;
      t.compare = null;
      if (t.panel === "compare") t.panel = null;
      cache.clear();
      pastFetcher.cancel();
      state.dirty = true;
    }
    poll(now);
  }

  return {
    range,
    show,
    live,
    /** ← / → by `delta` steps from the shown step (or from live). */
    stepBy(delta) {
      show(stepBy(tr().past?.step ?? null, delta, range()));
    },
    viewing: () => !!state.travel?.past,
    viewedStep: () => state.travel?.past?.step ?? null,
    /** The state the per-step views draw: the past snapshot while one is shown, else the live state. */
    view: (s) => pastView(s, s.travel?.past?.data || null),
    async explainAt(step, target) {
      try {
        return await api.explainAt(state.session.id, step, target);
      } catch (err) {
        // 404 here means "that step has no trace" (the start of the recording), not "step once".
        if (err.status === 404) throw new ApiError(422, err.message, err.body);
        throw err;
      }
    },
    compare,
    openCompare,
    checkTarget,
    check,
    fork,
    openSession,
    lossExtras,
    sync,
    /** Open one side panel (or close it with null / the same name). */
    panel(name) {
      const t = tr();
      t.panel = t.panel === name ? null : name;
      if (t.panel === "compare" && !t.compare) openCompare();
      state.dirty = true;
    },
    /** Esc: close the side panel, else leave the past; false when there was nothing to do. */
    escape() {
      const t = tr();
      if (t.panel) {
        t.panel = null;
        state.dirty = true;
        return true;
      }
      if (t.past) {
        live();
        return true;
      }
      return false;
    },
  };
}
