// The layer headers over the network canvas: a title per column and, for hidden layers, −/+
// neurons and the activation. How much fits depends on the column spacing (layout.js
// headMode): "wide" side by side, "narrow" stacked, "tight" a short title that opens the
// controls in a small menu (and every other header one row lower when labels need two
// columns' room). DOM, positioned over the canvas; rebuilt only when its content changes.

/**
 * @param {HTMLElement} root  the headers' container
 * @param {{changeUnits(k, d), setActivation(k, act), canEdit(): boolean}} actions
 */
export function createLayerHeads(root, actions) {
  let layout = null;
  let fit = { mode: "wide", width: 0 };
  let scale = 1;
  let key = "";
  let positions = ""; // the headers' (rounded) positions
  let openHead = -1; // the tight header whose menu is open

  // A tight header's menu closes on any click outside the headers, and on Escape.
  const closeMenu = () => {
    openHead = -1;
    for (const head of root.children) {
      head.classList.remove("open");
      head.firstChild?.setAttribute?.("aria-expanded", "false");
    }
  };
  document.addEventListener("click", (ev) => {
    if (openHead >= 0 && !root.contains(ev.target)) closeMenu();
  });
  document.addEventListener("keydown", (ev) => {
    if (openHead >= 0 && ev.key === "Escape") closeMenu();
  });

  // Headers are centred on their column, but the input's starts at its nodes' left edge and the
  // output's ends at their right edge: "softmax · cross_entropy" is wider than the canvas margin.
  function headLeft(c) {
    const col = layout.columns[c];
    if (c === 0) return col.x;
    if (c === layout.columns.length - 1) return col.x + layout.nodeSize;
    return col.cx;
  }

  function render(state, options, layout_, fit_, scale_) {
    layout = layout_;
    fit = fit_;
    scale = scale_;
    const width = `${fit.width}px`;
    if (root.style.getPropertyValue("--head-w") !== width) root.style.setProperty("--head-w", width); // render runs every frame
    const arch = state.architecture;
    const acts = options?.activations || ["linear", "relu", "leaky_relu", "tanh", "sigmoid"];
    const wanted = JSON.stringify([arch.layers.map((l) => [l.output_shape, l.activation]), acts, actions.canEdit(), state.ui.presenter, fit.mode, fit.width >= 30, fit.width >= 46, fit.width < 24 * scale]);
    const xs = layout.columns.map((c) => Math.round(c.cx)).join();
    if (wanted === key && root.children.length === layout.columns.length) {
      // Same headers, moved (the canvas changed width): move them rather than build new ones.
      // Replaced <select>s can outlive their removal a while (Chromium keeps the form controls
      // of the page's history entry), so rebuilding only for a move would hold extra nodes.
      if (xs !== positions) [...root.children].forEach((head, c) => (head.style.left = `${headLeft(c)}px`));
      positions = xs;
      return;
    }
    key = wanted;
    positions = xs;
    root.replaceChildren();
    const editable = actions.canEdit();
    const nLayers = arch.layers.length;
    layout.columns.forEach((col, c) => {
      const head = document.createElement("div");
      // Very tight columns (20+ layers): every other header one row lower, so labels have two columns' room.
      head.className = `layer-head ${fit.mode}${fit.mode === "tight" && fit.width < 24 * scale && c % 2 ? " low" : ""}`;
      head.style.left = `${headLeft(c)}px`;
      if (c === 0) head.classList.add("first");
      if (c === nLayers) head.classList.add("last");
      const long = c === 0 ? `Input · ${col.count}` : c === nLayers ? `Output · ${col.count}` : `Layer ${c} · ${col.count}`;
      const short = c === 0 ? `In · ${col.count}` : c === nLayers ? `Out · ${col.count}` : `L${c} · ${col.count}`;
      const tiny = c === 0 ? "In" : c === nLayers ? "Out" : String(c); // a tight header too narrow for `short`
      const hidden = c > 0 && c < nLayers;
      let title;
      if (fit.mode === "tight" && hidden) {
        // Too narrow for the controls: the title opens them in a small menu.
        title = document.createElement("button");
        title.type = "button";
        title.textContent = fit.width >= 46 ? `L${c}·${col.count}` : fit.width >= 30 ? `L${c}` : String(c);
        title.title = `${long} · ${arch.layers[c - 1].activation}`;
        title.setAttribute("aria-label", `Layer ${c}: ${col.count} units, ${arch.layers[c - 1].activation}; change them`);
        title.setAttribute("aria-expanded", String(openHead === c));
        title.addEventListener("click", (ev) => {
          ev.stopPropagation();
          openHead = openHead === c ? -1 : c;
          [...root.children].forEach((h, k) => {
            h.classList.toggle("open", k === openHead);
            h.firstChild.setAttribute?.("aria-expanded", String(k === openHead));
          });
        });
        head.classList.toggle("open", openHead === c);
      } else {
        title = document.createElement("span");
        title.textContent = fit.mode === "wide" ? long : fit.mode === "tight" ? (fit.width >= 46 ? short.replace(" · ", "·") : tiny) : short;
        title.title = long;
      }
      title.classList.add("title");
      head.append(title);
      if (hidden) {
        const units = document.createElement("div");
        units.className = "units";
        const minus = document.createElement("button");
        minus.type = "button";
        minus.textContent = "−";
        minus.setAttribute("aria-label", `Remove a neuron from layer ${c}`);
        minus.disabled = !editable || col.count <= 1;
        minus.title = "Remove a neuron (Shift: 8)";
        minus.addEventListener("click", (ev) => actions.changeUnits(c - 1, ev.shiftKey ? -8 : -1));
        const plus = document.createElement("button");
        plus.type = "button";
        plus.textContent = "+";
        plus.setAttribute("aria-label", `Add a neuron to layer ${c}`);
        plus.disabled = !editable;
        plus.title = "Add a neuron (Shift: 8)";
        plus.addEventListener("click", (ev) => actions.changeUnits(c - 1, ev.shiftKey ? 8 : 1));
        const sel = document.createElement("select");
        sel.setAttribute("aria-label", `Activation of layer ${c}`);
        sel.disabled = !editable;
        for (const a of acts) sel.add(new Option(a, a, false, a === arch.layers[c - 1].activation));
        sel.addEventListener("change", () => actions.setActivation(c - 1, sel.value));
        units.append(minus, sel, plus);
        head.append(units);
      } else if (fit.mode === "wide") {
        // the output's activation and loss (also in the Problem menu), the input's role
        const act = document.createElement("span");
        act.textContent = c === nLayers ? `${arch.layers[c - 1].activation} · ${arch.loss}` : "features";
        head.append(act);
      }
      root.append(head);
    });
  }

  return {
    render,
    /** No headers (the CNN / RNN views draw their own). */
    clear() {
      root.replaceChildren();
      key = "";
    },
    /** Build anew on the next render (presenter mode, a new session). */
    reset() {
      key = "";
    },
  };
}
