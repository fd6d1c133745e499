// Where the network drawing puts its nodes, edges and bias dots. Pure geometry.
//
// Column 0 holds the input features; column c ≥ 1 holds the units of model
// layer c − 1, so the edges entering column c are that layer's W[i][j].

/**
 * @param {object} o
 * @param {number[]} o.counts   nodes per column, inputs first
 * @param {number} o.width
 * @param {number} o.height
 * @param {number} [o.top=28]   room above the nodes (layer headers)
 * @param {number} [o.bottom=16]
 * @param {number} [o.left=24]
 * @param {number} [o.right=24]
 * @param {number} [o.maxNode=48]
 * @param {number} [o.minNode=14]
 * @param {number} [o.gapRatio=0.35]  vertical gap as a fraction of the node size
 * @returns {{nodeSize: number, gap: number, columns: Array}}
 */
export function networkLayout({
  counts,
  width,
  height,
  top = 28,
  bottom = 16,
  left = 24,
  right = 24,
  maxNode = 48,
  minNode = 14,
  gapRatio = 0.35,
}) {
  const ncols = counts.length;
  const usableH = Math.max(1, height - top - bottom);
  const usableW = Math.max(1, width - left - right);
  const most = Math.max(1, ...counts);
  // Largest node that fits the tallest column and leaves room for edges between columns.
  let size = usableH / (most * (1 + gapRatio) - gapRatio);
  const spacing = ncols > 1 ? usableW / (ncols - 1) : usableW;
  size = Math.min(size, maxNode, ncols > 1 ? spacing * 0.42 : maxNode);
  size = Math.max(minNode, Math.floor(size));
  const gap = Math.max(2, Math.round(size * gapRatio));
  const fit = Math.max(1, Math.floor((usableH + gap) / (size + gap)));
  const span = ncols > 1 ? usableW - size : 0;
  const columns = counts.map((count, c) => {
    const x = ncols > 1 ? left + (span * c) / (ncols - 1) : left + (usableW - size) / 2;
    const shown = count > fit ? fit - 1 : count; // last slot says "+N more"
    const slots = count > fit ? fit : count;
    const colH = slots * size + (slots - 1) * gap;
    const y0 = top + (usableH - colH) / 2;
    const nodes = [];
    for (let u = 0; u < shown; u++) {
      const y = y0 + u * (size + gap);
      nodes.push({ unit: u, x, y, cx: x + size / 2, cy: y + size / 2 });
    }
    const more =
      count > fit ? { count: count - shown, x, y: y0 + shown * (size + gap), cx: x + size / 2, cy: y0 + shown * (size + gap) + size / 2 } : null;
    return { index: c, count, x, cx: x + size / 2, nodes, more };
  });
  return { nodeSize: size, gap, columns, width, height };
}

/** The cubic Bézier of the edge from node a (column c−1) to node b (column c). */
export function edgeCurve(a, b, size) {
  const x0 = a.x + size;
  const y0 = a.cy;
  const x1 = b.x;
  const y1 = b.cy;
  const dx = (x1 - x0) * 0.5;
  return [x0, y0, x0 + dx, y0, x1 - dx, y1, x1, y1];
}

/** Bounding box [x0, y0, x1, y1] of a cubic Bézier [x0,y0,c0x,c0y,c1x,c1y,x1,y1]: the hull of its control points. */
export function curveBox(k) {
  return [Math.min(k[0], k[2], k[4], k[6]), Math.min(k[1], k[3], k[5], k[7]), Math.max(k[0], k[2], k[4], k[6]), Math.max(k[1], k[3], k[5], k[7])];
}

/**
 * The device-pixel rectangle [x0, y0, x1, y1] to draw again when edges change level: the union
 * of the boxes (`boxes`: 4 numbers per edge, CSS px) of the first `n` edges whose `levels[i]`
 * differs from `drawn[i]`, padded by `pad` CSS px, times `dpr`, rounded outwards and clipped to
 * the canvas (`width` × `height` device px). null when no level differs.
 */
export function changedRect(levels, drawn, n, boxes, pad, dpr, width, height) {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    if (levels[i] === drawn[i]) continue;
    x0 = Math.min(x0, boxes[4 * i]);
    y0 = Math.min(y0, boxes[4 * i + 1]);
    x1 = Math.max(x1, boxes[4 * i + 2]);
    y1 = Math.max(y1, boxes[4 * i + 3]);
  }
  if (x0 === Infinity) return null;
  return [
    Math.max(0, Math.floor((x0 - pad) * dpr)),
    Math.max(0, Math.floor((y0 - pad) * dpr)),
    Math.min(width, Math.ceil((x1 + pad) * dpr)),
    Math.min(height, Math.ceil((y1 + pad) * dpr)),
  ];
}

