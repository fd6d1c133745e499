"""Is this gradient really right? Central finite differences beside the analytic gradient.

The check always runs in float64 on a copy of the network (a float32 session is
checked at float64 precision, since float32 finite differences cannot resolve
1e-6), on the batch the caller gives — normally the last traced step's batch —
and never touches the session's own parameters.

For each checked parameter θ_i::

    numeric_i  = (L(θ + ε·e_i) − L(θ − ε·e_i)) / 2ε
    analytic_i = ∂L/∂θ_i from backprop

and the verdict uses the relative error ``max_i |analytic_i − numeric_i| / max_i |numeric_i|``
over the checked entries (per-entry errors are reported too). A correct
float64 backprop agrees to about 1e-9; ``TOLERANCE`` is 1e-6.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.network import Network

__all__ = ["TOLERANCE", "GradientCheck", "gradient_check"]

TOLERANCE = 1e-6


@dataclass(frozen=True)
class GradientCheck:
    indices: NDArray[np.int64]  # flat parameter indices checked
    analytic: NDArray[np.float64]
    numeric: NDArray[np.float64]
    relative_error: float  # max |a − n| / max |n| over the checked entries
    entry_errors: NDArray[np.float64]  # |a − n| / max(|a|, |n|, 1e-12) per entry

    @property
    def ok(self) -> bool:
        return bool(self.relative_error <= TOLERANCE)


def _float64_copy(net: Network) -> Network:
    twin = Network(net.input_shape, net.layer_specs, net.loss.name, "float64")
    twin.theta[...] = net.theta.astype(np.float64)
    twin.set_regularization(net.reg_kind, net.reg_rate)
    return twin


def gradient_check(
    net: Network,
    X: NDArray[Any],
    Y: NDArray[Any],
    indices: Sequence[int] | None = None,
    epsilon: float = 1e-6,
    max_entries: int = 200,
    rng: np.random.Generator | None = None,
) -> GradientCheck:
    """Check ∂L/∂θ at the network's current θ on batch (X, Y).

    ``indices`` picks flat parameter indices (see ``Network.slots``); ``None``
    checks all of them, or a random sample of ``max_entries`` when there are more.
    """
    if not 0 < epsilon <= 1e-2:
        raise ValueError(f"epsilon must be in (0, 0.01], got {epsilon}")
    twin = _float64_copy(net)
    X = np.asarray(X, np.float64)
    Y = np.asarray(Y, np.float64)
    if indices is None:
        chosen = np.arange(twin.size)
        if len(chosen) > max_entries:
            chosen = np.sort((rng or np.random.default_rng(0)).choice(twin.size, max_entries, replace=False))
    else:
        chosen = np.asarray(list(indices), dtype=np.int64)
        if chosen.size == 0 or chosen.min() < 0 or chosen.max() >= twin.size:
            raise ValueError(f"parameter indices must be in [0, {twin.size}), got {list(indices)[:5]}…")
    twin.gradients(X, Y)
    analytic = twin.grad[chosen].copy()
    numeric = np.empty(len(chosen))
    theta = twin.theta
    for k, i in enumerate(chosen):
        keep = theta[i]
        theta[i] = keep + epsilon
        plus = twin.total_loss(X, Y)
        theta[i] = keep - epsilon
        minus = twin.total_loss(X, Y)
        theta[i] = keep
        numeric[k] = (plus - minus) / (2 * epsilon)
    diff = np.abs(analytic - numeric)
    scale = max(float(np.max(np.abs(numeric))), 1e-12)
    entry = diff / np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1e-12)
    return GradientCheck(chosen.astype(np.int64), analytic, numeric, float(diff.max() / scale), entry)
