"""∂L/∂X of the network's own input for a traced step: what the loss would have the input change.

The trace holds every layer's δ but not the gradient that reaches the input (no
layer needs it to learn). It is one more backward step from the first layer's δ,
with the parameters *before* the step's update (those the step used)::

    dense    ∂L/∂X = δ·Wᵀ                       (per time step for sequence input)
    conv2d   ∂L/∂X = δ convolved with the flipped kernel  (engine.explain_spatial)
    rnn/lstm ∂L/∂x_t = δ_t·W_xᵀ
    flatten  ∂L/∂X = ∂L/∂A reshaped; pooling routes ∂L/∂A back to the window's inputs

For an image classifier this is the "saliency" map: the pixels whose change
would move the loss most, with the sign saying which way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.explain_spatial import conv_input_gradient, layer_output_gradient
from engine.layers import AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D
from engine.layers.recurrent import Recurrent
from engine.network import Network
from engine.trace import StepTrace

__all__ = ["input_gradient"]

Arr = NDArray[Any]


def _param_before(net: Network, trace: StepTrace, layer: int, name: str) -> Arr:
    slot = net.slot(layer, name)
    return trace.theta_before[slot.offset : slot.stop].reshape(slot.shape)


def input_gradient(net: Network, trace: StepTrace) -> Arr:
    """∂L/∂X of the traced batch, the shape of ``trace.X`` ``(N, *input_shape)``.

    ``L`` is the step's data loss (the batch mean the trace's δ belong to); the
    regularization term does not depend on the input. ``ValueError`` when the
    trace is not a full trace of ``net``.
    """
    if len(trace.layers) != len(net.layers) or "delta" not in trace.layers[-1]:
        raise ValueError("the trace is not a full trace of this network: step with trace='full'")
    first = net.layers[0]
    shape = trace.X.shape
    if isinstance(first, Conv2D):
        return conv_input_gradient(net, trace, 0)
    if isinstance(first, Dense):
        delta = trace.layers[0]["delta"]
        return (delta @ _param_before(net, trace, 0, "W").T).reshape(shape)
    if isinstance(first, Recurrent):
        delta = trace.layers[0]["delta"]
        return delta @ _param_before(net, trace, 0, "W_x").T
    if len(net.layers) == 1:
        raise ValueError(f"a lone {first.kind} layer has no δ to pass back")
    dA = layer_output_gradient(net, trace, 0)
    if isinstance(first, Flatten):
        return dA.reshape(shape)
    dX = np.zeros(shape, dA.dtype)
    if isinstance(first, MaxPool2D):
        # the whole gradient of a window goes to the input that won it (the first maximum on ties)
        n, c = shape[0], shape[1]
        winners = trace.layers[0]["argmax"].reshape(n, c, -1).astype(np.intp)
        nn, cc = np.indices(winners.shape[:2])
        np.add.at(dX.reshape(n, c, -1), (nn[..., None], cc[..., None], winners), dA.reshape(winners.shape))
        return dX
    if isinstance(first, AvgPool2D):
        k, s = first.size, first.stride
        ho, wo = first.output_shape[1:]
        for i in range(k):
            for j in range(k):
                dX[:, :, i : i + (ho - 1) * s + 1 : s, j : j + (wo - 1) * s + 1 : s] += dA / (k * k)
        return dX
    raise ValueError(f"cannot pass a gradient back through a {first.kind} layer")
