// The timeline under the loss chart: the recorded range of the run on the
// chart's own step axis, a knob for the shown past step, the compare markers
// A and B, fork marks, and the live end. Drag to scrub; Home / End / PageUp /
// PageDown on the focused track. Also the "viewing step N — back to live"
// indicator and the legend of fork / parent curves.

import { linearScale, formatSig } from "../scales.js";
import { fitCanvas } from "../draw.js";
import { stepAtX, clampStep, forkLabel } from "../timeline-model.js";
import { FORK_COLOURS, PAST_COLOUR } from "../timetravel.js";

const GRAB_PX = 8;

/**
 * @param {{canvas, legend, pill, pillStep, pillNote, back, buttons: {compare, fork, gradcheck}, marks: HTMLElement[], explain: HTMLElement}} el
 * @param {object} travel  the controller from timetravel.js
 * @param {() => ({box, sx} | null)} lossGeometry  the loss chart's plot box and step scale
 */
export function createTimeline(el, travel, lossGeometry) {
  let state = null;
  let geom = null; // {sx, box}
  let drawnFor = null; // the live step geom was computed for
  let drag = null; // "scrub" | "a" | "b"
  let hoverX = null;
  let legendKey = "";

  function scale(w) {
    const g = lossGeometry();
    if (g) return { sx: g.sx, box: g.box };
    const box = { x: 40, w: Math.max(10, w - 48) };
    return { sx: linearScale([0, Math.max(10, state?.step || 0)], [box.x, box.x + box.w]), box };
  }

  const localX = (ev) => ev.clientX - el.canvas.getBoundingClientRect().left;

  function grab(x) {
    const c = state?.travel?.compare;
    if (c && state.travel.panel === "compare" && geom) {
      const da = Math.abs(x - geom.sx(c.a));
      const db = Math.abs(x - geom.sx(c.b));
      if (Math.min(da, db) <= GRAB_PX) return da <= db ? "a" : "b";
    }
    return "scrub";
  }

  function moveTo(x) {
    if (!geom || !state) return;
    const range = travel.range();
    if (!range) return;
    if (drag === "a" || drag === "b") {
      const step = clampStep(geom.sx.invert(x), range);
      const c = state.travel.compare;
      travel.compare(drag === "a" ? step : c.a, drag === "b" ? step : c.b);
      return;
    }
    travel.show(stepAtX(x, geom.sx, range));
  }

  el.canvas.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    el.canvas.setPointerCapture(ev.pointerId);
    drag = grab(localX(ev));
    moveTo(localX(ev));
  });
  el.canvas.addEventListener("pointermove", (ev) => {
    hoverX = localX(ev);
    if (drag) moveTo(hoverX);
    if (state) state.dirty = true;
  });
  const end = () => {
    drag = null;
  };
  el.canvas.addEventListener("pointerup", end);
  el.canvas.addEventListener("pointercancel", end);
  el.canvas.addEventListener("pointerleave", () => {
    hoverX = null;
    if (state) state.dirty = true;
  });
  el.canvas.addEventListener("keydown", (ev) => {
    const range = travel.range();
    if (!range) return;
    const big = Math.max(1, Math.round((range.last - range.first) / 10));
    const now = travel.viewedStep() ?? range.last;
    const to = { Home: range.first, End: null, PageUp: now - big, PageDown: now + big }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    travel.show(to);
  });
  el.back.addEventListener("click", () => travel.live());

  // The explain panel covers the right column: a small replay slider inside it keeps
  // scrubbing (and so the panel's numbers) at hand while it is open.
  const mini = document.createElement("input");
  mini.type = "range";
  mini.step = "1";
  mini.dataset.testid = "explain-replay";
  mini.setAttribute("aria-label", "Replay: the step the explain panel shows");
  const miniOut = document.createElement("output");
  const miniLive = document.createElement("button");
  miniLive.type = "button";
  miniLive.className = "btn ghost small";
  miniLive.textContent = "live";
  miniLive.setAttribute("aria-label", "Back to the live step");
  const miniRow = document.createElement("section");
  miniRow.className = "explain-replay";
  const miniLabel = document.createElement("span");
  miniLabel.className = "hint";
  miniLabel.textContent = "replay";
  miniRow.append(miniLabel, mini, miniOut, miniLive);
  el.explain?.append(miniRow);
  mini.addEventListener("input", () => travel.show(Number(mini.value)));
  miniLive.addEventListener("click", () => travel.live());
  el.buttons.compare.addEventListener("click", () => travel.panel("compare"));
  el.buttons.fork.addEventListener("click", () => travel.panel("fork"));
  el.buttons.gradcheck.addEventListener("click", () => travel.panel("gradcheck"));

  // --- drawing ---------------------------------------------------------------------

  function draw(s) {
    const { ctx, w, h } = fitCanvas(el.canvas);
    ctx.clearRect(0, 0, w, h);
    geom = scale(w);
    drawnFor = s.step;
    const { sx, box } = geom;
    const p = s.ui.presenter ? 1.3 : 1;
    const font = Math.round(10 * p);
    const range = travel.range();
    const t = s.travel || {};
    const y = Math.round(h * 0.6) + 0.5;
    ctx.font = `${font}px system-ui, sans-serif`;
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    ctx.fillStyle = "#7b8497";
    ctx.fillText("replay", box.x - 6, y);
    // the whole axis, then the part that can be revisited
    ctx.strokeStyle = "#dfe3ea";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(box.x, y);
    ctx.lineTo(box.x + box.w, y);
    ctx.stroke();
    if (!range) return;
    const x0 = Math.max(box.x, sx(range.first));
    const x1 = Math.min(box.x + box.w, sx(range.last));
    ctx.fillStyle = "#d6e4f3";
    ctx.strokeStyle = "#8fb1d8";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.roundRect(x0 - 3, y - 4, Math.max(6, x1 - x0 + 6), 8, 4);
    ctx.fill();
    ctx.stroke();
    // fork marks: the forks of this run, or where this fork left its parent
    const forkMark = (step, colour) => {
      const x = sx(step);
      if (x < box.x - 1 || x > box.x + box.w + 1) return;
      ctx.fillStyle = colour;
      ctx.beginPath();
      ctx.moveTo(x, y - 5);
      ctx.lineTo(x + 4, y - 10);
      ctx.lineTo(x - 4, y - 10);
      ctx.closePath();
      ctx.fill();
    };
    (t.forks || []).forEach((f, k) => forkMark(f.parent_step, FORK_COLOURS[k % FORK_COLOURS.length]));
    if (t.parent) forkMark(t.parent.step, "#6b4fa0");
    // compare markers
    if (t.compare && t.panel === "compare") {
      for (const [label, step] of [["A", t.compare.a], ["B", t.compare.b]]) {
        const x = Math.round(sx(step)) + 0.5;
        ctx.strokeStyle = "#1d2330";
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(x, y - 8);
        ctx.lineTo(x, y + 8);
        ctx.stroke();
        ctx.fillStyle = "#1d2330";
        ctx.beginPath();
        ctx.roundRect(x - 7, 1, 14, 12, 3);
        ctx.fill();
        ctx.fillStyle = "#fff";
        ctx.textAlign = "center";
        ctx.fillText(label, x, 7.5);
      }
    }
    // the live end
    const xl = sx(range.last);
    ctx.beginPath();
    ctx.arc(xl, y, 4.5 * p, 0, Math.PI * 2);
    ctx.fillStyle = s.playing ? "#1a7f4b" : "#7b8497";
    ctx.fill();
    // the shown past step
    if (t.past) {
      const x = sx(t.past.step);
      ctx.beginPath();
      ctx.arc(x, y, 6.5 * p, 0, Math.PI * 2);
      ctx.fillStyle = PAST_COLOUR;
      ctx.fill();
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#fff";
      ctx.stroke();
      const label = String(t.past.step);
      ctx.fillStyle = "#7a5a00";
      ctx.font = `600 ${font}px system-ui, sans-serif`;
      const right = x + 10 + ctx.measureText(label).width < box.x + box.w;
      ctx.textAlign = right ? "left" : "right";
      ctx.fillText(label, x + (right ? 10 : -10), y - 8);
      ctx.font = `${font}px system-ui, sans-serif`;
    }
    // hover: which step a click goes to
    const nearKnob = t.past && Math.abs((hoverX ?? -1e9) - sx(t.past.step)) < 12;
    if (hoverX !== null && hoverX >= box.x && hoverX <= box.x + box.w && !drag && !nearKnob) {
      const step = stepAtX(hoverX, sx, range);
      ctx.strokeStyle = "rgba(29,35,48,0.35)";
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(Math.round(hoverX) + 0.5, y - 7);
      ctx.lineTo(Math.round(hoverX) + 0.5, y + 7);
      ctx.stroke();
      ctx.fillStyle = "#4a5366";
      ctx.textAlign = hoverX > box.x + box.w - 50 ? "right" : "left";
      ctx.fillText(step === null ? "live" : String(step), hoverX + (ctx.textAlign === "left" ? 5 : -5), y - 9);
    }
  }

  function updatePill(s) {
    const past = s.travel?.past;
    document.body.classList.toggle("past", !!past);
    el.pill.hidden = !past;
    for (const m of el.marks) {
      if (past) m.dataset.pastStep = `step ${past.step}`;
      else delete m.dataset.pastStep;
    }
    el.canvas.setAttribute("aria-valuenow", String(past ? past.step : s.step));
    el.canvas.setAttribute("aria-valuetext", past ? `step ${past.step}, in the past` : `live, step ${s.step}`);
    const range = travel.range();
    el.canvas.setAttribute("aria-valuemin", String(range?.first ?? 0));
    el.canvas.setAttribute("aria-valuemax", String(range?.last ?? s.step));
    if (!past) return;
    const data = past.data;
    el.pill.dataset.step = String(past.step);
    el.pill.dataset.shown = data ? String(data.step) : "";
    el.pill.dataset.loaded = String(!!data && data.step === past.step && !past.loading);
    el.pillStep.textContent = String(past.step);
    let note = `of ${s.step}${s.playing ? " — still training" : ""}`;
    if (past.error) note = `— ${past.error}`;
    else if (past.loading) note += " · loading…";
    else if (data?.eval) note += ` · train loss ${formatSig(data.eval.train_loss, 4)} · test ${formatSig(data.eval.test_loss, 4)}`;
    el.pillNote.textContent = note;
  }

  function updateLegend(s) {
    const t = s.travel || {};
    const items = [];
    if (t.parent) {
      const what = t.parent.gone ? "parent (deleted)" : `parent ${t.parent.training ? forkLabel(t.parent.training) : ""}`;
      items.push({ colour: "#7b8497", text: `${what}, forked at ${t.parent.step}`, open: t.parent.gone ? null : t.parent.id });
    }
    (t.forks || []).forEach((f, k) => items.push({ colour: FORK_COLOURS[k % FORK_COLOURS.length], text: `fork @${f.parent_step}: ${forkLabel(f.config)}`, open: f.id }));
    const key = JSON.stringify(items);
    if (key === legendKey) return;
    legendKey = key;
    el.legend.replaceChildren(
      ...items.map((it) => {
        const b = document.createElement(it.open ? "button" : "span");
        b.className = "tl-curve";
        if (it.open) {
          b.type = "button";
          b.title = "Open this session";
          b.dataset.session = it.open;
          b.addEventListener("click", () => travel.openSession(it.open));
        }
        const sw = document.createElement("span");
        sw.className = "tl-swatch";
        sw.style.borderTopColor = it.colour; // CSSOM: allowed by the page's style-src 'self'
        b.append(sw, it.text);
        return b;
      }),
    );
  }

  function updateMini(s) {
    const range = travel.range();
    miniRow.hidden = !range || !s.ui.explain;
    if (miniRow.hidden) return;
    mini.min = String(range.first);
    mini.max = String(range.last);
    const past = s.travel?.past?.step;
    if (document.activeElement !== mini) mini.value = String(past ?? range.last);
    miniOut.textContent = past === undefined ? `live · ${s.step}` : `step ${past}`;
    miniOut.classList.toggle("past", past !== undefined);
    miniLive.disabled = past === undefined;
  }

  return {
    update(s) {
      state = s;
      draw(s);
      updateMini(s);
      updatePill(s);
      updateLegend(s);
      const panel = s.travel?.panel;
      for (const [name, b] of Object.entries(el.buttons)) b.setAttribute("aria-pressed", String(panel === name));
      el.buttons.compare.disabled = !travel.range();
    },
    reset() {
      hoverX = null;
      drag = null;
      legendKey = "";
    },
    /** The live step the track was last drawn for: pointAt() is exact once it equals state.step. */
    drawnStep() {
      return drawnFor;
    },
    /** Client coordinates of a step on the track as last drawn (for tests and tours). */
    pointAt(step) {
      if (!geom) return null;
      const r = el.canvas.getBoundingClientRect();
      return { x: r.left + geom.sx(step), y: r.top + r.height * 0.6 };
    },
  };
}
