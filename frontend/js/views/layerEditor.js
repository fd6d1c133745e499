// The layer bar of the CNN / RNN views: one chip per layer (click to edit its type,
// filters / kernel / stride / padding, pool size, units, return_sequences, truncation), a
// "+" between chips to insert a layer there, and remove. Every change rebuilds the session.

import { layerFields, fieldDefault, layerLabel, setLayerField, setLayerType, insertLayer, removeLayerAt, LAYER_TYPES } from "../spatialModel.js";

/**
 * @param {HTMLElement} root
 * @param {{setConfig(fn), canEdit(): boolean, ui(): object, setUi(patch), options(): object}} hooks
 */
export function createLayerEditor(root, hooks) {
  root.replaceChildren();
  const bar = document.createElement("div");
  bar.className = "sx-arch";
  bar.setAttribute("role", "group");
  bar.setAttribute("aria-label", "Layers of the network; click one to edit it");
  bar.dataset.testid = "layer-bar";
  const editor = document.createElement("div");
  editor.className = "sx-editor";
  editor.hidden = true;
  root.append(bar, editor);
  let key = "";

  const edit = (fn) => hooks.canEdit() && hooks.setConfig(fn);

  function chip(text, cls) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `sx-chip ${cls || ""}`;
    b.textContent = text;
    return b;
  }

  function render(state) {
    const layers = state.config?.model?.layers || [];
    const arch = state.architecture;
    const selected = hooks.ui().editLayer;
    const k = JSON.stringify([layers, arch?.input_shape, selected, hooks.canEdit()]);
    if (k === key) return;
    key = k;
    bar.replaceChildren();
    const input = document.createElement("span");
    input.className = "sx-chip input";
    input.textContent = `input ${(arch?.input_shape || []).join("×")}`;
    bar.append(input);
    const editable = hooks.canEdit();
    layers.forEach((layer, i) => {
      const last = i === layers.length - 1;
      if (editable) {
        const plus = chip("+", "add");
        plus.title = "Insert a layer here";
        plus.setAttribute("aria-label", `Insert a layer before layer ${i + 1}`);
        plus.addEventListener("click", () => {
          const type = defaultInsertType(layers, i);
          hooks.setUi({ editLayer: i });
          edit((c) => insertLayer(c, i, type));
        });
        bar.append(plus);
      } else bar.append(arrow());
      const shape = arch?.layers?.[i]?.output_shape;
      const b = chip(`${layerLabel(layer)}${shape ? `  → ${shape.join("×")}` : ""}`, last ? "output" : "");
      b.setAttribute("aria-pressed", String(selected === i));
      b.dataset.layer = String(i);
      b.title = last ? "The output layer: its units fit the data; change its pairing under Problem" : "Edit this layer";
      b.addEventListener("click", () => hooks.setUi({ editLayer: selected === i ? null : i }));
      bar.append(b);
    });
    renderEditor(layers, selected, editable);
  }

  function renderEditor(layers, k, editable) {
    editor.replaceChildren();
    const layer = layers[k];
    editor.hidden = !layer;
    if (!layer) return;
    const last = k === layers.length - 1;
    const acts = hooks.options()?.activations || undefined;
    const title = document.createElement("strong");
    title.textContent = `Layer ${k + 1}`;
    editor.append(title);
    if (!last) {
      const type = select(LAYER_TYPES, layer.type, "type", !editable);
      type.input.addEventListener("change", () => edit((c) => setLayerType(c, k, type.input.value)));
      editor.append(type.label);
    }
    // the output layer's fields follow the data and the Problem menu
    for (const f of last ? [] : layerFields(layer.type, acts)) {
      const value = layer[f.name] ?? fieldDefault(layer.type, f.name);
      let control;
      if (f.kind === "select") {
        control = select(f.options, value, f.name, !editable);
        control.input.addEventListener("change", () => edit((c) => setLayerField(c, k, f.name, control.input.value)));
      } else if (f.kind === "bool") {
        control = checkbox(f.name, !!value, !editable);
        control.input.addEventListener("change", () => edit((c) => setLayerField(c, k, f.name, control.input.checked || null)));
      } else {
        control = number(f.name, value, f, !editable);
        control.input.addEventListener("change", () => {
          const raw = control.input.value.trim();
          const v = raw === "" ? null : Number(raw);
          if (v !== null && !Number.isFinite(v)) return;
          edit((c) => setLayerField(c, k, f.name, f.kind === "number" || v === null ? v : Math.round(v)));
        });
      }
      editor.append(control.label);
    }
    if (!last && editable) {
      const rm = document.createElement("button");
      rm.type = "button";
      rm.className = "btn ghost small";
      rm.textContent = "Remove layer";
      rm.addEventListener("click", () => {
        hooks.setUi({ editLayer: null });
        edit((c) => removeLayerAt(c, k));
      });
      editor.append(rm);
    }
    const hint = document.createElement("span");
    hint.className = "hint";
    hint.textContent = last ? "The output layer fits the data: units follow the classes, activation and loss the Problem menu." : "Each change rebuilds the network (same seed).";
    editor.append(hint);
  }

  return {
    update: render,
    reset() {
      key = "";
    },
  };
}

/** The layer type "+" inserts at position k: conv before a flatten, recurrent before the first recurrent or dense. */
export function defaultInsertType(layers, k) {
  const after = layers.slice(k);
  if (layers.some((l) => l.type === "rnn" || l.type === "lstm")) return after.some((l) => l.type === "rnn" || l.type === "lstm") ? "lstm" : "dense";
  if (after.some((l) => l.type === "flatten")) return "conv2d";
  return "dense";
}

function arrow() {
  const s = document.createElement("span");
  s.className = "sx-arrow";
  s.textContent = "→";
  return s;
}

function field(name, input) {
  const label = document.createElement("label");
  label.className = "field compact";
  const span = document.createElement("span");
  span.textContent = name.replace("_", " ");
  label.append(span, input);
  input.setAttribute("aria-label", name);
  return { label, input };
}

function select(options, value, name, disabled) {
  const s = document.createElement("select");
  for (const o of options) s.add(new Option(o, o, false, o === value));
  s.disabled = disabled;
  return field(name, s);
}

function number(name, value, spec, disabled) {
  const i = document.createElement("input");
  i.type = "number";
  i.step = spec.kind === "number" ? "any" : "1";
  if (spec.min !== undefined) i.min = String(spec.min);
  if (spec.max !== undefined) i.max = String(spec.max);
  i.value = value === null || value === undefined ? "" : String(value);
  if (spec.kind === "truncate") i.placeholder = "full";
  i.disabled = disabled;
  return field(name === "truncate" ? "truncate (k)" : name, i);
}

function checkbox(name, checked, disabled) {
  const i = document.createElement("input");
  i.type = "checkbox";
  i.checked = checked;
  i.disabled = disabled;
  const label = document.createElement("label");
  label.className = "check compact";
  label.append(i, document.createTextNode(name.replace("_", " ")));
  i.setAttribute("aria-label", name);
  return { label, input: i };
}
