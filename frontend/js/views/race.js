// The race panel: N runs from the same weights, their loss curves overlaid, and their
// paths on a 2-D slice of the loss landscape. The owner (who started it) plays, steps,
// resets and ends it with the race's token; everybody else only watches.

import { fitCanvas } from "../draw.js";
import { categorical, css } from "../colors.js";
import { drawFrame } from "./chartFrame.js";
import { curvesExtent, stepsExtent, landscapeLevels, landscapePoint, racePresets, sequential } from "../classroom.js";
import { formatSig } from "../scales.js";

const INFO_EVERY_MS = 250;
const LANDSCAPE_EVERY_MS = 1500;
const LANDSCAPE_RES = 25;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

/**
 * @param {{api, toast, fail, isLeader: () => boolean, config: () => object, changed: () => void}} ctx
 *        `changed` is called when the race opens or closes (the presenter's view includes it).
 */
export function createRace(ctx) {
  let race = null; // {id, token|null, info, land, infoAt, landAt, busy, landBusy, dirty}

  // A race this page started ends with the page, like its own session (the server also pauses
  // a playing race nobody reads; this frees its members at once).
  window.addEventListener("pagehide", () => {
    if (!race?.token) return;
    const headers = { authorization: `Bearer ${race.token}` };
    fetch(`/api/races/${race.id}`, { method: "DELETE", keepalive: true, headers }).catch(() => {});
  });

  // --- the panel -------------------------------------------------------------------------
  const btn = (label, title, onClick, testid) => {
    const b = el("button", { type: "button", className: "btn small", textContent: label, title });
    if (testid) b.dataset.testid = testid;
    b.addEventListener("click", onClick);
    return b;
  };
  const stepLabel = el("span", { className: "race-step" });
  const controls = el(
    "div",
    { className: "race-controls" },
    btn("▶ play", "Train every runner, in step", () => play({}), "race-play"),
    btn("❚❚", "Pause the race", () => command("pause"), "race-pause"),
    btn("+10", "Every runner 10 steps", () => command("step", { steps: 10 }), "race-step"),
    btn("reset", "Every runner back to step 0", () => command("reset")),
  );
  const closeBtn = el("button", { type: "button", className: "btn ghost small", textContent: "×", title: "Close the race" });
  closeBtn.setAttribute("aria-label", "Close the race");
  closeBtn.addEventListener("click", () => close());
  const curves = el("canvas", { role: "img", "aria-label": "Loss curves of the runners, log scale" });
  curves.dataset.testid = "race-curves";
  const legend = el("div", { className: "race-legend" });
  legend.dataset.testid = "race-legend";
  const land = el("canvas", { role: "img", "aria-label": "Loss landscape slice with each runner's path" });
  land.dataset.testid = "race-landscape";
  const caption = el("p", { className: "hint race-caption" });
  const panel = el(
    "aside",
    { className: "race-panel", hidden: true, "aria-label": "Race" },
    el("div", { className: "race-head" }, el("h2", { textContent: "Race" }), stepLabel, controls, closeBtn),
    el(
      "div",
      { className: "race-body" },
      el("div", { className: "race-col" }, el("h3", { textContent: "Train loss (faint: every batch)" }), curves, legend),
      el("div", { className: "race-col" }, el("h3", { textContent: "Loss landscape around the runners" }), land, caption),
    ),
  );
  panel.dataset.testid = "race-panel";
  document.body.append(panel);

  // --- the dialog that starts one ---------------------------------------------------------
  const dialog = el("dialog", { className: "race-dialog", "aria-label": "Start a race" });
  const kind = el("select", { "aria-label": "What differs between the runners" });
  const choices = el("div", { className: "race-choices" });
  const startBtn = el("button", { type: "submit", className: "btn", textContent: "Start race" });
  startBtn.dataset.testid = "race-start";
  const form = el(
    "form",
    { className: "race-form", method: "dialog" },
    el("h2", { textContent: "Race" }),
    el("p", { className: "hint", textContent: "Copies of this network start from the same weights, on the same data and batches. Only what you pick below differs." }),
    el("label", { className: "field" }, el("span", { textContent: "Runners differ in" }), kind),
    choices,
    el("div", { className: "row end" }, el("button", { value: "cancel", className: "btn ghost", textContent: "Cancel" }), startBtn),
  );
  dialog.append(form);
  document.body.append(dialog);
  let presets = {};
  const fillChoices = () => {
    const list = presets[kind.value] || [];
    choices.replaceChildren(
      ...list.map((v, k) => {
        const box = el("input", { type: "checkbox", checked: k < (kind.value === "optimizers" ? 4 : 3) });
        box.dataset.k = String(k);
        return el("label", { className: "check" }, box, ` ${v.label}`);
      }),
    );
  };
  kind.addEventListener("change", fillChoices);
  form.addEventListener("submit", (ev) => {
    const submitter = ev.submitter;
    if (submitter?.value === "cancel") return;
    const list = presets[kind.value] || [];
    const picked = [...choices.querySelectorAll("input:checked")].map((b) => list[Number(b.dataset.k)]);
    if (picked.length < 2) {
      ev.preventDefault();
      ctx.toast("Pick at least two runners.", "error");
      return;
    }
    start(picked, ctx.config());
  });

  function openDialog() {
    if (!ctx.isLeader()) return;
    presets = racePresets(ctx.config()?.training);
    kind.replaceChildren(...Object.keys(presets).map((k) => new Option(k, k)));
    fillChoices();
    dialog.showModal();
  }

  // --- lifecycle -----------------------------------------------------------------------------
  async function start(variants, config) {
    try {
      if (race?.token) await end();
      const created = await ctx.api.request("POST", "/api/races", { body: { config, variants } });
      open(created.id, created.control_token, created.race);
    } catch (err) {
      ctx.fail(err);
    }
  }

  function open(id, token = null, info = null) {
    if (race?.id === id) return;
    race = { id, token, info, land: null, infoAt: 0, landAt: 0, busy: false, landBusy: false, dirty: true };
    panel.hidden = false;
    controls.hidden = !token;
    ctx.changed();
  }

  async function end() {
    const r = race;
    if (!r) return;
    race = null;
    if (r.token) await ctx.api.request("DELETE", `/api/races/${r.id}`, { token: r.token }).catch(() => {});
  }

  function close() {
    end();
    panel.hidden = true;
    ctx.changed();
  }

  /** Viewers: show the presenter's race, or none. */
  function follow(id) {
    if (!id) {
      if (race && !race.token) {
        race = null;
        panel.hidden = true;
      }
      return;
    }
    if (race?.id !== id) open(id, null);
  }

  async function command(action, body) {
    if (!race?.token) return;
    const r = race;
    try {
      r.info = await ctx.api.request("POST", `/api/races/${r.id}/${action}`, { body, token: r.token });
      r.dirty = true;
      r.landAt = 0;
    } catch (err) {
      ctx.fail(err);
    }
  }

  const play = (opts) => command("play", opts || {});

  // --- polling and drawing (from the page's rAF loop) ------------------------------------------
  async function poll(now) {
    const r = race;
    if (!r || r.busy || now - r.infoAt < INFO_EVERY_MS) return;
    r.busy = true;
    r.infoAt = now;
    try {
      const info = await ctx.api.request("GET", `/api/races/${r.id}`);
      if (race === r) {
        r.info = info;
        r.dirty = true;
      }
    } catch (err) {
      if (err.status === 404 && race === r) {
        ctx.toast("The race has ended.");
        race = null;
        panel.hidden = true;
        ctx.changed();
      }
    } finally {
      r.busy = false;
    }
    if (r.info && !r.landBusy && (now - r.landAt > LANDSCAPE_EVERY_MS || !r.land) && r.land?.step !== r.info.step) {
      r.landBusy = true;
      r.landAt = now;
      try {
        const landscape = await ctx.api.request("GET", `/api/races/${r.id}/landscape?res=${LANDSCAPE_RES}`);
        if (race === r) {
          r.land = landscape;
          r.dirty = true;
        }
      } catch {
        // a member was deleted or diverged: keep the last picture
      } finally {
        r.landBusy = false;
      }
    }
  }

  let size = "";
  function update(state, now) {
    if (!race) return;
    poll(now);
    const key = `${curves.clientWidth}x${curves.clientHeight}|${land.clientWidth}x${land.clientHeight}`;
    if (!race.dirty && key === size) return;
    size = key;
    race.dirty = false;
    const info = race.info;
    if (!info) return;
    stepLabel.textContent = `step ${info.step}${info.playing ? " · running" : info.stop_reason ? ` · ${info.stop_reason}` : ""}`;
    drawCurves(info);
    drawLegend(info);
    if (race.land) drawLandscape(race.land);
  }

  function drawCurves(info) {
    const { ctx: g, w, h } = fitCanvas(curves);
    g.clearRect(0, 0, w, h);
    const box = { x: 40, y: 8, w: w - 50, h: h - 26 };
    const members = info.members;
    const { sx, sy } = drawFrame(g, box, stepsExtent(members), curvesExtent(members), { log: true });
    const line = (steps, loss, colour, width) => {
      g.strokeStyle = colour;
      g.lineWidth = width;
      g.lineJoin = "round";
      g.beginPath();
      let pen = false;
      for (let i = 0; i < steps.length; i++) {
        const v = loss[i];
        if (v === null || !(v > 0)) {
          pen = false;
          continue;
        }
        const x = sx(steps[i]);
        const y = Math.min(box.y + box.h, Math.max(box.y, sy(v)));
        if (pen) g.lineTo(x, y);
        else g.moveTo(x, y);
        pen = true;
      }
      g.stroke();
    };
    // every step's batch loss, faint; the evaluated loss on the whole training set on top
    members.forEach((m, k) => line(m.curve.steps, m.curve.loss, css(categorical(k), 0.22), 1));
    let drawn = 0;
    members.forEach((m, k) => {
      if (m.curve.steps.length < 2) return;
      line(m.evals.step, m.evals.train_loss, css(categorical(k)), 2.2);
      drawn++;
    });
    curves.dataset.curves = String(drawn);
  }

  function drawLegend(info) {
    legend.replaceChildren(
      ...info.members.map((m, k) => {
        const sw = el("span", { className: "sw" });
        sw.style.background = css(categorical(k));
        const loss = m.eval?.train_loss;
        const item = el(
          "span",
          { className: `race-member${m.diverged ? " diverged" : ""}`, title: `watch it alone: /?session=${m.id}` },
          sw,
          el("b", { textContent: m.label }),
          ` ${m.diverged ? "diverged" : loss === null || loss === undefined ? "—" : formatSig(loss, 3)}`,
        );
        item.dataset.testid = "race-member";
        item.dataset.label = m.label;
        item.dataset.step = String(m.step);
        return item;
      }),
    );
  }

  const tile = document.createElement("canvas");
  function drawLandscape(L) {
    const { ctx: g, w, h } = fitCanvas(land);
    g.clearRect(0, 0, w, h);
    const side = Math.min(w - 8, h - 8);
    const box = { x: (w - side) / 2, y: 4, w: side, h: side };
    const rows = L.grid.length;
    const cols = rows ? L.grid[0].length : 0;
    if (!rows || !cols) return;
    const { levels, lo, hi } = landscapeLevels(L.grid);
    tile.width = cols;
    tile.height = rows;
    const t = tile.getContext("2d");
    const img = t.createImageData(cols, rows);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const [r, gg, b] = sequential(levels[i * cols + j]);
        const o = ((rows - 1 - i) * cols + j) * 4; // row 0 = lowest β: drawn at the bottom
        img.data[o] = r;
        img.data[o + 1] = gg;
        img.data[o + 2] = b;
        img.data[o + 3] = 255;
      }
    }
    t.putImageData(img, 0, 0);
    g.imageSmoothingEnabled = true;
    g.drawImage(tile, box.x, box.y, box.w, box.h);
    L.members.forEach((m, k) => {
      const pts = m.path.filter((p) => p[0] !== null && p[1] !== null).map((p) => landscapePoint(p, L.alphas, L.betas, box));
      if (!pts.length) return;
      const colour = css(categorical(k));
      for (const [width, style] of [
        [4, "rgba(255,255,255,0.85)"],
        [2, colour],
      ]) {
        g.strokeStyle = style;
        g.lineWidth = width;
        g.lineJoin = "round";
        g.beginPath();
        pts.forEach((p, i) => (i ? g.lineTo(p.x, p.y) : g.moveTo(p.x, p.y)));
        g.stroke();
      }
      const last = pts[pts.length - 1];
      g.fillStyle = colour;
      g.strokeStyle = "#fff";
      g.lineWidth = 1.5;
      g.beginPath();
      g.arc(last.x, last.y, 4.5, 0, 2 * Math.PI);
      g.fill();
      g.stroke();
    });
    const start = L.members[0]?.path[0];
    if (start) {
      const p = landscapePoint(start, L.alphas, L.betas, box);
      g.strokeStyle = "#fff";
      g.lineWidth = 2;
      g.strokeRect(p.x - 4, p.y - 4, 8, 8);
    }
    const how =
      L.directions === "principal"
        ? `top-2 principal directions of the paths (${L.explained.map((e) => `${Math.round(e * 100)}%`).join(", ")} of their spread)`
        : "two filter-normalised random directions";
    caption.textContent = `Train loss from ${formatSig(lo, 3)} (purple) to ≥ ${formatSig(hi, 3)} (yellow) on the plane through the runners' mean weights along ${how}. □ start, ● now.`;
    land.dataset.paths = String(L.members.length);
  }

  return {
    openDialog,
    start,
    play,
    pause: () => command("pause"),
    follow,
    close,
    update,
    current: () => race?.id ?? null,
    owns: () => !!race?.token,
  };
}
