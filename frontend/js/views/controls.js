// The controls: transport (play, pause, step, one sample, reset), read-outs,
// hyperparameters (live changes), optimizer/schedule parameters, stop
// conditions, output/loss pair, initializer and seed. DOM only; every change
// goes out through `actions`.

import { formatSig } from "../scales.js";
import { outputPairs, checkField, FIELD_RULES } from "../model.js";

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

const shown = (v) => (v === null || v === undefined ? "" : String(v));

/** Write a DOM property only when it changes: update() runs on every drawn frame. */
function put(node, prop, value) {
  if (node[prop] !== value) node[prop] = value;
}

/** Mark a field refused (styled in main.css under "controls"), for screen readers too. */
function markInvalid(input, on) {
  if (on) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

/**
 * @param {object} actions  play, pause, step, sample, reset, train(changes), playOptions(),
 *                          setOutputPair(act, loss), setModel(partial), setSeed(seed), reseed, share,
 *                          exportSession, importFile(file), presenter(on), animManual(on),
 *                          notify(text, kind) to show a message
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
    evalStep: $("eval-step"),
    accBox: $("acc-box"),
  };
  let options = null;
  let configKey = "";
  let optKey = "";
  let schedKey = "";
  let last = null; // the state last drawn: the session's real values
  const editing = new WeakSet(); // fields typed into and not yet committed

  // (A mouse click does not leave focus on these buttons, so Space still plays: keyboard.js.)
  for (const [button, act] of [[el.play, "play"], [el.pause, "pause"], [el.step, "step"], [el.reset, "reset"], [el.sample, "sample"]]) {
    button.addEventListener("click", () => actions[act]());
  }
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

  // Optimizer and schedule parameters: the server checks their values, and a refusal comes back
  // through fail(), which re-renders them with the session's values. One left empty or
  // unreadable (1e400) is refused here, with the value in use shown again, as the main fields do.
  const onParam = (input, name, value, send) =>
    input.addEventListener("change", () => {
      const v = numberOrNull(input);
      if (v === null || Number.isNaN(v)) {
        tell(`${name} needs a number. Back to ${value}.`);
        input.value = String(value);
        markInvalid(input, true);
        return;
      }
      markInvalid(input, false);
      send(v);
    });

  const tell = (text) => actions.notify(text, "error"); // the page's toast

  const training = () => last?.config?.training;
  const fields = [
    { input: el.lr, rule: FIELD_RULES.lr, real: () => training()?.optimizer?.lr, send: (v) => actions.train({ optimizer: { lr: v } }) },
    { input: el.batch, rule: FIELD_RULES.batch_size, real: () => training()?.batch_size, send: (v) => actions.train({ batch_size: v }) },
    { input: el.regRate, rule: FIELD_RULES.reg_rate, real: () => training()?.regularization?.rate ?? 0, send: (v) => actions.train({ regularization: { kind: el.regKind.value, rate: v } }) },
    { input: el.clip, rule: FIELD_RULES.clip_norm, real: () => training()?.clip_norm ?? null, send: (v) => actions.train({ clip_norm: v }) },
    { input: el.seed, rule: FIELD_RULES.seed, real: () => last?.config?.seed, send: (v) => actions.setSeed(v) },
    { input: el.stopSteps, rule: FIELD_RULES.max_steps, real: () => last?.play?.max_steps ?? null, send: () => actions.playOptions() },
    { input: el.stopEpochs, rule: FIELD_RULES.max_epochs, real: () => last?.play?.max_epochs ?? null, send: () => actions.playOptions() },
    { input: el.stopLoss, rule: FIELD_RULES.target_loss, real: () => last?.play?.target_loss ?? null, send: () => actions.playOptions() },
  ];

  /** A committed field: refuse a value the server would not take, else send it as shown. */
  async function commit({ input, rule, real, send }) {
    editing.delete(input);
    const check = checkField(rule, input.value, input.validity?.badInput);
    if (!check.ok) {
      const back = real() ?? rule.empty;
      input.value = shown(real());
      markInvalid(input, true);
      tell(back === undefined ? check.message : `${check.message} Back to ${back}.`);
      return;
    }
    markInvalid(input, false);
    input.value = shown(check.value);
    if (check.value === real()) return; // nothing to change (the same seed would rebuild the run)
    await send(check.value);
    // The server refused it (fail() has said why and re-syncs the field): keep the mark.
    if (last?.session?.role === "controller" && real() !== check.value) markInvalid(input, true);
  }

  for (const f of fields) {
    f.input.addEventListener("input", () => {
      editing.add(f.input);
      markInvalid(f.input, false);
    });
    f.input.addEventListener("blur", () => editing.delete(f.input));
    f.input.addEventListener("change", () => commit(f));
  }

  el.regKind.addEventListener("change", () => actions.train({ regularization: { kind: el.regKind.value, rate: Number(el.regRate.value) || (el.regKind.value === "none" ? 0 : 0.001) } }));
  el.optimizer.addEventListener("change", () => {
    const name = el.optimizer.value;
    const defaults = options?.optimizers?.[name] || {};
    const lr = training()?.optimizer?.lr ?? 0.01;
    actions.train({ optimizer: { name, lr, ...defaults } });
  });
  el.speed.addEventListener("change", () => actions.playOptions());
  el.pair.addEventListener("change", () => {
    const [act, loss] = el.pair.value.split("|");
    actions.setOutputPair(act, loss);
  });
  el.schedule.addEventListener("change", () => {
    const name = el.schedule.value;
    actions.train({ schedule: { name, ...SCHEDULE_PARAMS[name], warmup_steps: 0 } });
  });
  el.initializer.addEventListener("change", () => actions.setModel({ initializer: el.initializer.value }));

  function setOptions(opts) {
    options = opts;
    el.optimizer.replaceChildren(...Object.keys(opts.optimizers).map((n) => new Option(n, n)));
    el.schedule.replaceChildren(...(opts.schedules || ["constant"]).map((n) => new Option(n, n)));
    el.initializer.replaceChildren(...(opts.initializers || []).map((n) => new Option(n, n)));
    configKey = "";
  }

  /** The play options from the speed and stop-condition controls (a refused field counts as its session value). */
  function playOptions() {
    const speed = el.speed.value === "max" ? null : Number(el.speed.value);
    const play = last?.play || {};
    const read = (input, rule, fallback) => {
      const check = checkField(rule, input.value, input.validity?.badInput);
      return check.ok ? check.value : (fallback ?? null);
    };
    return {
      speed,
      max_steps: read(el.stopSteps, FIELD_RULES.max_steps, play.max_steps),
      max_epochs: read(el.stopEpochs, FIELD_RULES.max_epochs, play.max_epochs),
      target_loss: read(el.stopLoss, FIELD_RULES.target_loss, play.target_loss),
    };
  }

  function setIfIdle(input, value) {
    if (editing.has(input) && document.activeElement === input) return; // the user is typing here
    if (input.type === "checkbox") put(input, "checked", !!value);
    else put(input, "value", shown(value));
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
          onParam(input, k.replace(/_/g, " "), value, (v) => actions.train({ optimizer: { [k]: v } }));
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
        onParam(input, k.replace(/_/g, " "), sched[k] ?? params[k], (v) => actions.train({ schedule: { ...sched, [k]: v } }));
        label.append(span, input);
        return label;
      }),
    );
  }

  function update(state) {
    last = state;
    put(el.stepCount, "textContent", String(state.step));
    put(el.epoch, "textContent", String(state.epoch));
    const s = state.session.status;
    const role = state.session.role;
    const stopped = !state.playing && state.stopReason && state.stopReason !== "paused";
    const status = s === "live" ? (state.playing ? "training" : state.divergence ? "diverged" : stopped ? "stopped" : "paused") + (role === "viewer" ? " · viewing" : "") : s;
    put(el.status, "textContent", status);
    put(el.status, "title", stopped ? `Stopped: ${state.stopReason}` : "");
    put(el.status, "className", `status ${s === "live" ? "live" : "off"}`);
    const playing = !!state.playing;
    put(el.play, "hidden", playing);
    put(el.pause, "hidden", !playing);
    const off = role !== "controller" || s === "deleted";
    const diverged = !!state.divergence;
    put(el.play, "disabled", off || diverged);
    put(el.pause, "disabled", off);
    put(el.reset, "disabled", off);
    put(el.step, "disabled", off || playing || diverged);
    put(el.sample, "disabled", off || playing || diverged || !!state.ui.anim);

    const ev = state.eval;
    put(el.trainLoss, "textContent", ev ? formatSig(ev.train_loss, 4) : "—");
    put(el.testLoss, "textContent", ev ? formatSig(ev.test_loss, 4) : "—");
    // evaluations come every few steps: say which step these numbers are of (after one Step they lag)
    put(el.evalStep, "textContent", ev && Number.isFinite(ev.step) ? String(ev.step) : "—");
    const acc = ev?.test_accuracy;
    put(el.accBox, "hidden", acc === null || acc === undefined);
    if (!el.accBox.hidden) put(el.testAcc, "textContent", `${formatSig(acc * 100, 3)}%`);
    if (document.body.classList.contains("viewer") !== (role === "viewer")) document.body.classList.toggle("viewer", role === "viewer");

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
  }

  /** Re-sync every field with the session (after a refusal or a switch): marks go too. */
  function reset() {
    configKey = "";
    optKey = "";
    schedKey = "";
    for (const f of fields) markInvalid(f.input, false);
  }

  return { setOptions, update, playOptions, reset };
}
