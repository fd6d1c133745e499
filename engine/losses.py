"""Losses, each fused with the output activation it needs, computed from logits.

With ``z`` the output layer's pre-activation, ``a = f(z)`` its activation, ``Y``
the targets (same shape as ``a``; class indices are turned into one-hot rows
when the data is loaded) and ``N`` the number of rows in the batch:

- ``mse``: L = mean over batch *and* outputs of (a − y)²; ∂L/∂a = 2(a − y)/(N·K),
  then δ = ∂L/∂a · f'(z) through any output activation.
- ``bce``: needs a sigmoid output. L = mean over elements of
  max(z, 0) − z·y + log(1 + e^−|z|), which equals −y·log a − (1 − y)·log(1 − a)
  without ever taking log(0); δ = (a − y)/(N·K).
- ``cross_entropy``: needs a softmax output. L = mean over rows of
  logsumexp(z) − Σ_k y_k z_k; δ = (a − y)/N.

``delta`` writes ∂L/∂z into the output layer's own δ buffer. ``train`` does both
at once for the training step — the same operations in the same order, so the
same bits, but on preallocated scratch arrays and without recomputing ``a − y``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.activations import Activation
from engine.layers.base import Array

__all__ = ["LOSSES", "Loss", "get_loss"]

# Bound once: the ufunc methods skip the Python wrappers of ndarray.sum / .max (same results).
_add_reduce = np.add.reduce
_max_reduce = np.maximum.reduce


def _mse_value(z: Array, a: Array, Y: Array) -> float:
    diff = a - Y
    return float(np.vdot(diff, diff)) / diff.size


def _mse_delta(z: Array, a: Array, Y: Array, act: Activation, out: Array) -> None:
    if act.name == "linear":
        np.subtract(a, Y, out=out)
        out *= 2.0 / out.size
        return
    dA = (a - Y) * (2.0 / a.size)  # backward may not read and write the same array
    act.backward(z, a, dA, out)


def _mse_train(z: Array, a: Array, Y: Array, act: Activation, out: Array, tmp: Array) -> float:
    np.subtract(a, Y, out=out)
    loss = float(np.vdot(out, out)) / out.size
    if act.name == "linear":
        out *= 2.0 / out.size
    else:
        np.multiply(out, 2.0 / out.size, out=tmp)
        act.backward(z, a, tmp, out)
    return loss


def _bce_value(z: Array, a: Array, Y: Array) -> float:
    # max(z,0) − z·y + log1p(e^−|z|): finite for logits of any size.
    t = np.abs(z)
    np.negative(t, out=t)
    np.exp(t, out=t)
    np.log1p(t, out=t)
    t += np.maximum(z, 0)
    t -= z * Y
    return float(t.sum()) / t.size


def _bce_delta(z: Array, a: Array, Y: Array, act: Activation, out: Array) -> None:
    np.subtract(a, Y, out=out)
    out *= 1.0 / out.size


def _bce_train(z: Array, a: Array, Y: Array, act: Activation, out: Array, tmp: Array) -> float:
    # the value, with ``out`` as scratch, then δ into ``out``
    np.abs(z, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(z, 0, out=tmp)
    out -= np.multiply(z, Y, out=tmp)
    loss = float(_add_reduce(out, None)) / out.size
    np.subtract(a, Y, out=out)
    out *= 1.0 / out.size
    return loss


def _ce_value(z: Array, a: Array, Y: Array) -> float:
    m = z.max(axis=-1, keepdims=True)
    shifted = z - m
    lse = np.log(np.exp(shifted).sum(axis=-1))
    rows = int(lse.size)
    total = float(lse.sum()) - float(np.vdot(shifted, Y))
    return total / rows


def _ce_delta(z: Array, a: Array, Y: Array, act: Activation, out: Array) -> None:
    np.subtract(a, Y, out=out)
    out *= 1.0 / (out.size // out.shape[-1])


def _ce_train(z: Array, a: Array, Y: Array, act: Activation, out: Array, tmp: Array) -> float:
    shifted = np.subtract(z, _max_reduce(z, axis=-1, keepdims=True), out=tmp)
    lse = np.log(_add_reduce(np.exp(shifted, out=out), -1))
    rows = int(lse.size)
    loss = (float(_add_reduce(lse, None)) - float(np.vdot(shifted, Y))) / rows
    np.subtract(a, Y, out=out)
    out *= 1.0 / rows
    return loss


@dataclass(frozen=True)
class Loss:
    """A loss: its value from (z, a, Y), its δ = ∂L/∂z, and the output activation it needs.

    ``train(z, a, Y, activation, out, tmp)`` returns the value and writes δ into ``out``;
    ``tmp`` is scratch of the same shape.
    """

    name: str
    value: Callable[[Array, Array, Array], float]
    delta: Callable[[Array, Array, Array, Activation, Array], None]
    train: Callable[[Array, Array, Array, Activation, Array, Array], float]
    requires_activation: str | None
    formula: str
    delta_formula: str

    def check_output(self, activation: str) -> None:
        """Refuse invalid output/loss pairs with a message that says what to pick."""
        if self.requires_activation is not None and activation != self.requires_activation:
            raise ValueError(
                f"loss {self.name!r} needs a {self.requires_activation!r} output activation, "
                f"got {activation!r}"
            )


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss("mse", _mse_value, _mse_delta, _mse_train, None, "mean((a − y)²)", "2(a − y)/(N·K) · f′(z)"),
        Loss(
            "bce",
            _bce_value,
            _bce_delta,
            _bce_train,
            "sigmoid",
            "mean(−y·log a − (1 − y)·log(1 − a))",
            "(a − y)/(N·K)",
        ),
        Loss(
            "cross_entropy",
            _ce_value,
            _ce_delta,
            _ce_train,
            "softmax",
            "mean over rows of −Σ_k y_k·log a_k",
            "(a − y)/N",
        ),
    )
}


def get_loss(name: str) -> Loss:
    try:
        return LOSSES[name]
    except KeyError:
        known = ", ".join(sorted(LOSSES))
        raise ValueError(f"unknown loss {name!r}; choose one of: {known}") from None
