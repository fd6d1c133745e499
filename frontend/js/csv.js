// Parse pasted tabular data into inline session data. Pure.
//
// Accepts comma, semicolon, tab or whitespace separated columns, an optional
// header row, blank lines and "#" comments. The last column is the target
// (unless `targetColumn` says otherwise); the others are features.

function splitLine(line, delimiter) {
  if (delimiter === "ws") return line.trim().split(/\s+/);
  return line.split(delimiter).map((c) => c.trim().replace(/^"(.*)"$/, "$1"));
}

// A cell that is meant as a number, finite or not ("1e400", "NaN", "-inf"): a header
// holds none of these; in a data row the non-finite ones are errors to report.
const NUMBER_LIKE = /^[+-]?((\d+\.?\d*|\.\d+)(e[+-]?\d+)?|nan|inf|infinity)$/i;

function isHeader(row) {
  return row.some((c) => c !== "") && row.every((c) => c === "" || !NUMBER_LIKE.test(c));
}

function guessDelimiter(lines) {
  // The first of tab, semicolon, comma that the first line uses; else whitespace.
  for (const d of ["\t", ";", ","]) if (lines[0].includes(d)) return d;
  return "ws";
}

/**
 * Rows in error are left out and reported, one message each in `errors` ("line 5: …",
 * numbered as pasted); `skipped` counts them. `notes` says what was cut without being wrong.
 * @param {string} text
 * @param {{targetColumn?: number, maxRows?: number}} [options]
 * @returns {{x: number[][], y: number[], featureNames: string[], targetName: string,
 *            task: "binary"|"multiclass"|"regression", classes: number, errors: string[],
 *            skipped: number, notes: string[]}}
 */
export function parseCSV(text, { targetColumn = -1, maxRows = 20000 } = {}) {
  const errors = [];
  const notes = [];
  // keep each line's number as pasted: blank lines and comments count for the messages
  const lines = [];
  text.split(/\r?\n/).forEach((l, i) => {
    const bare = l.replace(/#.*$/, "");
    if (bare.trim() !== "") lines.push({ n: i + 1, text: bare });
  });
  const empty = { x: [], y: [], featureNames: [], targetName: "y", task: "regression", classes: 0, errors, skipped: 0, notes };
  if (!lines.length) {
    errors.push("no data: paste rows like 0.5, -1.2, 1");
    return empty;
  }
  const delimiter = guessDelimiter(lines.map((l) => l.text));
  const rows = lines.map((l) => splitLine(l.text, delimiter));
  const width = rows[0].length;
  if (width < 2) {
    errors.push("each row needs at least two columns: features, then the target");
    return empty;
  }
  let names = null;
  let first = 0;
  if (isHeader(rows[0])) {
    names = rows[0];
    first = 1;
  }
  const t = targetColumn < 0 ? width + targetColumn : targetColumn;
  if (t < 0 || t >= width) {
    errors.push(`target column ${targetColumn} is outside the ${width} columns`);
    return empty;
  }
  const x = [];
  const y = [];
  let skipped = 0;
  let cut = 0;
  for (let r = first; r < rows.length; r++) {
    const row = rows[r];
    const line = lines[r].n;
    let why = null;
    if (row.length !== width) why = `${row.length} columns, expected ${width}`;
    const nums = row.map(Number);
    const bad = why ? -1 : nums.findIndex((v, c) => row[c] === "" || !Number.isFinite(v));
    if (bad >= 0) {
      const cell = row[bad];
      why = cell === "" ? "an empty cell" : NUMBER_LIKE.test(cell) ? `"${cell}" is not a finite number` : `"${cell}" is not a number`;
    }
    if (why) {
      errors.push(`line ${line}: ${why}`);
      skipped++;
    } else if (x.length >= maxRows) {
      cut++;
    } else {
      y.push(nums[t]);
      x.push(nums.filter((_, c) => c !== t));
    }
  }
  if (cut) notes.push(`only the first ${maxRows} rows are used (${cut} more left out)`);
  if (!x.length && !skipped) errors.push("no data rows, only a header");
  const featureNames = names ? names.filter((_, c) => c !== t) : Array.from({ length: width - 1 }, (_, c) => `x${c + 1}`);
  const targetName = names ? names[t] : "y";
  const integral = y.length > 0 && y.every((v) => Number.isInteger(v) && v >= 0);
  const distinct = new Set(y).size;
  let top = 0;
  for (const v of y) top = Math.max(top, v); // no spread: 20000 arguments is near engines' limits
  const classes = integral ? top + 1 : 0;
  const task = integral && classes <= 2 && distinct <= 2 ? "binary" : integral && classes <= 32 ? "multiclass" : "regression";
  return { x, y, featureNames, targetName, task, classes: task === "regression" ? 0 : Math.max(2, classes), errors, skipped, notes };
}
