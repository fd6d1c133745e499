// REST calls of the CNN / RNN views (server/spatial.py), one function per route, through
// the page's Api client (js/api.js). Reading routes: no control token.

/**
 * GET …/explain/conv | kernel | input | recurrent for a view target (see views/spatial.js);
 * `step`: a recorded past step (time travel), or null for the last traced one.
 */
export function explainSpatial(api, id, target, sample, step = null) {
  const q = new URLSearchParams({ layer: String(target.layer) });
  if (step !== null && step !== undefined) q.set("step", String(step));
  let route;
  if (target.kind === "conv") {
    route = "conv";
    for (const [k, v] of [["sample", sample], ["filter", target.filter], ["row", target.row], ["col", target.col]]) q.set(k, String(v));
  } else if (target.kind === "kernel") {
    route = "kernel";
    for (const [k, v] of [["filter", target.filter], ["channel", target.channel], ["i", target.i], ["j", target.j]]) q.set(k, String(v));
  } else if (target.kind === "input") {
    route = "input";
    for (const [k, v] of [["sample", sample], ["channel", target.channel], ["row", target.row], ["col", target.col]]) q.set(k, String(v));
  } else {
    route = "recurrent";
    q.set("sample", String(sample));
    q.set("t", String(target.t));
  }
  return api.request("GET", `/api/sessions/${id}/explain/${route}?${q}`);
}

/** GET …/evaluation: confusion matrix, mistakes, sequences of a split. */
export function evaluation(api, id, { split = "test", maxExamples = 24 } = {}) {
  return api.request("GET", `/api/sessions/${id}/evaluation?split=${split}&max_examples=${maxExamples}`);
}

/** GET …/input-gradient: ∂L/∂X of the last traced batch (one row when `sample` is given). */
export function inputGradient(api, id, sample) {
  return api.request("GET", `/api/sessions/${id}/input-gradient${sample === undefined ? "" : `?sample=${sample}`}`);
}
