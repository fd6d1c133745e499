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

test("rows in error are counted as skipped, and the good ones kept", () => {
  const r = parseCSV("1,2,0\n3,4,1\n5,six,0\n7,8,1\n9,10");
  assert.deepEqual(r.x, [[1, 2], [3, 4], [7, 8]]);
  assert.equal(r.skipped, 2);
  assert.deepEqual(r.errors, ['line 3: "six" is not a number', "line 5: 2 columns, expected 3"]);
});

test("a paste with no good row says so", () => {
  const r = parseCSV("a,b\nfoo,bar");
  assert.deepEqual(r.featureNames, ["a"]);
  assert.equal(r.x.length, 0);
  assert.equal(r.skipped, 1);
  assert.match(r.errors[0], /line 2: "foo" is not a number/);
  const header = parseCSV("x1,x2,y\n");
  assert.equal(header.x.length, 0);
  assert.match(header.errors[0], /no data rows/);
});

test("a first row with NaN or an overflowing number is a bad data row, not a header", () => {
  for (const cell of ["NaN", "1e400", "-Infinity", "inf"]) {
    const r = parseCSV(`${cell},1,0\n2,3,1\n4,5,0`);
    assert.deepEqual(r.featureNames, ["x1", "x2"], cell);
    assert.deepEqual(r.x, [[2, 3], [4, 5]], cell);
    assert.deepEqual(r.errors, [`line 1: "${cell}" is not a finite number`], cell);
  }
  // a mixed first row is data too: names are all non-numeric
  assert.match(parseCSV("1,x,0\n2,3,1").errors[0], /line 1: "x" is not a number/);
  assert.deepEqual(parseCSV("1,,0\n2,3,1").errors, ["line 1: an empty cell"]);
});

test("error lines are numbered as pasted, blank lines and comments included", () => {
  const r = parseCSV("x,y,c\n1,2,0\n\n# two\n1,x,1\n");
  assert.deepEqual(r.errors, ['line 5: "x" is not a number']);
});

test("rows past the limit are a note, not an error", () => {
  const r = parseCSV("1,2,0\n3,4,1\n5,6,0\n7,8,1", { maxRows: 2 });
  assert.equal(r.x.length, 2);
  assert.deepEqual(r.errors, []);
  assert.equal(r.skipped, 0);
  assert.match(r.notes[0], /first 2 rows.*2 more/);
});
