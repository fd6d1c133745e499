// Frames arrive from the server at about the display's rate, but not in step with it:
// when two land between the same two animation frames, drawing only the latest would
// skip one, and the interval after shows nothing new (60 frames a second drew as ~56).
// The pacer hands on one training frame per animation frame, so each is drawn in turn.
// After an animation frame it holds at most `hold` frames back (1: at most one frame,
// ~16 ms, of extra latency, and only after two arrived together); a frame beyond that is
// applied at once, undrawn. Every other message first hands on what is held, so messages
// are applied in arrival order.

/**
 * @param {(header, arrays) => void} apply  folds one binary message into the state
 * @param {{hold?: number}} options  how many training frames may wait past an animation frame
 */
export function createFramePacer(apply, { hold = 1 } = {}) {
  const held = [];
  const flush = () => {
    while (held.length) apply(...held.shift());
  };
  return {
    /** A binary message has arrived. */
    push(header, arrays) {
      if (header.type !== "frame") {
        flush();
        apply(header, arrays);
        return;
      }
      held.push([header, arrays]);
      while (held.length > hold + 1) apply(...held.shift());
    },
    /** An animation frame: apply the oldest held frame (if any). */
    tick() {
      if (held.length) apply(...held.shift());
    },
    /** Apply everything held (before a text message, or when pacing stops). */
    flush,
    /** Forget what is held (the page switched session). */
    clear() {
      held.length = 0;
    },
    get held() {
      return held.length;
    },
  };
}
