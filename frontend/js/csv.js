// Parse pasted tabular data into inline session data. Pure.
//
// Accepts comma, semicolon, tab or whitespace separated columns, an optional
// header row, blank lines and "#" comments. The last column is the target
// (unless `targetColumn` says otherwise); the others are features.

function splitLine(line, delimiter) {
  if (delimiter === "ws") return line.trim().split(/\s+/);
  return line.split(delimiter).map((c) => c.trim().replace(/^"(.*)"$/, "$1"));
}

function guessDelimiter(lines) {
  // The first of tab, semicolon, comma that the first line uses; else whitespace.
  for (const d of ["\t", ";", ","]) if (lines[0].includes(d)) return d;
  return "ws";
}

/**
 * @param {string} text
 * @param {{targetColumn?: number, maxRows?: number}} [options]
 * @returns {{x: number[][], y: number[], featureNames: string[], targetName: string,
 *            task: "binary"|"multiclass"|"regression", classes: number, errors: string[]}}
 */
export function parseCSV(text, { targetColumn = -1, maxRows = 20000 } = {}) {
  const errors = [];
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*$/, ""))
    .filter((l) => l.trim() !== "");
  const empty = { x: [], y: [], featureNames: [], targetName: "y", task: "regression", classes: 0, errors };
  if (!lines.length) {
    errors.push("no data: paste rows like 0.5, -1.2, 1");
    return empty;
  }
  const delimiter = guessDelimiter(lines);
  let rows = lines.map((l) => splitLine(l, delimiter));
  const width = rows[0].length;
  if (width < 2) {
    errors.push("each row needs at least two columns: features, then the target");
    return empty;
  }
  let names = null;
  if (rows[0].some((c) => c !== "" && !Number.isFinite(Number(c)))) {
    names = rows[0];
    rows = rows.slice(1);
  }
  const t = targetColumn < 0 ? width + targetColumn : targetColumn;
  if (t < 0 || t >= width) {
    errors.push(`target column ${targetColumn} is outside the ${width} columns`);
    return empty;
  }
  const x = [];
  const y = [];
  rows.forEach((row, r) => {
    const line = r + (names ? 2 : 1);
    if (row.length !== width) {
      errors.push(`line ${line}: ${row.length} columns, expected ${width}`);
      return;
    }
    const nums = row.map(Number);
    const bad = nums.findIndex((v, c) => row[c] === "" || !Number.isFinite(v));
    if (bad >= 0) {
      errors.push(`line ${line}: "${row[bad]}" is not a number`);
      return;
    }
    if (x.length >= maxRows) return;
    y.push(nums[t]);
    x.push(nums.filter((_, c) => c !== t));
  });
  if (rows.length > maxRows) errors.push(`only the first ${maxRows} rows are used`);
  const featureNames = names ? names.filter((_, c) => c !== t) : Array.from({ length: width - 1 }, (_, c) => `x${c + 1}`);
  const targetName = names ? names[t] : "y";
  const integral = y.length > 0 && y.every((v) => Number.isInteger(v) && v >= 0);
  const distinct = new Set(y).size;
  const classes = integral ? Math.max(...y) + 1 : 0;
  const task = integral && classes <= 2 && distinct <= 2 ? "binary" : integral && classes <= 32 ? "multiclass" : "regression";
  return { x, y, featureNames, targetName, task, classes: task === "regression" ? 0 : Math.max(2, classes), errors };
}
