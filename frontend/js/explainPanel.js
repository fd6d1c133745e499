// The explain panel's controller: which weight, bias or node is explained, fetching its
// numbers from the server (for the live step, or for the past step being viewed), and
// re-rendering when they change. The numbers are drawn by views/explain.js.

import { renderExplain } from "./views/explain.js";

const $ = (id) => document.getElementById(id);

const NO_TRACE = "No step has been traced yet: press step (→) and the numbers appear.";

/**
 * @param {{state, api, travel}} ctx  travel: the time-travel controller (a viewed past step is explained as it was)
 */
export function createExplainPanel({ state, api, travel }) {
  let fetchedAt = 0;
  let inFlight = false;
  let rendered = null;

  function open(target) {
    state.ui.selected = target;
    state.ui.explain = { status: "loading", target, response: null, step: -1 };
    $("explain").hidden = false;
    const pick = target.kind === "node" ? "node" : target.param;
    $("explain-kind").value = pick;
    $("explain-layer").value = String(target.layer + 1);
    $("explain-i").value = target.kind === "weight" ? String(target.index[0]) : "";
    $("explain-j").value = String(target.kind === "node" ? target.unit : target.index.at(-1));
    $("explain-i").closest("label").hidden = target.kind !== "weight";
    fetchedAt = 0;
    refresh();
    state.dirty = true;
  }

  function close() {
    state.ui.selected = null;
    state.ui.explain = null;
    $("explain").hidden = true;
    state.dirty = true;
  }

  async function refresh() {
    const ex = state.ui.explain;
    if (!ex || inFlight) return;
    const target = ex.target;
    const past = travel.viewedStep(); // a page showing a past step explains that step
    const step = past ?? state.step;
    if (step === 0) {
      // nothing has been traced at step 0: asking would only earn a 404 (and a console error)
      const note = past === null ? NO_TRACE : "Step 0 is before the first update: pick a later step to see its numbers.";
      state.ui.explain = { status: "empty", target, note, step };
      state.dirty = true;
      return;
    }
    inFlight = true;
    fetchedAt = performance.now();
    const id = state.session.id;
    try {
      const response = past === null ? await api.explain(id, target) : await travel.explainAt(past, target);
      if (state.ui.explain?.target === target && id === state.session.id) {
        state.ui.explain = { status: "ok", target, response, step };
      }
    } catch (err) {
      if (state.ui.explain?.target === target) {
        const msg = err.status === 404 ? NO_TRACE : err.message;
        state.ui.explain = { status: "error", target, error: msg, step };
      }
    } finally {
      inFlight = false;
      state.dirty = true;
    }
  }

  /** Every animation frame: fetch again when the shown step moved (at most twice a second while playing). */
  function maybeRefresh(now) {
    const ex = state.ui.explain;
    if (!ex || inFlight || ex.step === (travel.viewedStep() ?? state.step)) return;
    if (state.playing && now - fetchedAt < 500) return;
    refresh();
  }

  /** Every drawn frame: render the panel when its content changed. */
  function draw() {
    const ex = state.ui.explain;
    if (ex === rendered) return;
    rendered = ex;
    if (!ex) return;
    renderExplain($("explain-body"), ex, { nLayers: state.architecture?.layers.length || 0, featureNames: state.data?.featureNames });
  }

  $("explain-close").addEventListener("click", close);
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
    if (kind === "W") open({ kind: "weight", layer, param: "W", index: [i, j] });
    else if (kind === "b") open({ kind: "bias", layer, param: "b", index: [j] });
    else open({ kind: "node", layer, unit: j });
  });

  return { open, close, maybeRefresh, draw };
}
