// Keyboard: space play/pause, → step (or the animation's next phase), r reset, Esc closes.
// While a past step is shown, ← / → move it by one step (→ at the live end steps as usual).
// Keys typed into a field, or space / Enter on a focused button, are left alone.

import { nextPhase } from "./animation.js";

/** @param {{state, actions, travel, closeExplain(): void}} ctx */
export function installKeyboard({ state, actions, travel, closeExplain }) {
  // A mouse click leaves focus on the button (or checkbox, or switch) it hit, and Space on a
  // focused button clicks it: after clicking "+ layer", Space added another layer instead of
  // playing. So a mouse click drops that focus first (capture phase: a handler that moves focus
  // on purpose, e.g. into a dialog, still does). Keyboard activation (detail 0) keeps it, and
  // so do dialogs, whose buttons are meant to be reached by keyboard.
  document.addEventListener(
    "click",
    (ev) => {
      const t = ev.target instanceof Element ? ev.target.closest("button, input[type=checkbox], input[type=radio], [role=radio], [role=switch]") : null;
      if (t && ev.detail > 0 && !t.closest("dialog") && t instanceof HTMLElement) t.blur();
    },
    true,
  );

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    if (t instanceof HTMLElement && (t.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(t.tagName))) return;
    if (t instanceof HTMLElement && t.tagName === "BUTTON" && (ev.key === " " || ev.key === "Enter")) return;
    if (ev.key === " ") {
      ev.preventDefault();
      state.playing ? actions.pause() : actions.play();
    } else if (ev.key === "ArrowRight") {
      ev.preventDefault();
      if (state.ui.anim?.manual) {
        nextPhase(state.ui.anim, performance.now());
        state.dirty = true;
      } else if (travel.viewing()) travel.stepBy(1);
      else actions.step();
    } else if (ev.key === "ArrowLeft") {
      ev.preventDefault();
      if (!state.playing || travel.viewing()) travel.stepBy(-1);
    } else if (ev.key === "r" || ev.key === "R") {
      actions.reset();
    } else if (ev.key === "Escape") {
      if (!travel.escape()) closeExplain();
    }
  });
}
