import { test } from "node:test";
import assert from "node:assert/strict";
import { networkLayout, edgeCurve, curveBox, changedRect, bezierPoint, curveDistance, hitTest, findNode, biasDot } from "../../frontend/js/layout.js";

test("columns spread left to right, nodes are centred and never overlap", () => {
  const l = networkLayout({ counts: [2, 8, 8, 1], width: 800, height: 500 });
  assert.equal(l.columns.length, 4);
  const xs = l.columns.map((c) => c.x);
  assert.deepEqual([...xs].sort((a, b) => a - b), xs);
  for (const col of l.columns) {
    for (let u = 1; u < col.nodes.length; u++) assert.ok(col.nodes[u].y >= col.nodes[u - 1].y + l.nodeSize);
    const mid = (col.nodes[0].y + col.nodes.at(-1).y + l.nodeSize) / 2;
    assert.ok(Math.abs(mid - (28 + (500 - 28 - 16) / 2)) < 1);
  }
  assert.ok(l.nodeSize <= 48 && l.nodeSize >= 14);
});

test("a column too tall for the space shows what fits and says how many more", () => {
  const l = networkLayout({ counts: [2, 200, 1], width: 600, height: 400 });
  const col = l.columns[1];
  assert.ok(col.nodes.length < 200);
  assert.equal(col.more.count + col.nodes.length, 200);
  assert.ok(col.more.y + l.nodeSize <= 400);
});

test("edges start at the right of a node and end at the left of the next", () => {
  const l = networkLayout({ counts: [2, 3], width: 400, height: 300 });
  const a = l.columns[0].nodes[0];
  const b = l.columns[1].nodes[2];
  const e = edgeCurve(a, b, l.nodeSize);
  assert.deepEqual(bezierPoint(e, 0), [a.x + l.nodeSize, a.cy]);
  const [x1, y1] = bezierPoint(e, 1);
  assert.ok(Math.abs(x1 - b.x) < 1e-9 && Math.abs(y1 - b.cy) < 1e-9);
  assert.ok(curveDistance(e, ...bezierPoint(e, 0.37)) < 0.5);
});

test("hit testing finds nodes, bias dots and the edge under the pointer", () => {
  const l = networkLayout({ counts: [2, 4, 1], width: 600, height: 400 });
  const n = findNode(l, 1, 2);
  assert.deepEqual(hitTest(l, n.cx, n.cy), { kind: "node", column: 1, unit: 2 });
  const dot = biasDot(n, l.nodeSize);
  assert.deepEqual(hitTest(l, dot.x, dot.y), { kind: "bias", column: 1, unit: 2 });
  const e = edgeCurve(findNode(l, 1, 3), findNode(l, 2, 0), l.nodeSize);
  const [px, py] = bezierPoint(e, 0.4);
  assert.deepEqual(hitTest(l, px, py), { kind: "edge", column: 2, i: 3, j: 0 });
  assert.equal(hitTest(l, 1, 1), null);
});

test("an edge's box holds every point of its curve", () => {
  const l = networkLayout({ counts: [2, 8, 8, 1], width: 640, height: 480 });
  for (const [c, i, j] of [[1, 0, 7], [1, 1, 0], [2, 3, 3], [3, 7, 0]]) {
    const e = edgeCurve(findNode(l, c - 1, i), findNode(l, c, j), l.nodeSize);
    const [x0, y0, x1, y1] = curveBox(e);
    for (let t = 0; t <= 1; t += 0.05) {
      const [x, y] = bezierPoint(e, t);
      assert.ok(x >= x0 - 1e-9 && x <= x1 + 1e-9 && y >= y0 - 1e-9 && y <= y1 + 1e-9);
    }
  }
});

test("the rectangle to redraw covers the edges whose level changed, padded, in device pixels", () => {
  const boxes = new Float64Array([10, 20, 50, 60, 100, 5, 140, 30, 200, 200, 260, 250]);
  const drawn = new Int16Array([3, -2, 0]);
  assert.equal(changedRect(new Int16Array([3, -2, 0]), drawn, 3, boxes, 4, 1, 300, 300), null);
  assert.deepEqual(changedRect(new Int16Array([3, -1, 0]), drawn, 3, boxes, 4, 1, 300, 300), [96, 1, 144, 34]);
  // two changed edges: their union; dpr 2 doubles it, rounded outwards
  assert.deepEqual(changedRect(new Int16Array([4, -1, 0]), drawn, 3, boxes, 4.3, 2, 600, 600), [11, 1, 289, 129]);
  // clipped to the canvas
  assert.deepEqual(changedRect(new Int16Array([3, -2, 7]), drawn, 3, boxes, 60, 1, 300, 300), [140, 140, 300, 300]);
  // only the first n edges count (the arrays may be longer than this layout's edges)
  assert.equal(changedRect(new Int16Array([3, -2, 7]), drawn, 2, boxes, 4, 1, 300, 300), null);
});

test("layer headers: wide, then narrow, then tight as the columns close in; presenter needs more room", async () => {
  const { headMode, headRoom } = await import("../../frontend/js/layout.js");
  assert.equal(headMode(200), "wide");
  assert.equal(headMode(140), "wide");
  assert.equal(headMode(100), "narrow");
  assert.equal(headMode(72), "narrow");
  assert.equal(headMode(40), "tight");
  assert.equal(headMode(150, 1.4), "narrow"); // larger controls in presenter mode
  assert.ok(headRoom("narrow") > headRoom("wide"));
  assert.equal(headRoom("wide", 1.4), 52 * 1.4);
});
