// The playground's input features of a 2-D point, the same as the engine's
// (engine/datasets/features.py), for predicting over the plane on the page, and
// which input space (a plane, a line) a data set can be drawn over. Pure.

export const FEATURES = {
  x1: (x1) => x1,
  x2: (x1, x2) => x2,
  "x1²": (x1) => x1 * x1,
  "x2²": (x1, x2) => x2 * x2,
  "x1·x2": (x1, x2) => x1 * x2,
  "sin(x1)": (x1) => Math.sin(x1),
  "sin(x2)": (x1, x2) => Math.sin(x2),
};

export const FEATURE_NAMES = Object.keys(FEATURES);

/** Rows of an r×r grid over [lo, hi]² (row 0 = top, x2 high), as features. */
export function gridInputs(domain, r, featureNames) {
  const [lo, hi] = domain;
  const fns = (featureNames && featureNames.length ? featureNames : ["x1", "x2"]).map((f) => FEATURES[f]);
  const rows = [];
  for (let i = 0; i < r; i++) {
    const x2 = hi - ((hi - lo) * i) / (r - 1);
    for (let j = 0; j < r; j++) {
      const x1 = lo + ((hi - lo) * j) / (r - 1);
      rows.push(fns.map((f) => f(x1, x2)));
    }
  }
  return rows;
}

/** n evenly spaced one-column rows over [lo, hi], left to right. */
export function lineInputs(domain, n) {
  const [lo, hi] = domain;
  return Array.from({ length: n }, (_, i) => [lo + ((hi - lo) * i) / (n - 1)]);
}

/**
 * What the data's inputs can be drawn over: "plane" (points x1, x2), "line" (one x),
 * or null (images, sequences, wide tables). Inline data (kind "table") is told by its
 * points; once they are all cleared, by its features or the network's input width.
 * @param {{kind, domain, pointsTrain?, pointsTest?, featureNames?}|null} data  state.data
 * @param {{input_shape: number[]}|null} [architecture]
 * @returns {"plane"|"line"|null}
 */
export function inputSpace(data, architecture) {
  if (!data || !data.domain) return null;
  if (data.kind === "plane") return "plane";
  if (data.kind === "line") return "line";
  if (data.kind !== "table") return null;
  const p = data.pointsTrain?.[0] || data.pointsTest?.[0];
  let dims = p ? p.length : 0;
  if (!dims && data.featureNames?.length) dims = 2; // features are made from (x1, x2)
  if (!dims && architecture?.input_shape?.length === 1) dims = architecture.input_shape[0];
  return dims === 2 ? "plane" : dims === 1 ? "line" : null;
}
