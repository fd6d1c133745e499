// Fork: a new session from any recorded step of this one, with other
// hyperparameters (optimizer, learning rate, batch size). The page then opens
// the fork (?session=<id>, its token kept in sessionStorage) and draws the
// parent's curves dashed beside the fork's. Lists this run's forks.

import { forkLabel } from "../timeline-model.js";
import { FORK_COLOURS } from "../timetravel.js";

function make(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role") e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

/**
 * @param {HTMLElement} mount  where the panel goes (document.body)
 * @param {object} travel  the controller from timetravel.js
 */
export function createForkPanel(mount, travel) {
  const step = make("input", { type: "number", min: "0", step: "1", id: "fork-step", "data-testid": "fork-step", "aria-label": "Fork from this step" });
  const optimizer = make("select", { id: "fork-optimizer", "data-testid": "fork-optimizer", "aria-label": "Optimizer of the fork" });
  const lr = make("input", { type: "number", min: "0", step: "any", id: "fork-lr", "data-testid": "fork-lr", "aria-label": "Learning rate of the fork" });
  const batch = make("input", { type: "number", min: "1", step: "1", id: "fork-batch", "data-testid": "fork-batch", "aria-label": "Batch size of the fork" });
  const range = make("span", { class: "hint" });
  const create = make("button", { type: "submit", class: "btn", "data-testid": "fork-create", textContent: "Fork and open" });
  const close = make("button", { type: "button", class: "btn ghost small", "aria-label": "Close", textContent: "×" });
  const error = make("p", { class: "note error", role: "alert" });
  const list = make("ul", { class: "fork-list", "data-testid": "fork-list" });
  const field = (label, input, extra) => make("label", { class: "field" }, make("span", { textContent: label }), input, ...(extra ? [extra] : []));
  const form = make(
    "form",
    { class: "fork-form" },
    field("From step", step, range),
    make("div", { class: "grid2" }, field("Optimizer", optimizer), field("Learning rate", lr), field("Batch size", batch)),
    make("div", { class: "row end" }, create),
  );
  const panel = make(
    "aside",
    { class: "tt-panel fork", id: "fork-panel", "data-testid": "fork-panel", "aria-labelledby": "fork-title", hidden: true },
    make("div", { class: "tt-head" }, make("h2", { id: "fork-title", textContent: "Fork this run" }), close),
    make(
      "div",
      { class: "tt-body" },
      make("p", {
        class: "hint",
        textContent:
          "A new session starts from the chosen step with the same weights, optimizer state and batch order, and what you change here. This run goes on as it was; the fork's page shows both curves.",
      }),
      form,
      error,
      make("h4", { textContent: "Forks of this run" }),
      list,
    ),
  );
  mount.append(panel);
  close.addEventListener("click", () => travel.panel("fork"));

  let wasOpen = false;
  let optionsKey = "";
  let listKey = "";
  let busy = false;
  let lastViewed = null;

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (busy) return;
    busy = true;
    create.disabled = true;
    error.textContent = "";
    try {
      const s = Number(step.value);
      await travel.fork({
        step: step.value === "" ? null : s,
        optimizer: optimizer.value,
        lr: lr.value === "" ? undefined : Number(lr.value),
        batchSize: batch.value === "" ? undefined : Math.round(Number(batch.value)),
      });
    } catch (err) {
      error.textContent = err.message;
    } finally {
      busy = false;
      create.disabled = false;
    }
  });

  function fill(s) {
    const names = Object.keys(s.options?.optimizers || {});
    const key = names.join(",");
    if (key !== optionsKey) {
      optionsKey = key;
      optimizer.replaceChildren(...names.map((n) => new Option(n, n)));
    }
    const t = s.config?.training;
    const r = travel.range();
    step.value = String(travel.viewedStep() ?? s.step);
    if (r) {
      step.min = String(r.first);
      step.max = String(r.last);
      range.textContent = `recorded: ${r.first}–${r.last}`;
    }
    if (t) {
      optimizer.value = t.optimizer.name;
      lr.value = String(t.optimizer.lr);
      batch.value = String(t.batch_size);
    }
    error.textContent = "";
  }

  function renderList(forks) {
    const key = JSON.stringify(forks.map((f) => [f.id, f.step, f.eval?.train_loss]));
    if (key === listKey) return;
    listKey = key;
    if (!forks.length) {
      list.replaceChildren(make("li", { class: "hint", textContent: "none yet" }));
      return;
    }
    list.replaceChildren(
      ...forks.map((f, k) => {
        const sw = make("span", { class: "tl-swatch" });
        sw.style.borderTopColor = FORK_COLOURS[k % FORK_COLOURS.length];
        const open = make("button", { type: "button", class: "btn ghost small", textContent: "open" });
        open.addEventListener("click", () => travel.openSession(f.id));
        const loss = f.eval ? ` · train loss ${Number(f.eval.train_loss).toPrecision(4)}` : "";
        return make("li", { "data-session": f.id }, sw, `from step ${f.parent_step}: ${forkLabel(f.config)} · now at ${f.step}${loss} `, open);
      }),
    );
  }

  return {
    update(s) {
      const t = s.travel || {};
      const open = t.panel === "fork";
      panel.hidden = !open;
      if (open && !wasOpen) fill(s);
      else if (open && travel.viewedStep() !== null && travel.viewedStep() !== lastViewed && document.activeElement !== step) {
        step.value = String(travel.viewedStep()); // scrubbing picks the fork's step
      }
      lastViewed = travel.viewedStep();
      wasOpen = open;
      if (open) renderList(t.forks || []);
    },
    reset() {
      listKey = "";
      wasOpen = false;
    },
  };
}
