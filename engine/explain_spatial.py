"""How a conv2d or recurrent layer's gradients were made, with the numbers of one traced step.

Everything is read from a full :class:`~engine.trace.StepTrace` (parameters
*before* the update, activations and δ as the step saw them); what the trace
does not hold — ∂L/∂X of a conv layer, ∂L/∂A of any layer — is recomputed from
the trace's δ's and the parameters before the update. Every function returns a
plain dict whose fields are listed in ``docs/cnn-rnn.md``.

conv2d (``X: (N, C, H, W)``, kernel ``K: (F, C, kh, kw)``, stride ``s``, ``Xp`` the
zero-padded input, padding ``top``/``left``; see :mod:`engine.layers.conv`)::

    forward   z[n,f,y,x]   = Σ_{c,i,j} K[f,c,i,j] · Xp[n,c,y·s+i,x·s+j] + b[f],  a = f(z)
    kernel    ∂L/∂K[f,c,i,j] = Σ_{n,y,x} Xp[n,c,y·s+i,x·s+j] · δ[n,f,y,x]      (input ⋆ δ)
    input     ∂L/∂X[n,c,r,q] = Σ_{f,i,j} δ↑[n,f,r+top−kh+1+i, q+left−kw+1+j] · K[f,c,kh−1−i,kw−1−j]

where ``δ↑`` is δ with ``s − 1`` zeros between its entries and zeros outside: the
full convolution of δ with the flipped kernel.

rnn / lstm (``W_h: (U, g·U)``, window ``k`` = truncation length or ``T``; see
:mod:`engine.layers.recurrent`)::

    ∂L/∂h_t = direct_t + δ_{t+1}·W_hᵀ
    rnn:  δ_{t+1} = f′(z_{t+1}) ⊙ kept_{t+1}
    lstm: ∂L/∂c_{t+1} (kept) and kept_{t+1} give δ_i, δ_f, δ_g, δ_o of step t+1;
          ∂L/∂c_t = ∂L/∂h_t ⊙ o_t ⊙ (1 − tanh² c_t) + ∂L/∂c_{t+1}(kept) ⊙ f_{t+1}

``direct_t`` is the loss's own gradient on ``h_t`` (from the layer above; only at
``T`` for many-to-one), and ``kept_{t+1} = ∂L/∂h_{t+1} − dropped``: under truncation
the loss term of step ``t+k`` has used up its ``k`` steps at ``t+1`` and its share
(``dropped``) goes no further. Without truncation ``dropped`` is 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.explain import explain_parameter
from engine.layers import LSTM, AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D, SimpleRNN
from engine.layers.recurrent import Recurrent
from engine.network import Network
from engine.trace import StepTrace

__all__ = [
    "conv_input_gradient",
    "explain_conv_input",
    "explain_conv_kernel",
    "explain_conv_position",
    "explain_recurrent_step",
    "layer_output_gradient",
]

Arr = NDArray[Any]


# --- shared helpers --------------------------------------------------------------


def _before(net: Network, trace: StepTrace, layer: int, name: str) -> Arr:
    """A parameter of ``layer`` as the step saw it (before the optimizer's update)."""
    slot = net.slot(layer, name)
    return trace.theta_before[slot.offset : slot.stop].reshape(slot.shape)


def _check_index(what: str, value: int, size: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < size:
        raise ValueError(f"{what} must be an integer in [0, {size}), got {value!r}")


def _layer_of(net: Network, trace: StepTrace, layer: int) -> Any:
    _check_index("layer", layer, len(net.layers))
    if len(trace.layers) != len(net.layers) or "delta" not in trace.layers[-1]:
        raise ValueError("the trace is not a full trace of this network: step with trace='full'")
    return net.layers[layer]


def _layer_input(trace: StepTrace, layer: int) -> Arr:
    return trace.X if layer == 0 else trace.layers[layer - 1]["a"]


# --- conv2d ----------------------------------------------------------------------


def _conv(net: Network, trace: StepTrace, layer: int) -> Conv2D:
    conv = _layer_of(net, trace, layer)
    if not isinstance(conv, Conv2D):
        raise ValueError(f"layer {layer} is {conv.kind}, not conv2d")
    return conv


def _padded_input(conv: Conv2D, trace: StepTrace, layer: int) -> Arr:
    (top, bottom), (left, right) = conv.pads
    x = trace.layers[layer]["input"]
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def conv_input_gradient(net: Network, trace: StepTrace, layer: int) -> Arr:
    """∂L/∂X of conv layer ``layer``, ``(N, C, H, W)``: δ scattered back through the kernel.

    Each kernel offset ``(i, j)`` adds ``Σ_f δ[n,f,y,x]·K[f,c,i,j]`` at ``Xp[n,c,y·s+i,x·s+j]``;
    the padding's share is cut off at the end.
    """
    conv = _conv(net, trace, layer)
    delta = trace.layers[layer]["delta"]
    K = _before(net, trace, layer, "W")
    (top, _), (left, _) = conv.pads
    c, h, w = conv.input_shape
    ho, wo = conv.output_shape[1:]
    s = conv.stride
    dXp = np.zeros((delta.shape[0], c, h + sum(conv.pads[0]), w + sum(conv.pads[1])), delta.dtype)
    for i in range(conv.kh):
        for j in range(conv.kw):
            rows, cols = slice(i, i + (ho - 1) * s + 1, s), slice(j, j + (wo - 1) * s + 1, s)
            dXp[:, :, rows, cols] += np.einsum("nfyx,fc->ncyx", delta, K[:, :, i, j])
    return dXp[:, :, top : top + h, left : left + w]


def explain_conv_position(
    net: Network, trace: StepTrace, layer: int, sample: int, filt: int, row: int, col: int
) -> dict[str, Any]:
    """The forward dot product at feature-map position ``(row, col)`` of filter ``filt``, and its δ.

    Backward, this position adds ``patch·δ`` to ∂L/∂K[filt] and ``K[filt]·δ`` to ∂L/∂X under
    the kernel; :func:`explain_conv_kernel` and :func:`explain_conv_input` show the sums.
    """
    conv = _conv(net, trace, layer)
    arrays = trace.layers[layer]
    f_count, ho, wo = conv.output_shape
    _check_index("sample", sample, arrays["z"].shape[0])
    _check_index("filter", filt, f_count)
    _check_index("row", row, ho)
    _check_index("col", col, wo)
    (top, _), (left, _) = conv.pads
    h, w = conv.input_shape[1:]
    s, kh, kw = conv.stride, conv.kh, conv.kw
    rows = row * s + np.arange(kh) - top
    cols = col * s + np.arange(kw) - left
    patch = _padded_input(conv, trace, layer)[sample, :, row * s : row * s + kh, col * s : col * s + kw]
    kernel = _before(net, trace, layer, "W")[filt]
    products = patch * kernel
    z, a = arrays["z"][sample, filt, row, col], arrays["a"][sample, filt, row, col]
    delta = float(arrays["delta"][sample, filt, row, col])
    backward: dict[str, Any] = {
        "delta": delta,
        "kernel_grad_share": patch * delta,
        "input_grad_share": kernel * delta,
        "activation": conv.activation.name,
    }
    if layer == len(net.layers) - 1:
        backward["source"] = "loss"
        backward["formula"] = f"δ = ∂L/∂z from the loss ({net.loss.name})"
    else:
        backward["source"] = net.layers[layer + 1].kind
        backward["dA"] = float(layer_output_gradient(net, trace, layer)[sample, filt, row, col])
        backward["fprime"] = float(conv.activation.derivative(np.asarray(z), np.asarray(a)))
        backward["formula"] = "δ = ∂L/∂a · f′(z)"
    return {
        "kind": "conv_position",
        "layer": layer,
        "sample": sample,
        "filter": filt,
        "row": row,
        "col": col,
        "stride": s,
        "padding": conv.padding,
        "pads": [list(p) for p in conv.pads],
        "formula": "z = Σ_{c,i,j} K[f,c,i,j]·X[c, row·s+i−top, col·s+j−left] + b[f];  a = f(z)",
        "input_rows": np.where((rows >= 0) & (rows < h), rows, -1),
        "input_cols": np.where((cols >= 0) & (cols < w), cols, -1),
        "patch": patch,
        "kernel": kernel,
        "products": products,
        "sum": float(products.sum()),
        "bias": float(_before(net, trace, layer, "b")[filt]),
        "z": float(z),
        "a": float(a),
        "activation": conv.activation.name,
        "backward": backward,
    }


def explain_conv_kernel(
    net: Network, trace: StepTrace, layer: int, filt: int, channel: int, i: int, j: int
) -> dict[str, Any]:
    """∂L/∂K[filt, channel, i, j] as the input correlated with δ: one product per batch row and position.

    Adds to :func:`engine.explain.explain_parameter`'s fields (value, grad, regularization,
    clip_scale, update, optimizer) the ``inputs`` this kernel entry read, ``delta``, their ``products`` and
    ``grad_data = Σ products``; ``grad = (grad_data + grad_reg)·clip_scale``.
    """
    conv = _conv(net, trace, layer)
    f_count, c_count = conv.filters, conv.input_shape[0]
    _check_index("filter", filt, f_count)
    _check_index("channel", channel, c_count)
    _check_index("kernel row", i, conv.kh)
    _check_index("kernel col", j, conv.kw)
    ho, wo = conv.output_shape[1:]
    s = conv.stride
    inputs = _padded_input(conv, trace, layer)[
        :, channel, i : i + (ho - 1) * s + 1 : s, j : j + (wo - 1) * s + 1 : s
    ]
    delta = trace.layers[layer]["delta"][:, filt]
    products = inputs * delta
    result = explain_parameter(net, trace, layer, "W", (filt, channel, i, j))
    result.update(
        kind="conv_kernel",
        formula="∂L/∂K[f,c,i,j] = Σ_{n,y,x} X[n, c, y·s+i−top, x·s+j−left]·δ[n,f,y,x] + regularization term",
        inputs=inputs,
        delta=delta,
        products=products,
        grad_data=float(products.sum()),
        indices=trace.indices,
    )
    return result


def explain_conv_input(
    net: Network, trace: StepTrace, layer: int, sample: int, channel: int, row: int, col: int
) -> dict[str, Any]:
    """∂L/∂X[sample, channel, row, col] as δ convolved with the flipped kernel.

    ``delta_window[f, i, j]`` is the (stride-dilated, zero-padded) δ under the flipped
    kernel ``flipped_kernel[f, i, j] = K[f, channel, kh−1−i, kw−1−j]``; ``out_rows[i]`` /
    ``out_cols[j]`` name the feature-map row/column each window entry came from (−1: a
    zero between strides or outside the map). ``value = Σ products``.
    """
    conv = _conv(net, trace, layer)
    c_count, h, w = conv.input_shape
    delta = trace.layers[layer]["delta"]
    _check_index("sample", sample, delta.shape[0])
    _check_index("channel", channel, c_count)
    _check_index("row", row, h)
    _check_index("col", col, w)
    (top, _), (left, _) = conv.pads
    ho, wo = conv.output_shape[1:]
    s, kh, kw = conv.stride, conv.kh, conv.kw

    def sources(pos: int, k: int, size: int) -> Arr:
        # window entry m sits under kernel index k−1−m, so it saw output y with y·s + k−1−m = pos
        offsets = pos - (k - 1 - np.arange(k))
        y = offsets // s
        return np.where((offsets >= 0) & (offsets % s == 0) & (y < size), y, -1)

    out_rows, out_cols = sources(row + top, kh, ho), sources(col + left, kw, wo)
    window = np.zeros((conv.filters, kh, kw), delta.dtype)
    valid = (out_rows[:, None] >= 0) & (out_cols[None, :] >= 0)
    ri, ci = np.nonzero(valid)
    window[:, ri, ci] = delta[sample][:, out_rows[ri], out_cols[ci]]
    flipped = _before(net, trace, layer, "W")[:, channel, ::-1, ::-1]
    products = window * flipped
    return {
        "kind": "conv_input",
        "layer": layer,
        "sample": sample,
        "channel": channel,
        "row": row,
        "col": col,
        "stride": s,
        "formula": "∂L/∂X[n,c,r,q] = Σ_{f,i,j} δ↑[n,f,r+top−kh+1+i, q+left−kw+1+j]·K[f,c,kh−1−i,kw−1−j]",
        "out_rows": out_rows,
        "out_cols": out_cols,
        "delta_window": window,
        "flipped_kernel": flipped.copy(),
        "products": products,
        "value": float(products.sum()),
    }


# --- ∂L/∂A of any layer, from the layer above ------------------------------------


def layer_output_gradient(net: Network, trace: StepTrace, layer: int) -> Arr:
    """∂L/∂A of ``layer``'s output, ``(N, *output_shape)``, from the trace of the layers above it.

    The output layer has none to give (its δ comes from the loss): ``ValueError``.
    """
    below = _layer_of(net, trace, layer)
    if layer == len(net.layers) - 1:
        raise ValueError(f"layer {layer} is the output layer: its δ comes from the loss")
    n = trace.X.shape[0]
    above = net.layers[layer + 1]
    shape = (n, *below.output_shape)
    if isinstance(above, Dense):
        return (trace.layers[layer + 1]["delta"] @ _before(net, trace, layer + 1, "W").T).reshape(shape)
    if isinstance(above, Recurrent):
        return trace.layers[layer + 1]["delta"] @ _before(net, trace, layer + 1, "W_x").T
    if isinstance(above, Conv2D):
        return conv_input_gradient(net, trace, layer + 1)
    dA = layer_output_gradient(net, trace, layer + 1)
    if isinstance(above, Flatten):
        return dA.reshape(shape)
    dX = np.zeros(shape, dA.dtype)
    if isinstance(above, MaxPool2D):
        # the whole gradient of a window goes to the input that won it (ties: the first maximum)
        winners = trace.layers[layer + 1]["argmax"].reshape(n, shape[1], -1).astype(np.intp)
        nn, cc = np.indices(winners.shape[:2])
        np.add.at(
            dX.reshape(n, shape[1], -1), (nn[..., None], cc[..., None], winners), dA.reshape(winners.shape)
        )
        return dX
    if isinstance(above, AvgPool2D):
        k, s = above.size, above.stride
        ho, wo = above.output_shape[1:]
        for i in range(k):
            for j in range(k):
                dX[:, :, i : i + (ho - 1) * s + 1 : s, j : j + (wo - 1) * s + 1 : s] += dA / (k * k)
        return dX
    raise ValueError(f"cannot pass a gradient back through a {above.kind} layer")


# --- rnn / lstm ------------------------------------------------------------------


class _Steps:
    """One sample's recurrent values of a traced layer, for walking gradients back through time."""

    def __init__(self, net: Network, trace: StepTrace, layer: int, sample: int) -> None:
        rec = net.layers[layer]
        assert isinstance(rec, Recurrent)
        self.rec, self.arrays, self.u = rec, trace.layers[layer], rec.units
        self.W_h = _before(net, trace, layer, "W_h")
        a = self.arrays
        if isinstance(rec, LSTM):
            self.c = np.concatenate([np.zeros((1, self.u), a["c"].dtype), a["c"][sample]])  # c[t+1] = c_t
            self.gates = {g: a[g][sample] for g in "ifgo"}
        else:
            assert isinstance(rec, SimpleRNN)
            self.fprime = rec.activation.derivative(a["z"][sample], a["h"][sample])

    def lstm_dc(self, s: int, dh: Arr, dc_later: Arr) -> Arr:
        """∂L/∂c_s = ∂L/∂h_s ⊙ o_s ⊙ (1 − tanh² c_s) + the share that came back from step s+1."""
        tc = np.tanh(self.c[s + 1])
        dc: Arr = dh * self.gates["o"][s] * (1 - tc * tc) + dc_later
        return dc

    def lstm_delta(self, s: int, dh: Arr, dc: Arr) -> Arr:
        """δ = ∂L/∂z_s of the four gates (i, f, g, o) from ∂L/∂h_s and ∂L/∂c_s."""
        i, f, g, o = (self.gates[k][s] for k in "ifgo")
        tc = np.tanh(self.c[s + 1])
        return np.concatenate(
            [dc * g * i * (1 - i), dc * self.c[s] * f * (1 - f), dc * i * (1 - g * g), dh * tc * o * (1 - o)]
        )

    def term_share(self, term: int, direct: Arr, at: int) -> tuple[Arr, Arr]:
        """Loss term ``term``'s own ∂L/∂h_at and ∂L/∂c_at after walking back from ``term`` to ``at``."""
        dh, dc_later = direct, np.zeros_like(direct)
        for s in range(term, at, -1):
            if isinstance(self.rec, LSTM):
                dc = self.lstm_dc(s, dh, dc_later)
                delta = self.lstm_delta(s, dh, dc)
                dc_later = dc * self.gates["f"][s]
            else:
                delta = dh * self.fprime[s]
            dh = delta @ self.W_h.T
        dc_at = self.lstm_dc(at, dh, dc_later) if isinstance(self.rec, LSTM) else np.zeros_like(dh)
        return dh, dc_at


def explain_recurrent_step(net: Network, trace: StepTrace, layer: int, sample: int, t: int) -> dict[str, Any]:
    """How ∂L/∂h_t (``t`` counts steps from 0) of one sample was built from step t+1, with numbers.

    Also this step's share of ∂L/∂W_h (batch and sample) with its norm, the norms of every
    step's share (the RNN view's bar chart), and for lstm the gates and ∂L/∂c_t.
    """
    rec = _layer_of(net, trace, layer)
    if not isinstance(rec, Recurrent):
        raise ValueError(f"layer {layer} is {rec.kind}, not rnn or lstm")
    arrays = trace.layers[layer]
    T, k = rec.steps, rec.window
    _check_index("sample", sample, arrays["h"].shape[0])
    _check_index("t", t, T)
    steps = _Steps(net, trace, layer, sample)
    out_grad = layer_output_gradient(net, trace, layer)[sample]
    direct_all = out_grad if rec.return_sequences else np.zeros((T, rec.units), out_grad.dtype)
    if not rec.return_sequences:
        direct_all[T - 1] = out_grad
    dh_all = arrays["dh"][sample]
    zeros = np.zeros(rec.units, dh_all.dtype)
    dh_next = dh_all[t + 1] if t + 1 < T else zeros
    # the loss term of step t+k has used up its k steps at t+1: its share goes no further (truncation)
    expiring = t + k
    has_term = expiring < T and (rec.return_sequences or expiring == T - 1)
    dropped_h, dropped_c = (
        steps.term_share(expiring, direct_all[expiring], t + 1) if has_term else (zeros, zeros)
    )
    kept = dh_next - dropped_h
    h = arrays["h"][sample]
    h_prev = h[t - 1] if t else zeros
    delta_t = arrays["delta"][sample, t]
    per_step = arrays["grad_W_h_per_step"]
    result: dict[str, Any] = {
        "kind": f"{rec.kind}_step",
        "layer": layer,
        "sample": sample,
        "t": t,
        "steps": T,
        "units": rec.units,
        "truncate": rec.truncate,
        "window": k,
        "return_sequences": rec.return_sequences,
        "x": _layer_input(trace, layer)[sample, t],
        "h_prev": h_prev,
        "h": h[t],
        "z": arrays["z"][sample, t],
        "dh": dh_all[t],
        "direct": direct_all[t],
        "dh_next": dh_next,
        "dropped": dropped_h,
        "W_h": steps.W_h,
        "delta": delta_t,
        "grad_W_h_step": per_step[t],
        "grad_W_h_step_norm": float(arrays["grad_W_h_step_norm"][t]),
        "grad_W_h_step_norms": arrays["grad_W_h_step_norm"],
        "sample_grad_W_h_step": np.outer(h_prev, delta_t),
    }
    if isinstance(rec, LSTM):
        dc_all = arrays["dc"][sample]
        dc_next = dc_all[t + 1] if t + 1 < T else zeros
        dc_kept = dc_next - dropped_c
        last = t + 1 == T
        delta_next = np.zeros(4 * rec.units, dh_all.dtype) if last else steps.lstm_delta(t + 1, kept, dc_kept)
        f_next = zeros if last else steps.gates["f"][t + 1]
        carried = delta_next @ steps.W_h.T
        result.update(
            formula=(
                "∂L/∂h_t = direct_t + δ_{t+1}·W_hᵀ;  δ_{t+1} = [∂L/∂c⊙g⊙i(1−i), ∂L/∂c⊙c_t⊙f(1−f), "
                "∂L/∂c⊙i⊙(1−g²), ∂L/∂h⊙tanh(c)⊙o(1−o)] of step t+1;  "
                "∂L/∂c_t = ∂L/∂h_t⊙o_t⊙(1−tanh²c_t) + ∂L/∂c_{t+1}⊙f_{t+1}"
            ),
            gates={key: steps.gates[key][t] for key in "ifgo"},
            c_prev=steps.c[t],
            c=steps.c[t + 1],
            tanh_c=np.tanh(steps.c[t + 1]),
            dc=dc_all[t],
            dc_next=dc_next,
            dc_dropped=dropped_c,
            f_next=f_next,
            delta_next=delta_next,
            carried=carried,
            dh_built=direct_all[t] + carried,
            dc_built=steps.lstm_dc(t, dh_all[t], dc_kept * f_next),
        )
        return result
    assert isinstance(rec, SimpleRNN)
    fprime_next = steps.fprime[t + 1] if t + 1 < T else zeros
    delta_next = fprime_next * kept
    carried = delta_next @ steps.W_h.T
    result.update(
        formula="∂L/∂h_t = direct_t + (f′(z_{t+1}) ⊙ (∂L/∂h_{t+1} − dropped))·W_hᵀ",
        activation=rec.activation.name,
        fprime_next=fprime_next,
        delta_next=delta_next,
        carried=carried,
        dh_built=direct_all[t] + carried,
    )
    return result
