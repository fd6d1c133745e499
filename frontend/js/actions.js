// What the page's controls, keys and views may ask for. Training controls go to the
// running session over REST; changes to the network or the data build a new session
// (debounced by the composer's `rebuild`). Effects come back as frames and events.

import { applySessionInfo } from "./state.js";
import * as model from "./model.js";
import { createAnimation } from "./animation.js";
import { switchDataset } from "./spatialModel.js";

const $ = (id) => document.getElementById(id);

/**
 * @param {object} ctx  the composer's pieces: state, api, views(), options(), controller(),
 *   fail(err), toast(text), writeUrl(), rebuild(config, delay), current(), limits(), adopt(created)
 */
export function createActions({ state, api, views, options, controller, fail, toast, writeUrl, rebuild, current, limits, adopt }) {
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
    notify: (text, kind = "info") => toast(text, kind),
    play: () => withSession((id, t) => api.play(id, t, views().controls.playOptions())),
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
      const play = views().controls.playOptions();
      return withSession((id, t) => (state.playing ? api.play(id, t, play) : api.patch(id, t, { play })));
    },
    recover: (lr) => withSession((id, t) => api.recover(id, t, lr)).then(writeUrl),
    setOutputPair: (act, loss) => rebuild(model.setOutput(current(), act, loss)),
    setModel: (partial) => rebuild({ ...current(), model: { ...current().model, ...partial } }),
    setSeed: (seed) => rebuild({ ...current(), seed }),
    reseed: () => rebuild({ ...current(), seed: Math.floor(Math.random() * 1e6) }),
    // New data only: data.seed draws the data alone, so the weights and batch order stay.
    regenerate() {
      const c = current();
      if (c.data?.x) return; // pasted or added points: nothing to draw again
      rebuild({ ...c, data: { ...c.data, seed: Math.floor(Math.random() * 1e6) } });
    },
    addLayer: () => rebuild(model.addLayer(current(), limits().max_layers || 32)),
    removeLayer: () => rebuild(model.removeLayer(current())),
    changeUnits: (k, d) => rebuild(model.changeUnits(current(), k, d, limits().max_units || 1024)),
    setActivation: (k, act) => rebuild(model.setActivation(current(), k, act)),
    setConfig: (edit) => rebuild(edit(current())),
    setDataset(name, info) {
      const c = current();
      const spatial = switchDataset(c, name, options().datasets); // to, from or between image / sequence sets
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
      const info = options().datasets?.[next.data.dataset];
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
      for (const v of Object.values(views())) v.reset?.();
      writeUrl();
      state.dirty = true;
    },
    animManual(on) {
      if (state.ui.anim) state.ui.anim.manual = on;
    },
    share() {
      const url = location.href;
      // Pasted or added points do not fit in a link: the link then watches this very session.
      const what = current().data?.x
        ? "Link copied: it shows this session while this page stays open (pasted or added points do not fit in a link; Export keeps them)."
        : "Link copied: it opens this setup with the same seed.";
      (navigator.clipboard?.writeText(url) || Promise.reject(new Error("no clipboard")))
        .then(() => toast(what))
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
        adopt(created);
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
    // the plane the points were clicked on (the server widens it to hold every point), so it
    // does not zoom in on the few placed so far and every part of it can still take a click
    const data = d.domain ? { x, y, domain: [d.domain[0], d.domain[1]] } : { x, y };
    if (!custom.cleared && d.pointsTest.length) {
      data.x_test = d.pointsTest;
      data.y_test = regression ? d.targetsTest : d.labelsTest;
    }
    const features = c.data?.features;
    if (features && !(features.length === 2 && features[0] === "x1" && features[1] === "x2")) data.features = features;
    rebuild({ ...c, data }, 0);
    state.custom = null;
  }

  return actions;
}
