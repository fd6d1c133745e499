"""How one gradient was made: the chain-rule factors of a traced step, with their numbers.

For a dense weight ``W[i, j]`` of layer ``k`` (``z_j = Σ_i a_i·W[i, j] + b_j``)::

    ∂L/∂W[i, j] = Σ_batch a_i · δ_j                       (δ already holds the loss's 1/N)
    δ_j         = f′(z_j) · Σ_m W_next[j, m] · δ_next_m   (hidden layer)
    δ_j         = ∂L/∂z_j from the loss                  (output layer)
    grad        = (that sum + the regularizer's term) · clip_scale
    clip_scale  = clip_norm / ‖g‖ when the whole gradient g was clipped, else 1
    Δw          = what the optimizer made of grad, from its state after the step

Everything is read from a :class:`~engine.trace.StepTrace` (values *before* the
update, as the step saw them), so the numbers equal the server's trace.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.layers.dense import Dense
from engine.network import Network
from engine.optimizers import make_optimizer
from engine.trace import StepTrace

__all__ = ["clip_scale", "explain_node", "explain_parameter", "explain_sample"]


def _params_before(net: Network, trace: StepTrace, layer: int, name: str) -> NDArray[Any]:
    slot = net.slot(layer, name)
    return trace.theta_before[slot.offset : slot.stop].reshape(slot.shape)


def _flat_index(net: Network, layer: int, name: str, index: tuple[int, ...]) -> int:
    slot = net.slot(layer, name)
    if len(index) != len(slot.shape) or any(not 0 <= i < n for i, n in zip(index, slot.shape)):
        raise ValueError(f"index {list(index)} is outside {name} of layer {layer}, shape {list(slot.shape)}")
    return slot.offset + int(np.ravel_multi_index(index, slot.shape))


def _rows(x: NDArray[Any], width: int) -> NDArray[Any]:
    return x.reshape(-1, width)


def clip_scale(net: Network, trace: StepTrace) -> float:
    """The factor global clipping multiplied every gradient by (1 when not clipped).

    The session adds the regularizer's gradient first and then clips the total, so
    ``grad = (data part + regularization part) · clip_scale``. The trace keeps the clipped
    gradient and ‖g‖ before clipping; their ratio is the factor ``clip_norm / ‖g‖`` it used.
    """
    if not trace.summary.clipped or trace.summary.grad_norm == 0:
        return 1.0
    squares = 0.0
    for slot in net.slots:
        g = np.asarray(trace.layers[slot.layer][f"grad_{slot.name}"], np.float64)
        squares += float(np.vdot(g, g))
    return float(np.sqrt(squares)) / trace.summary.grad_norm


def _delta_factors(net: Network, trace: StepTrace, layer: int, j: int) -> dict[str, Any]:
    """How δ_j of a dense layer came about, per row of the batch."""
    dense = net.layers[layer]
    assert isinstance(dense, Dense)
    arrays = trace.layers[layer]
    z = _rows(arrays["z"], dense.units)[:, j]
    a = _rows(arrays["a"], dense.units)[:, j]
    delta = _rows(arrays["delta"], dense.units)[:, j]
    act = dense.activation
    out: dict[str, Any] = {"z": z, "a": a, "delta": delta, "activation": act.name}
    if layer == len(net.layers) - 1:
        loss = net.loss
        out["source"] = "loss"
        out["formula"] = f"δ_j = {loss.delta_formula}  ({loss.name} with a {act.name} output)"
        out["target"] = _rows(trace.Y, dense.units)[:, j]
        if loss.requires_activation is not None:
            # bce / cross-entropy are fused with their output: f′(z) has cancelled out of δ
            out["fprime_note"] = (
                f"no f′(z) factor: ∂L/∂a of {loss.name} times the {act.name}'s f′(z) simplifies to "
                f"{loss.delta_formula}"
            )
        elif act.name != "softmax":
            out["fprime"] = act.derivative(z, a)
        return out
    nxt = net.layers[layer + 1]
    if not isinstance(nxt, Dense):
        out["source"] = nxt.kind
        out["formula"] = f"δ_j = f′(z_j) · (∂L/∂a_j from the {nxt.kind} layer above)"
        out["fprime"] = act.derivative(z, a)
        return out
    w_next = _params_before(net, trace, layer + 1, "W")[j]
    delta_next = _rows(trace.layers[layer + 1]["delta"], nxt.units)
    out["source"] = "next layer"
    out["formula"] = "δ_j = f′(z_j) · Σ_m W_next[j, m] · δ_next_m"
    out["fprime"] = act.derivative(z, a)
    out["downstream"] = delta_next @ w_next
    out["w_next"] = w_next
    return out


def _optimizer_part(net: Network, trace: StepTrace, flat: int, grad: float) -> dict[str, Any]:
    opt = make_optimizer(trace.optimizer_name, net.size, net.dtype)
    opt.load_state(trace.optimizer_state)
    details = opt.explain(flat, grad, trace.summary.lr, theta_value=float(trace.theta_before[flat]))
    return {"name": trace.optimizer_name, **details}


def explain_parameter(
    net: Network, trace: StepTrace, layer: int, name: str, index: tuple[int, ...]
) -> dict[str, Any]:
    """Every factor of one parameter's gradient and update at the traced step."""
    if not 0 <= layer < len(net.layers):
        raise ValueError(f"layer {layer} does not exist; the network has {len(net.layers)} layers")
    flat = _flat_index(net, layer, name, index)
    before = float(trace.theta_before[flat])
    grad = float(trace.layers[layer][f"grad_{name}"][index])
    update = float(trace.layers[layer][f"update_{name}"][index])
    slot = net.slot(layer, name)
    reg = 0.0
    if slot.role == "weight" and net.reg_kind == "l2":
        reg = net.reg_rate * before
    elif slot.role == "weight" and net.reg_kind == "l1":
        reg = net.reg_rate * float(np.sign(before))
    result: dict[str, Any] = {
        "kind": "param",
        "value_before": before,
        "grad": grad,
        "grad_reg": reg,
        "regularization": {"kind": net.reg_kind, "rate": net.reg_rate},
        "clipped": trace.summary.clipped,
        "clip_scale": clip_scale(net, trace),
        "lr": trace.summary.lr,
        "update": update,
        "value_after": before + update,
        "optimizer": _optimizer_part(net, trace, flat, grad),
    }
    dense = net.layers[layer]
    if not isinstance(dense, Dense):
        return result
    j = index[-1]
    factors = _delta_factors(net, trace, layer, j)
    if name == "W":
        i = index[0]
        a_in = trace.X if layer == 0 else trace.layers[layer - 1]["a"]
        a_i = _rows(a_in, dense.inputs)[:, i]
        products = a_i * factors["delta"]
        result["kind"] = "weight"
        lhs, rhs = "∂L/∂W[i,j]", "Σ_batch a_i·δ_j + regularization term"
        result["a_i"] = a_i
    else:
        products = factors["delta"]
        result["kind"] = "bias"
        lhs, rhs = "∂L/∂b_j", "Σ_batch δ_j"
    # clipping scales the whole sum, regularization included: it comes after it in the step
    result["formula"] = f"{lhs} = ({rhs}) · clip_scale" if trace.summary.clipped else f"{lhs} = {rhs}"
    result["grad_data"] = float(products.sum())
    result["products"] = products
    result["delta_factors"] = factors
    result["indices"] = trace.indices
    return result


def explain_node(net: Network, trace: StepTrace, layer: int, unit: int) -> dict[str, Any]:
    """A node's z, a and δ over the batch and how its δ was made."""
    if not 0 <= layer < len(net.layers):
        raise ValueError(f"layer {layer} does not exist; the network has {len(net.layers)} layers")
    dense = net.layers[layer]
    if not isinstance(dense, Dense):
        raise ValueError(f"layer {layer} is {dense.kind}; node explanations are for dense layers")
    if not 0 <= unit < dense.units:
        raise ValueError(f"unit {unit} is outside layer {layer}, which has {dense.units} units")
    return {
        "kind": "node",
        "delta_factors": _delta_factors(net, trace, layer, unit),
        "indices": trace.indices,
    }


def explain_sample(net: Network, x: NDArray[Any], y: NDArray[Any]) -> list[dict[str, NDArray[Any]]]:
    """One sample's own forward values and δ's (its δ as if it were a batch of one)."""
    clone = net.clone()
    clone.gradients(np.asarray(x, net.dtype)[None], np.asarray(y, net.dtype)[None])
    return [layer.trace() for layer in clone.layers]
