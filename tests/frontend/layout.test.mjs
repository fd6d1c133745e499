import { test } from "node:test";
import assert from "node:assert/strict";
import { networkLayout, edgeCurve, bezierPoint, curveDistance, hitTest, findNode, biasDot } from "../../frontend/js/layout.js";

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
