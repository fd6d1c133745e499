import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCSV } from "../../frontend/js/csv.js";

test("comma data with a header: features, target, binary task", () => {
  const r = parseCSV("x1,x2,label\n0.5,1.2,1\n-2,0.3,0\n");
  assert.deepEqual(r.x, [[0.5, 1.2], [-2, 0.3]]);
  assert.deepEqual(r.y, [1, 0]);
  assert.deepEqual(r.featureNames, ["x1", "x2"]);
  assert.equal(r.targetName, "label");
  assert.equal(r.task, "binary");
  assert.equal(r.classes, 2);
  assert.deepEqual(r.errors, []);
});

test("tabs, semicolons and whitespace are recognised; comments and blank lines skipped", () => {
  assert.deepEqual(parseCSV("1\t2\t0\n3\t4\t2\n").x, [[1, 2], [3, 4]]);
  assert.deepEqual(parseCSV("1;2;0\n3;4;1").y, [0, 1]);
  const r = parseCSV("# my data\n1 2  0.5\n\n3   4 -1.25\n");
  assert.deepEqual(r.x, [[1, 2], [3, 4]]);
  assert.equal(r.task, "regression");
  assert.equal(r.classes, 0);
});

test("multi-class labels and a chosen target column", () => {
  const r = parseCSV("0,1,2\n2,3,4\n1,1,1", { targetColumn: 0 });
  assert.deepEqual(r.y, [0, 2, 1]);
  assert.deepEqual(r.x, [[1, 2], [3, 4], [1, 1]]);
  assert.equal(r.task, "multiclass");
  assert.equal(r.classes, 3);
});

test("bad rows are reported by line and skipped", () => {
  const r = parseCSV("a,b,y\n1,2,0\n1,x,1\n1,2\n3,4,1");
  assert.equal(r.x.length, 2);
  assert.equal(r.errors.length, 2);
  assert.match(r.errors[0], /line 3: "x" is not a number/);
  assert.match(r.errors[1], /line 4: 2 columns, expected 3/);
  assert.match(parseCSV("").errors[0], /no data/);
  assert.match(parseCSV("1\n2").errors[0], /two columns/);
});
