// The learning rate a divergence banner offers for recovery.
import { test } from "node:test";
import assert from "node:assert/strict";
import { recoveryRate } from "../../frontend/js/views/banner.js";

test("a tenth of the rate that diverged", () => {
  assert.equal(recoveryRate({ lr: 3 }), 0.3);
  assert.equal(recoveryRate({ lr: 0.5 }, 0.5, "sgd"), 0.05);
  assert.equal(recoveryRate(null, 0.3), 0.03); // no divergence rate: the current one
});

test("at most a rate that trains, so one click recovers from a rate far too large", () => {
  assert.equal(recoveryRate({ lr: 1000 }, 1000, "sgd"), 1);
  assert.equal(recoveryRate({ lr: 10 }, 10, "adam"), 0.03);
  assert.equal(recoveryRate({ lr: 0.2 }, 0.2, "adam"), 0.02);
  assert.equal(recoveryRate({ lr: 50 }, 50, "rmsprop"), 0.03);
  assert.equal(recoveryRate({ lr: 50 }, 50, "unknown-optimizer"), 1);
});
