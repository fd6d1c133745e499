"""Fully connected layer: ``z = X·W + b``, ``a = f(z)``.

``W: (inputs, units)`` — ``W[i, j]`` joins input ``i`` to unit ``j`` — and
``b: (units,)``. Inputs may carry extra leading axes (``(batch, T, inputs)`` for a
per-time-step output after a recurrent layer); they are folded into the batch.

The forward and backward passes write into buffers preallocated per batch
size, so a training step of a small network makes no Python objects per layer
beyond a few views: this is what makes the playground networks fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine.activations import Activation
from engine.layers.base import ActivatedLayer, Array, ParamSpec

__all__ = ["Dense"]


class _Buffers:
    """Per-batch-size scratch arrays of one dense layer.

    ``z``, ``a`` and ``delta`` are the three rows of one array, so a full trace
    copies them in one call.
    """

    __slots__ = ("a", "dX", "delta", "z", "zad")

    def __init__(self, rows: int, inputs: int, units: int, dtype: np.dtype[Any]) -> None:
        self.zad = np.empty((3, rows, units), dtype)
        self.z: Array = self.zad[0]
        self.a: Array = self.zad[1]
        self.delta: Array = self.zad[2]
        self.dX = np.empty((rows, inputs), dtype)


# np.dot gives the same bits as np.matmul here (both call BLAS gemm/gemv) at half the
# call overhead; add.reduce is np.sum without its Python wrapper (same bits).
_dot = np.dot
_add = np.add
_sum_rows = np.add.reduce


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
        self._mm: Callable[..., Any] = _dot  # the product the last forward used: np.dot or np.matmul
        # the activation's functions, looked up once: the hot path calls them every step
        self._act_forward = activation.forward
        self._act_backward = activation.backward

    def bind(self, params: dict[str, Array], grads: dict[str, Array]) -> None:
        super().bind(params, grads)
        # Views into the flat θ and grad, kept for the hot path (θ's memory never moves).
        self._W, self._b, self._WT = params["W"], params["b"], params["W"].T
        self._dW, self._db = grads["W"], grads["b"]

    def _buffers_for(self, rows: int) -> _Buffers:
        buf = self._buffers.get(rows)
        if buf is None:
            if len(self._buffers) > 4:  # batch sizes changed often: drop old ones
                self._buffers.clear()
            buf = self._buffers[rows] = _Buffers(rows, self.inputs, self.units, self.dtype)
        return buf

    def forward(self, X: Array) -> Array:
        if X.ndim != 2:
            return self._forward_folded(X)
        buf = self._buffers.get(X.shape[0]) or self._buffers_for(X.shape[0])
        z = buf.z
        # inputs of another dtype (a direct caller's float64 into a float32 net): np.dot refuses to
        # cast into ``out``, np.matmul computes in the wider type and casts, as it always did
        self._mm = _dot if X.dtype == self.dtype else np.matmul
        self._mm(X, self._W, out=z)
        _add(z, self._b, out=z)
        self._act_forward(z, buf.a)
        self._X, self._buf, self._lead = X, buf, ()
        return buf.a

    def _forward_folded(self, X: Array) -> Array:
        """``(batch, T, inputs)`` after a recurrent layer: T is folded into the batch."""
        lead = X.shape[:-1]
        a = self.forward(X.reshape(-1, self.inputs))
        self._lead = lead
        return a.reshape(*lead, self.units)

    def backward(self, dA: Array, need_dX: bool) -> Array | None:
        buf = self._buf
        assert buf is not None, "backward before forward"
        if dA.shape != buf.a.shape:
            dA = dA.reshape(buf.a.shape)
        self._act_backward(buf.z, buf.a, dA, buf.delta)
        return self._backward_from_buffer(need_dX)

    def _backward_from_buffer(self, need_dX: bool) -> Array | None:
        buf, X = self._buf, self._X
        assert buf is not None and X is not None
        delta = buf.delta
        # ∂L/∂W = Xᵀ·δ and ∂L/∂b = Σ_batch δ: δ already carries the loss's 1/N. (1ᵀ·δ in BLAS
        # would be 2–5× faster but sums in another order: other last bits, other trajectories.)
        self._mm(X.T, delta, out=self._dW)
        _sum_rows(delta, axis=0, out=self._db)
        if not need_dX:
            return None
        _dot(delta, self._WT, out=buf.dX)
        return buf.dX if not self._lead else buf.dX.reshape(*self._lead, self.inputs)

    def infer(self, X: Array) -> dict[str, Array]:
        z = X @ self.params["W"] + self.params["b"]
        a = np.empty_like(z)
        self.activation.forward(z, a)
        return {"z": z, "a": a}

    def trace(self) -> dict[str, Array]:
        buf = self._buf
        if buf is None:
            return {}
        zad = buf.zad.copy()  # one copy; the three arrays are views of it
        if self._lead:
            zad = zad.reshape(3, *self._lead, self.units)
        return {"z": zad[0], "a": zad[1], "delta": zad[2]}

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["units"] = self.units
        return d
