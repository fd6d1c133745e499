// The controls: transport (play, pause, step, one sample, reset), read-outs,
// hyperparameters (live changes), optimizer/schedule parameters, stop
// conditions, output/loss pair, initializer and seed. DOM only; every change
// goes out through `actions`.

import { formatSig } from "../scales.js";
import { outputPairs } from "../model.js";

/** Parameters of each LR schedule with the values the page starts them at. */
export const SCHEDULE_PARAMS = {
  constant: {},
  step: { step_size: 200, gamma: 0.5 },
  exponential: { gamma: 0.999 },
  cosine: { t_max: 2000, eta_min: 0 },
};

const $ = (id) => document.getElementById(id);

function numberOrNull(input) {
  if (input.value.trim() === "") return null;
  const v = Number(input.value);
  return Number.isFinite(v) ? v : NaN;
}

/**
 * @param {object} actions  play, pause, step, sample, reset, train(changes), playOptions(),
 *                          setOutputPair(act, loss), setModel(partial), reseed, share, exportSession,
 *                          importFile(file), presenter(on), animManual(on), animNext(), animStop()
 */
export function createControls(actions) {
  const el = {
    play: document.querySelector('[data-testid="play"]'),
    pause: document.querySelector('[data-testid="pause"]'),
    step: document.querySelector('[data-testid="step"]'),
    reset: document.querySelector('[data-testid="reset"]'),
    sample: $("step-sample"),
    stepCount: $("step-count"),
    epoch: $("epoch"),
    status: $("status"),
    lr: $("lr"),
    optimizer: $("optimizer"),
    batch: $("batch-size"),
    regKind: $("reg-kind"),
    regRate: $("reg-rate"),
    speed: $("speed"),
    pair: $("output-pair"),
    optParams: document.querySelector("#training-panel .opt-params"),
    schedule: $("schedule"),
    schedParams: document.querySelector("#training-panel .sched-params"),
    clip: $("clip"),
    stopSteps: $("stop-steps"),
    stopEpochs: $("stop-epochs"),
    stopLoss: $("stop-loss"),
    initializer: $("initializer"),
    seed: $("seed"),
    reseed: $("reseed"),
    presenter: $("presenter"),
    share: $("share"),
    exportBtn: $("export"),
    importBtn: $("import"),
    importFile: $("import-file"),
    animManual: $("anim-manual"),
    trainLoss: $("train-loss"),
    testLoss: $("test-loss"),
    testAcc: $("test-acc"),
    accBox: $("acc-box"),
  };
  let options = null;
  let configKey = "";
  let optKey = "";
  let schedKey = "";

  el.play.addEventListener("click", () => actions.play());
  el.pause.addEventListener("click", () => actions.pause());
  el.step.addEventListener("click", () => actions.step());
  el.reset.addEventListener("click", () => actions.reset());
  el.sample.addEventListener("click", () => actions.sample());
  el.reseed.addEventListener("click", () => actions.reseed());
  el.share.addEventListener("click", () => actions.share());
  el.exportBtn.addEventListener("click", () => actions.exportSession());
  el.importBtn.addEventListener("click", () => el.importFile.click());
  el.importFile.addEventListener("change", () => {
    const file = el.importFile.files[0];
    if (file) actions.importFile(file);
    el.importFile.value = "";
  });
  el.presenter.addEventListener("change", () => actions.presenter(el.presenter.checked));
  el.animManual.addEventListener("change", () => actions.animManual(el.animManual.checked));

  const onNumber = (input, apply) =>
    input.addEventListener("change", () => {
      const v = numberOrNull(input);
      if (Number.isNaN(v)) {
        input.classList.add("bad");
        return;
      }
      input.classList.remove("bad");
      apply(v);
    });
  onNumber(el.lr, (v) => v !== null && v >= 0 && actions.train({ optimizer: { lr: v } }));
  onNumber(el.batch, (v) => v !== null && v >= 1 && actions.train({ batch_size: Math.round(v) }));
  onNumber(el.regRate, (v) => v !== null && v >= 0 && actions.train({ regularization: { kind: el.regKind.value, rate: v } }));
  el.regKind.addEventListener("change", () => actions.train({ regularization: { kind: el.regKind.value, rate: Number(el.regRate.value) || (el.regKind.value === "none" ? 0 : 0.001) } }));
  el.optimizer.addEventListener("change", () => {
    const name = el.optimizer.value;
    const defaults = options?.optimizers?.[name] || {};
    const lr = Number(el.lr.value) || 0.01;
    actions.train({ optimizer: { name, lr, ...defaults } });
  });
  el.speed.addEventListener("change", () => actions.playOptions());
  for (const input of [el.stopSteps, el.stopEpochs, el.stopLoss]) onNumber(input, () => actions.playOptions());
  onNumber(el.clip, (v) => actions.train({ clip_norm: v && v > 0 ? v : null }));
  el.pair.addEventListener("change", () => {
    const [act, loss] = el.pair.value.split("|");
    actions.setOutputPair(act, loss);
  });
  el.schedule.addEventListener("change", () => {
    const name = el.schedule.value;
    actions.train({ schedule: { name, ...SCHEDULE_PARAMS[name], warmup_steps: 0 } });
  });
  el.initializer.addEventListener("change", () => actions.setModel({ initializer: el.initializer.value }));
  onNumber(el.seed, (v) => v !== null && v >= 0 && actions.setSeed(Math.round(v)));

  function setOptions(opts) {
    options = opts;
    el.optimizer.replaceChildren(...Object.keys(opts.optimizers).map((n) => new Option(n, n)));
    el.schedule.replaceChildren(...(opts.schedules || ["constant"]).map((n) => new Option(n, n)));
    el.initializer.replaceChildren(...(opts.initializers || []).map((n) => new Option(n, n)));
    configKey = "";
  }

  /** The play options from the speed and stop-condition controls. */
  function playOptions() {
    const speed = el.speed.value === "max" ? null : Number(el.speed.value);
    const int = (v) => (v === null || Number.isNaN(v) ? null : Math.max(1, Math.round(v)));
    const loss = numberOrNull(el.stopLoss);
    return { speed, max_steps: int(numberOrNull(el.stopSteps)), max_epochs: int(numberOrNull(el.stopEpochs)), target_loss: loss === null || Number.isNaN(loss) ? null : loss };
  }

  function setIfIdle(input, value) {
    if (document.activeElement === input) return;
    if (input.type === "checkbox") input.checked = !!value;
    else input.value = value === null || value === undefined ? "" : String(value);
    input.classList.remove("bad");
  }

  function renderOptParams(state) {
    const opt = state.config.training.optimizer;
    const defaults = options?.optimizers?.[opt.name] || {};
    const key = JSON.stringify([opt, Object.keys(defaults)]);
    if (key === optKey) return;
    optKey = key;
    const keys = Object.keys(defaults).filter((k) => k !== "lr");
    el.optParams.replaceChildren(
      ...keys.map((k) => {
        const value = opt[k] ?? defaults[k];
        const label = document.createElement("label");
        label.className = typeof defaults[k] === "boolean" ? "check" : "field";
        const span = document.createElement("span");
        span.textContent = k.replace(/_/g, " ");
        const input = document.createElement("input");
        input.setAttribute("aria-label", `${opt.name} ${k}`);
        input.dataset.param = k;
        if (typeof defaults[k] === "boolean") {
          input.type = "checkbox";
          input.checked = !!value;
          input.addEventListener("change", () => actions.train({ optimizer: { [k]: input.checked } }));
          label.append(input, span);
        } else {
          input.type = "number";
          input.step = "any";
          input.min = "0";
          input.value = String(value);
          onNumber(input, (v) => v !== null && actions.train({ optimizer: { [k]: v } }));
          label.append(span, input);
        }
        return label;
      }),
    );
  }

  function renderSchedParams(state) {
    const sched = state.config.training.schedule || { name: "constant" };
    const key = JSON.stringify(sched);
    if (key === schedKey) return;
    schedKey = key;
    const params = { ...SCHEDULE_PARAMS[sched.name], ...(sched.name !== "constant" ? { warmup_steps: 0 } : {}) };
    el.schedParams.replaceChildren(
      ...Object.keys(params).map((k) => {
        const label = document.createElement("label");
        label.className = "field";
        const span = document.createElement("span");
        span.textContent = k.replace(/_/g, " ");
        const input = document.createElement("input");
        input.type = "number";
        input.step = "any";
        input.min = "0";
        input.value = String(sched[k] ?? params[k]);
        input.setAttribute("aria-label", `schedule ${k}`);
        onNumber(input, (v) => v !== null && actions.train({ schedule: { ...sched, [k]: v } }));
        label.append(span, input);
        return label;
      }),
    );
  }

  function update(state) {
    el.stepCount.textContent = String(state.step);
    el.epoch.textContent = String(state.epoch);
    const s = state.session.status;
    const role = state.session.role;
    const stopped = !state.playing && state.stopReason && state.stopReason !== "paused";
    const shown = s === "live" ? (state.playing ? "training" : state.divergence ? "diverged" : stopped ? "stopped" : "paused") + (role === "viewer" ? " · viewing" : "") : s;
    if (el.status.textContent !== shown) el.status.textContent = shown;
    el.status.title = stopped ? `Stopped: ${state.stopReason}` : "";
    el.status.className = `status ${s === "live" ? "live" : "off"}`;
    el.play.hidden = state.playing;
    el.pause.hidden = !state.playing;
    const control = role === "controller";
    for (const b of [el.play, el.pause, el.step, el.reset, el.sample]) b.disabled = !control || s === "deleted";
    el.step.disabled ||= state.playing || !!state.divergence;
    el.sample.disabled ||= state.playing || !!state.divergence || !!state.ui.anim;
    el.play.disabled ||= !!state.divergence;

    const ev = state.eval;
    el.trainLoss.textContent = ev ? formatSig(ev.train_loss, 4) : "—";
    el.testLoss.textContent = ev ? formatSig(ev.test_loss, 4) : "—";
    const acc = ev?.test_accuracy;
    el.accBox.hidden = acc === null || acc === undefined;
    if (!el.accBox.hidden) el.testAcc.textContent = `${formatSig(acc * 100, 3)}%`;

    if (!state.config || !options) return;
    const t = state.config.training;
    const key = JSON.stringify([t, state.config.model.loss, state.architecture?.layers.at(-1)?.activation, state.config.model.initializer, state.config.seed, state.data?.task, state.play]);
    if (key !== configKey) {
      configKey = key;
      setIfIdle(el.lr, t.optimizer.lr);
      setIfIdle(el.optimizer, t.optimizer.name);
      setIfIdle(el.batch, t.batch_size);
      setIfIdle(el.regKind, t.regularization?.kind || "none");
      setIfIdle(el.regRate, t.regularization?.rate ?? 0);
      setIfIdle(el.clip, t.clip_norm ?? "");
      setIfIdle(el.schedule, t.schedule?.name || "constant");
      setIfIdle(el.initializer, state.config.model.initializer || "glorot_uniform");
      setIfIdle(el.seed, state.config.seed);
      const play = state.play || {};
      setIfIdle(el.speed, play.speed ? String(play.speed) : "max");
      if (el.speed.value === "") el.speed.value = "max";
      setIfIdle(el.stopSteps, play.max_steps ?? "");
      setIfIdle(el.stopEpochs, play.max_epochs ?? "");
      setIfIdle(el.stopLoss, play.target_loss ?? "");
      const pairs = outputPairs(options, state.data?.task);
      const current = `${state.architecture?.layers.at(-1)?.activation}|${state.config.model.loss}`;
      el.pair.replaceChildren(...pairs.map((p) => new Option(p.label, `${p.activation}|${p.loss}`, false, `${p.activation}|${p.loss}` === current)));
      if (![...el.pair.options].some((o) => o.value === current)) el.pair.add(new Option(current.replace("|", " + "), current, true, true));
    }
    renderOptParams(state);
    renderSchedParams(state);
    document.body.classList.toggle("viewer", role === "viewer");
  }

  return { setOptions, update, playOptions, reset() { configKey = ""; optKey = ""; schedKey = ""; } };
}
