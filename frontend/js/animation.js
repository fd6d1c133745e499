// The timeline of the one-sample animation: the forward pass column by column,
// the loss, the backward pass layer by layer, then the update. Pure: time is
// passed in, so it can be tested and single-stepped.

/**
 * @param {number} layers  model layers (columns 1 … layers; column 0 is the input)
 * @param {{phaseMs?: number, manual?: boolean, now?: number, trace?: object}} options
 */
export function createAnimation(layers, { phaseMs = 700, manual = false, now = 0, trace = null } = {}) {
  const phases = [];
  for (let c = 0; c <= layers; c++) phases.push({ dir: "forward", column: c });
  phases.push({ dir: "loss", column: layers });
  for (let c = layers; c >= 1; c--) phases.push({ dir: "backward", column: c });
  phases.push({ dir: "update", column: null });
  return { phases, index: 0, start: now, phaseMs, manual, trace, done: false };
}

/** Advance by the clock (automatic mode); returns the current phase and its progress 0…1. */
export function animationAt(anim, now) {
  if (!anim.manual) {
    const elapsed = Math.max(0, now - anim.start);
    anim.index = Math.min(anim.phases.length - 1, Math.floor(elapsed / anim.phaseMs));
    const progress = Math.min(1, (elapsed - anim.index * anim.phaseMs) / anim.phaseMs);
    anim.done = elapsed >= anim.phases.length * anim.phaseMs + anim.phaseMs; // linger one phase
    return { ...anim.phases[anim.index], index: anim.index, progress: anim.index === anim.phases.length - 1 ? 1 : progress };
  }
  const progress = Math.min(1, Math.max(0, (now - anim.start) / anim.phaseMs));
  return { ...anim.phases[anim.index], index: anim.index, progress };
}

/** Manual mode: go to the next phase (returns false after the last). */
export function nextPhase(anim, now) {
  if (anim.index >= anim.phases.length - 1) {
    anim.done = true;
    return false;
  }
  anim.index += 1;
  anim.start = now;
  return true;
}

/** Whether column c already shows its forward values (a) / backward values (δ) at this phase. */
export function columnState(anim, c) {
  const cur = anim.phases[anim.index];
  const forwardDone = cur.dir !== "forward" || c <= cur.column;
  const backwardDone = cur.dir === "update" || (cur.dir === "backward" && c >= cur.column);
  return { forward: forwardDone, backward: backwardDone, active: cur.column === c && cur.dir !== "loss" };
}

/** A sentence for the caption under the network at this phase. */
export function describePhase(phase, layers, activations = []) {
  const L = layers;
  switch (phase.dir) {
    case "forward":
      if (phase.column === 0) return "Forward pass: the sample's features enter the network.";
      return `Forward: layer ${phase.column} computes z = a·W + b, then a = ${activations[phase.column - 1] || "f"}(z).`;
    case "loss":
      return "Loss: compare the output with the target; its derivative gives δ at the output layer.";
    case "backward":
      if (phase.column === L) return `Backward: δ of the output layer (layer ${L}) comes from the loss.`;
      return `Backward: layer ${phase.column} gets its blame δ = f′(z) · Σ W_next · δ_next from layer ${phase.column + 1}.`;
    case "update":
      return "Update: every weight moves by Δw = −lr · ∂L/∂w (as the optimizer says); ∂L/∂w = a_in · δ_out.";
    default:
      return "";
  }
}
