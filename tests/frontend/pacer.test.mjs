// The frame pacer: one training frame per animation frame, order kept, bounded latency.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createFramePacer } from "../../frontend/js/pacer.js";

const frame = (step) => ({ type: "frame", step });

function recorder() {
  const applied = [];
  return { applied, pacer: createFramePacer((header) => applied.push(header.type === "frame" ? header.step : header.type)) };
}

test("one frame per animation frame: two that arrive together are drawn in turn", () => {
  const { applied, pacer } = recorder();
  pacer.push(frame(1));
  pacer.push(frame(2));
  assert.deepEqual(applied, []);
  pacer.tick();
  assert.deepEqual(applied, [1]);
  pacer.tick();
  assert.deepEqual(applied, [1, 2]);
  pacer.tick();
  assert.deepEqual(applied, [1, 2]);
  assert.equal(pacer.held, 0);
});

test("a frame beyond the hold is applied at once, in order, so the page never falls behind", () => {
  const { applied, pacer } = recorder();
  for (const s of [1, 2, 3, 4]) pacer.push(frame(s));
  assert.deepEqual(applied, [1, 2]);
  assert.equal(pacer.held, 2);
  pacer.tick();
  pacer.tick();
  assert.deepEqual(applied, [1, 2, 3, 4]);
});

test("any other message first applies what is held: arrival order is kept", () => {
  const { applied, pacer } = recorder();
  pacer.push(frame(1));
  pacer.push({ type: "points" });
  assert.deepEqual(applied, [1, "points"]);
  pacer.push(frame(2));
  pacer.flush();
  assert.deepEqual(applied, [1, "points", 2]);
});

test("clear forgets held frames (another session's)", () => {
  const { applied, pacer } = recorder();
  pacer.push(frame(1));
  pacer.clear();
  pacer.tick();
  assert.deepEqual(applied, []);
});

test("a larger hold lets more frames wait", () => {
  const applied = [];
  const pacer = createFramePacer((h) => applied.push(h.step), { hold: 2 });
  for (const s of [1, 2, 3]) pacer.push(frame(s));
  assert.deepEqual(applied, []);
  pacer.push(frame(4));
  assert.deepEqual(applied, [1]);
});
