"""Fully connected layer: ``z = X·W + b``, ``a = f(z)``.

``W: (inputs, units)`` — ``W[i, j]`` joins input ``i`` to unit ``j`` — and
``b: (units,)``. Inputs may carry extra leading axes (``(batch, T, inputs)`` for a
per-time-step output after a recurrent layer); they are folded into the batch.

The forward and backward passes write into buffers preallocated per batch
size, so a training step of a small network makes no Python objects per layer
beyond a few views: this is what makes the playground networks fast.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.activations import Activation
from engine.layers.base import ActivatedLayer, Array, ParamSpec

__all__ = ["Dense"]


class _Buffers:
    """Per-batch-size scratch arrays of one dense layer."""

    __slots__ = ("z", "a", "delta", "dX")

    def __init__(self, rows: int, inputs: int, units: int, dtype: np.dtype[Any]) -> None:
        self.z = np.empty((rows, units), dtype)
        self.a = np.empty((rows, units), dtype)
        self.delta = np.empty((rows, units), dtype)
        self.dX = np.empty((rows, inputs), dtype)


class Dense(ActivatedLayer):
    kind = "dense"

    def __init__(
        self, input_shape: tuple[int, ...], units: int, activation: Activation, dtype: np.dtype[Any]
    ) -> None:
        super().__init__(input_shape, dtype)
        if units < 1:
            raise ValueError(f"dense units must be ≥ 1, got {units}")
        self.inputs = self.input_shape[-1]
        self.units = units
        self.activation = activation
        self.output_shape = (*self.input_shape[:-1], units)
        self.param_specs = [
            ParamSpec("W", (self.inputs, units), "weight", self.inputs, units),
            ParamSpec("b", (units,), "bias", self.inputs, units),
        ]
        self._buffers: dict[int, _Buffers] = {}
        self._X: Array | None = None
        self._buf: _Buffers | None = None
        self._lead: tuple[int, ...] = ()

    def _buffers_for(self, rows: int) -> _Buffers:
        buf = self._buffers.get(rows)
        if buf is None:
            if len(self._buffers) > 4:  # batch sizes changed often: drop old ones
                self._buffers.clear()
            buf = self._buffers[rows] = _Buffers(rows, self.inputs, self.units, self.dtype)
        return buf

    def forward(self, X: Array) -> Array:
        self._lead = X.shape[:-1]
        X2 = X.reshape(-1, self.inputs) if X.ndim != 2 else X
        buf = self._buffers_for(X2.shape[0])
        np.matmul(X2, self.params["W"], out=buf.z)
        buf.z += self.params["b"]
        self.activation.forward(buf.z, buf.a)
        self._X, self._buf = X2, buf
        return buf.a if X.ndim == 2 else buf.a.reshape(*self._lead, self.units)

    def backward(self, dA: Array, need_dX: bool) -> Array | None:
        buf = self._buf
        assert buf is not None, "backward before forward"
        self.activation.backward(buf.z, buf.a, dA.reshape(buf.a.shape), buf.delta)
        return self._backward_from_buffer(need_dX)

    def backward_delta(self, delta: Array, need_dX: bool) -> Array | None:
        buf = self._buf
        assert buf is not None, "backward before forward"
        if delta is not buf.delta:
            np.copyto(buf.delta, delta.reshape(buf.delta.shape))
        return self._backward_from_buffer(need_dX)

    def delta_buffer(self) -> Array:
        """Where a fused loss may write δ directly, saving a copy."""
        assert self._buf is not None, "delta_buffer before forward"
        return self._buf.delta

    def _backward_from_buffer(self, need_dX: bool) -> Array | None:
        buf, X = self._buf, self._X
        assert buf is not None and X is not None
        # ∂L/∂W = Xᵀ·δ and ∂L/∂b = Σ_batch δ: δ already carries the loss's 1/N.
        np.matmul(X.T, buf.delta, out=self.grads["W"])
        np.sum(buf.delta, axis=0, out=self.grads["b"])
        if not need_dX:
            return None
        np.matmul(buf.delta, self.params["W"].T, out=buf.dX)
        return buf.dX if len(self._lead) == 1 else buf.dX.reshape(*self._lead, self.inputs)

    def last_z_a(self) -> tuple[Array, Array]:
        assert self._buf is not None, "last_z_a before forward"
        return self._buf.z, self._buf.a

    def infer(self, X: Array) -> dict[str, Array]:
        z = X @ self.params["W"] + self.params["b"]
        a = np.empty_like(z)
        self.activation.forward(z, a)
        return {"z": z, "a": a}

    def trace(self) -> dict[str, Array]:
        buf = self._buf
        if buf is None:
            return {}
        shape = (*self._lead, self.units)
        return {
            "z": buf.z.reshape(shape).copy(),
            "a": buf.a.reshape(shape).copy(),
            "delta": buf.delta.reshape(shape).copy(),
        }
