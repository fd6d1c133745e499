// Small pieces shared by the CNN and RNN views: region hit testing and tooltips, canvas
// marks (placeholder, frame, outlined cells, clipped text) and DOM controls (a segmented
// radio, the batch-sample picker).

import { formatSig } from "../scales.js";

/**
 * The region (a w×h box of rows×cols cells) under a mouse event, with the cell's row and col.
 * Regions: {x, y, w, h, rows, cols, …} in canvas CSS pixels.
 */
export function cellAt(list, canvas, ev) {
  const r = canvas.getBoundingClientRect();
  const x = ev.clientX - r.left;
  const y = ev.clientY - r.top;
  for (const g of list) {
    if (x >= g.x && x < g.x + g.w && y >= g.y && y < g.y + g.h) {
      const col = Math.min(g.cols - 1, Math.floor(((x - g.x) / g.w) * g.cols));
      const row = Math.min(g.rows - 1, Math.floor(((y - g.y) / g.h) * g.rows));
      return { ...g, row, col };
    }
  }
  return null;
}

/** Screen point of cell (r, c) of the first region that `match`es. */
export function pointIn(list, canvas, match, r, c) {
  const g = list.find(match);
  if (!g) return null;
  const rect = canvas.getBoundingClientRect();
  return { x: rect.left + g.x + ((c + 0.5) / g.cols) * g.w, y: rect.top + g.y + ((r + 0.5) / g.rows) * g.h };
}

/** The value under the mouse of a hit region ({values, offset, label, quantity}), or hide the tip. */
export function cellTooltip(tip, hit, ev) {
  if (!hit || !hit.values) {
    tip.hidden = true;
    return;
  }
  const v = hit.values[hit.offset + hit.row * hit.cols + hit.col];
  showTip(tip, `${hit.label} (${hit.row}, ${hit.col})\n${hit.quantity} = ${formatSig(v, 5)}`, ev);
}

/** The training-set index of batch row n (indices as a frame array or a plain typed array). */
export function batchIndex(batch, n) {
  const ix = batch?.indices;
  return ix ? (ix.data ?? ix)[n] : undefined;
}

export function showTip(tip, text, ev) {
  tip.textContent = text;
  tip.hidden = false;
  tip.style.left = `${ev.clientX + 14}px`;
  tip.style.top = `${ev.clientY + 12}px`;
}

export function placeholder(ctx, x, y, w, h) {
  ctx.fillStyle = "#f3f4f7";
  ctx.fillRect(x, y, w, h);
}

export function frame(ctx, x, y, w, h) {
  ctx.strokeStyle = "#cfd4de";
  ctx.lineWidth = 1;
  ctx.strokeRect(x - 0.5, y - 0.5, w + 1, h + 1);
}

export function outlineCells(ctx, x, y, w, h, rows, cols, [r0, r1], [c0, c1], colour, width = 2) {
  const cw = w / cols;
  const ch = h / rows;
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.strokeRect(x + c0 * cw, y + r0 * ch, (c1 - c0 + 1) * cw, (r1 - r0 + 1) * ch);
}

export function clipText(ctx, text, width) {
  if (ctx.measureText(text).width <= width) return text;
  let t = text;
  while (t.length > 3 && ctx.measureText(`${t}…`).width > width) t = t.slice(0, -1);
  return `${t}…`;
}

export function div(cls) {
  const d = document.createElement("div");
  d.className = cls;
  return d;
}

export function span(cls, text = "") {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text;
  return s;
}

/** A segmented radio control: [[value, label, title]]. */
export function seg(aria, items, onPick) {
  const root = div("seg");
  root.setAttribute("role", "radiogroup");
  root.setAttribute("aria-label", aria);
  const buttons = items.map(([value, text, title]) => {
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute("role", "radio");
    b.dataset.value = value;
    b.textContent = text;
    b.title = title;
    b.addEventListener("click", () => onPick(value));
    root.append(b);
    return b;
  });
  return {
    root,
    set(value) {
      for (const b of buttons) b.setAttribute("aria-checked", String(b.dataset.value === value));
    },
  };
}

/** ◀ sample n / N ▶ (#index in the training set). */
export function samplePicker(hooks) {
  const root = div("sx-sample");
  const prev = document.createElement("button");
  prev.type = "button";
  prev.className = "btn ghost small";
  prev.textContent = "◀";
  prev.setAttribute("aria-label", "Previous sample of the batch");
  const next = document.createElement("button");
  next.type = "button";
  next.className = "btn ghost small";
  next.textContent = "▶";
  next.setAttribute("aria-label", "Next sample of the batch");
  const out = document.createElement("output");
  out.dataset.testid = "sample";
  root.append(span("hint", "sample"), prev, out, next);
  let n = 0;
  let current = 0;
  prev.addEventListener("click", () => n && hooks.setUi({ sample: (current - 1 + n) % n }));
  next.addEventListener("click", () => n && hooks.setUi({ sample: (current + 1) % n }));
  return {
    root,
    set(sample, count, index) {
      n = count;
      current = sample;
      out.textContent = count ? `${sample + 1}/${count}${index !== undefined ? ` · #${index}` : ""}` : "—";
      prev.disabled = next.disabled = count < 2;
    },
  };
}
