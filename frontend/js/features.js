// The playground's input features of a 2-D point, the same as the engine's
// (engine/datasets/features.py), for predicting over the plane on the page. Pure.

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