/** Point at parameter t of a cubic Bézier [x0,y0,c0x,c0y,c1x,c1y,x1,y1]. */
export function bezierPoint(curve, t) {
  const [x0, y0, ax, ay, bx, by, x1, y1] = curve;
  const u = 1 - t;
  const w0 = u * u * u;
  const w1 = 3 * u * u * t;
  const w2 = 3 * u * t * t;
  const w3 = t * t * t;
  return [w0 * x0 + w1 * ax + w2 * bx + w3 * x1, w0 * y0 + w1 * ay + w2 * by + w3 * y1];
}

function segmentDistance(px, py, x0, y0, x1, y1) {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  let t = len2 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const ex = x0 + t * dx - px;
  const ey = y0 + t * dy - py;
  return Math.sqrt(ex * ex + ey * ey);
}

/** Distance from (px, py) to a Bézier edge, approximated by `pieces` straight pieces. */
export function curveDistance(curve, px, py, pieces = 16) {
  let best = Infinity;
  let [ax, ay] = [curve[0], curve[1]];
  for (let s = 1; s <= pieces; s++) {
    const [bx, by] = bezierPoint(curve, s / pieces);
    const d = segmentDistance(px, py, ax, ay, bx, by);
    if (d < best) best = d;
    ax = bx;
    ay = by;
  }
  return best;
}

/** Centre of the bias dot of a node (below its lower-left corner). */
export function biasDot(node, size) {
  const r = Math.max(3, size * 0.1);
  return { x: node.x - r * 0.2, y: node.y + size + r * 0.2, r };
}

/**
 * What is under (px, py): a node, a bias dot, or an edge within `tolerance` px.
 * Returns {kind: "node"|"bias", column, unit} or {kind: "edge", column, i, j} or null.
 * Column c ≥ 1 is model layer c − 1.
 */
export function hitTest(layout, px, py, tolerance = 4) {
  const s = layout.nodeSize;
  for (const col of layout.columns) {
    if (px < col.x - s * 0.3 || px > col.x + s * 1.2) continue;
    for (const node of col.nodes) {
      if (col.index > 0) {
        const dot = biasDot(node, s);
        if (Math.hypot(px - dot.x, py - dot.y) <= dot.r + 2) return { kind: "bias", column: col.index, unit: node.unit };
      }
      if (px >= node.x && px <= node.x + s && py >= node.y && py <= node.y + s) {
        return { kind: "node", column: col.index, unit: node.unit };
      }
    }
  }
  let best = null;
  let bestD = tolerance;
  for (let c = 1; c < layout.columns.length; c++) {
    const from = layout.columns[c - 1];
    const to = layout.columns[c];
    if (px < from.x + s || px > to.x) continue;
    for (const a of from.nodes) {
      for (const b of to.nodes) {
        // Quick reject: the curve stays inside the box spanned by its end points.
        if (py < Math.min(a.cy, b.cy) - tolerance || py > Math.max(a.cy, b.cy) + tolerance) continue;
        const d = curveDistance(edgeCurve(a, b, s), px, py);
        if (d <= bestD) {
          bestD = d;
          best = { kind: "edge", column: c, i: a.unit, j: b.unit };
        }
      }
    }
  }
  return best;
}

/** Node of column c, unit u in a layout, or null when not drawn. */
export function findNode(layout, c, u) {
  const col = layout.columns[c];
  return col ? col.nodes.find((n) => n.unit === u) || null : null;
}

/**
 * How a layer header fits `spacing` px between column centres (at presenter `scale`):
 * "wide" holds the title, −/+ and the activation side by side; "narrow" stacks −/+
 * over the activation under a short title; "tight" (many layers) shows only a short
 * title, which opens the controls in a small menu.
 */
export function headMode(spacing, scale = 1) {
  const s = spacing / scale;
  if (s >= 140) return "wide";
  if (s >= 72) return "narrow";
  return "tight";
}

/** Room above the nodes for headers of `mode` (px). */
export function headRoom(mode, scale = 1) {
  return (mode === "narrow" ? 66 : 52) * scale;
}
