// The banner under the toolbar: a divergence in plain words with one-click
// recovery at a smaller learning rate, or a note (viewer mode, deleted session).

import { formatSig } from "../scales.js";

// The most a recovery offers, per optimizer: a tenth of a rate far too large is often still
// too large (lr 1000 → 100 → 10 diverged again, three clicks), while these train the
// playground's networks. Adaptive optimizers scale steps by their own history: smaller caps.
const RECOVERY_CAP = { sgd: 1, adam: 0.03, adamw: 0.03, rmsprop: 0.03, adagrad: 0.3 };

/**
 * The learning rate offered for recovery: a tenth of the one that diverged, at most the
 * optimizer's cap, at 3 significant digits.
 */
export function recoveryRate(divergence, currentLr, optimizer = "sgd") {
  const lr = divergence?.lr ?? currentLr ?? 0.01;
  return Number(Math.min(lr / 10, RECOVERY_CAP[optimizer] ?? 1).toPrecision(3));
}

export function createBanner(el, actions) {
  let key = "";
  function update(state) {
    const d = state.divergence;
    let k;
    if (d) k = `d:${d.step}:${d.message}:${state.session.role}`;
    else if (state.session.status === "deleted" || state.session.status === "gone") k = "deleted";
    else if (state.session.role === "viewer") k = `viewer:${state.session.id}`;
    else k = "";
    if (k === key) return;
    key = k;
    el.replaceChildren();
    el.className = "banner";
    el.removeAttribute("data-testid");
    if (!k) {
      el.hidden = true;
      return;
    }
    el.hidden = false;
    const msg = document.createElement("div");
    msg.className = "msg";
    if (d) {
      el.dataset.testid = "divergence-banner";
      const opt = state.config?.training?.optimizer;
      const lr = recoveryRate(d, opt?.lr, opt?.name);
      msg.innerHTML = `<strong>Training stopped at step ${d.step}.</strong> `;
      msg.append(document.createTextNode(d.message || `the ${d.quantity} became infinite`));
      el.append(msg);
      if (state.session.role === "controller") {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "btn";
        b.dataset.testid = "recover";
        b.textContent = `Recover at lr = ${formatSig(lr, 3)}`;
        b.setAttribute("aria-label", `Restore the weights with the lowest loss so far and continue with learning rate ${lr}`);
        b.addEventListener("click", () => actions.recover(lr));
        const r = document.createElement("button");
        r.type = "button";
        r.className = "btn";
        r.textContent = "Reset";
        r.addEventListener("click", () => actions.reset());
        el.append(b, r);
      }
      return;
    }
    el.classList.add("info");
    if (k === "deleted") msg.innerHTML = "<strong>This session was deleted.</strong> Reload the page to start a new one.";
    else {
      const strong = document.createElement("strong");
      strong.textContent = `Watching session ${state.session.id}`;
      msg.append(strong, " read-only: it is controlled by whoever created it.");
    }
    el.append(msg);
  }
  return { update, reset() { key = ""; } };
}
