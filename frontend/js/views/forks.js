// The presenter's forks panel: every fork of the presented session (GET …/forks), their
// training losses drawn side by side with the presented run's, refreshed once a second.

import { fitCanvas } from "../draw.js";
import { categorical, css } from "../colors.js";
import { drawFrame } from "./chartFrame.js";
import { formatSig } from "../scales.js";

const POLL_MS = 1000;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

/** @param {{api}} ctx */
export function createForks(ctx) {
  let forks = [];
  let at = 0;
  let busy = false;
  let dirty = false;
  let sessionId = null;
  const heading = el("h2", { textContent: "Forks" });
  const canvas = el("canvas", { role: "img", "aria-label": "Training loss of every fork and of the presented run" });
  const rows = el("div", { className: "fork-rows" });
  const empty = el("p", { className: "hint", textContent: "When a viewer forks your session, its live loss shows up here." });
  const panel = el("aside", { className: "forks-panel", hidden: true, "aria-label": "Forks of the presented session" }, heading, canvas, rows, empty);
  panel.dataset.testid = "forks-panel";
  document.body.append(panel);

  async function poll(id, now) {
    if (busy || now - at < POLL_MS) return;
    busy = true;
    at = now;
    try {
      const body = await ctx.api.request("GET", `/api/sessions/${id}/forks`);
      if (id === sessionId) {
        forks = body.forks;
        dirty = true;
      }
    } catch {
      // the session went away: the classroom view moves or hides this panel
    } finally {
      busy = false;
    }
  }

  /** `on`: the page presents (and leads) this session. */
  function update(state, now, on) {
    panel.hidden = !on || forks.length === 0; // shown once a viewer has forked
    if (!on) return;
    if (state.session.id !== sessionId) {
      sessionId = state.session.id;
      forks = [];
      at = 0;
      dirty = true;
    }
    poll(sessionId, now);
    if (!dirty) return;
    dirty = false;
    panel.hidden = forks.length === 0;
    heading.textContent = `Forks (${forks.length})`;
    empty.hidden = forks.length > 0;
    canvas.hidden = forks.length === 0;
    rows.replaceChildren(
      ...forks.map((f, k) => {
        const sw = el("span", { className: "sw" });
        sw.style.background = css(categorical(k + 1));
        const opt = f.config?.optimizer || {};
        const loss = f.eval?.train_loss;
        const row = el(
          "div",
          { className: "fork-row", title: `open it: /?session=${f.id}` },
          sw,
          el("b", { textContent: `from step ${f.parent_step}` }),
          el("span", { textContent: `step ${f.step}${f.playing ? " ▶" : ""}` }),
          el("span", { textContent: `${opt.name ?? ""} lr ${opt.lr ?? "?"}` }),
          el("span", { className: "num", textContent: loss === null || loss === undefined ? "—" : formatSig(loss, 3) }),
        );
        row.dataset.testid = "fork-row";
        row.dataset.id = f.id;
        row.dataset.step = String(f.step);
        return row;
      }),
    );
    if (forks.length) draw(state);
  }

  function draw(state) {
    const { ctx: g, w, h } = fitCanvas(canvas);
    g.clearRect(0, 0, w, h);
    const own = state.evals;
    const series = [{ steps: Array.from(own.steps.slice(0, own.length)), loss: Array.from(own.values[0].slice(0, own.length)), colour: "#4a5366" }];
    forks.forEach((f, k) => series.push({ steps: f.evals.step, loss: f.evals.train_loss, colour: css(categorical(k + 1)) }));
    let x1 = 1;
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of series) {
      for (let i = 0; i < s.steps.length; i++) {
        const v = s.loss[i];
        if (!(v > 0) || !Number.isFinite(v)) continue;
        x1 = Math.max(x1, s.steps[i]);
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    if (!(lo < hi)) [lo, hi] = Number.isFinite(lo) ? [lo / 2, lo * 2] : [0.01, 1];
    const box = { x: 36, y: 6, w: w - 44, h: h - 22 };
    const { sx, sy } = drawFrame(g, box, [0, x1], [lo, hi], { log: true, font: 9, yTicks: 3, xTicks: 4 });
    for (const s of series) {
      g.strokeStyle = s.colour;
      g.lineWidth = 1.5;
      g.beginPath();
      let pen = false;
      for (let i = 0; i < s.steps.length; i++) {
        const v = s.loss[i];
        if (!(v > 0) || !Number.isFinite(v)) {
          pen = false;
          continue;
        }
        const x = sx(s.steps[i]);
        const y = sy(v);
        if (pen) g.lineTo(x, y);
        else g.moveTo(x, y);
        pen = true;
      }
      g.stroke();
    }
  }

  return { update };
}
