"""Simple recurrent layer (Elman): ``h_t = f(x_t·W_x + h_{t−1}·W_h + b)``, ``h_0 = 0``.

``W_x: (F, U)``, ``W_h: (U, U)``, ``b: (U,)``, ``f`` is ``tanh`` (default) or
``relu``. Shapes, truncation and the time-major layout are described in
:mod:`engine.layers.recurrent`.

Backward through time, with ``δ_t = ∂L/∂z_t``::

    ∂L/∂h_t = (loss's direct gradient on h_t) + δ_{t+1}·W_hᵀ
    δ_t     = ∂L/∂h_t ⊙ f'(z_t)            (tanh' = 1 − h_t², relu' = [z_t > 0])

then ``∂L/∂W_x = Σ_t x_tᵀ·δ_t``, ``∂L/∂W_h = Σ_t h_{t−1}ᵀ·δ_t``, ``∂L/∂b = Σ_t δ_t``,
``∂L/∂x_t = δ_t·W_xᵀ`` in one matmul each. Per time step the forward pass makes
three NumPy calls (matmul, add, activation) and the backward two or three
(multiply, matmul, and an add when every step has a loss term).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.activations import Activation
from engine.layers.base import Array
from engine.layers.recurrent import Recurrent, SeqBuffers

__all__ = ["RNN_ACTIVATIONS", "SimpleRNN"]

RNN_ACTIVATIONS = ("tanh", "relu")


class SimpleRNN(Recurrent):
    """``rnn``: input ``(T, F)`` → ``(T, U)`` with ``return_sequences``, else ``(U,)``."""

    kind = "rnn"
    gates = 1

    def __init__(
        self,
        input_shape: tuple[int, ...],
        units: int,
        activation: Activation,
        return_sequences: bool,
        truncate: int | None,
        dtype: np.dtype[Any],
    ) -> None:
        if activation.name not in RNN_ACTIVATIONS:
            raise ValueError(
                f"rnn activation must be one of {', '.join(RNN_ACTIVATIONS)}, got {activation.name!r}"
            )
        super().__init__(input_shape, units, return_sequences, truncate, dtype)
        self.activation = activation
        self._buf: SeqBuffers | None = None
        self._buffers: dict[int, SeqBuffers] = {}

    def _forward_into(self, X: Array, buf: SeqBuffers) -> Array:
        self._load_input(X, buf)
        W_h, f = self.params["W_h"], self.activation.forward
        z, h, tmp = buf.z_steps, buf.h_steps, buf.tmp_g
        f(z[0], h[1])  # h_0 = 0: the first step has no recurrent term
        for t in range(1, self.steps):
            np.dot(h[t], W_h, out=tmp)  # np.dot: the same BLAS call as matmul, less overhead per call
            zt = z[t]
            zt += tmp  # z_t = x_t·W_x + b + h_{t−1}·W_h
            f(zt, h[t + 1])
        return self._emit(buf)

    def forward(self, X: Array) -> Array:
        self._check(X)
        buf = self._cached(self._buffers, X.shape[0], lambda n: SeqBuffers(self, n, backward=True))
        self._buf = buf
        return self._forward_into(X, buf)

    def backward(self, dA: Array, need_dX: bool) -> Array | None:
        buf = self._buf
        assert buf is not None, "backward before forward"
        T, k = self.steps, self.window
        if self.activation.name == "tanh":
            h = buf.h[1:]
            np.multiply(h, h, out=buf.d)
            np.subtract(1.0, buf.d, out=buf.d)  # tanh'(z_t) = 1 − h_t²
        else:
            np.greater(buf.z, 0, out=buf.d)  # relu'(z_t) = [z_t > 0]
        self._load_output_grad(dA, buf)
        if self.return_sequences and k < T:
            self._backward_ring(buf)
            return self._param_grads(buf, need_dX)
        W_hT = self.params["W_h"].T
        dh, d, delta, tmp = buf.dh_steps, buf.d_steps, buf.delta_steps, buf.tmp_u
        # many-to-one under truncation: only steps T−k+1 … T get gradient
        first = 0 if self.return_sequences else T - k
        for t in range(T - 1, first - 1, -1):
            np.multiply(dh[t], d[t], out=delta[t])  # δ_t = ∂L/∂h_t ⊙ f'(z_t)
            if t > first:
                if self.return_sequences:  # ∂L/∂h_{t−1} = direct + δ_t·W_hᵀ
                    np.dot(delta[t], W_hT, out=tmp)
                    dh[t - 1] += tmp
                else:
                    np.dot(delta[t], W_hT, out=dh[t - 1])
        if first:
            buf.delta[:first] = 0
        return self._param_grads(buf, need_dX)

    def _backward_ring(self, buf: SeqBuffers) -> None:
        """Truncated BPTT with a loss term at every step (see :mod:`engine.layers.recurrent`)."""
        T, k, n = self.steps, self.window, buf.dh.shape[1]
        W_hT = self.params["W_h"].T
        S, E, ext = buf.ring_h, buf.ring_z, buf.ext
        S2, E2 = S.reshape(k * n, -1), E.reshape(k * n, -1)
        dh, d, delta = buf.dh_steps, buf.d_steps, buf.delta_steps
        S.fill(0)
        np.copyto(S[(T - 1) % k], ext[T - 1])
        for t in range(T - 1, -1, -1):
            np.sum(S, axis=0, out=dh[t])  # ∂L/∂h_t: the sum over the live loss terms
            np.multiply(dh[t], d[t], out=delta[t])
            if t:
                np.multiply(S, d[t], out=E)  # each term's δ_t
                np.dot(E2, W_hT, out=S2)  # each term's ∂L/∂h_{t−1} = δ_t·W_hᵀ
                np.copyto(S[(t - 1) % k], ext[t - 1])  # term t−1+k has used its k steps; term t−1 starts

    def infer(self, X: Array) -> dict[str, Array]:
        X = np.asarray(X)
        self._check(X)
        buf = SeqBuffers(self, X.shape[0], backward=False)
        out = self._forward_into(X, buf)
        return {
            "a": out,
            "z": buf.z.transpose(1, 0, 2).copy(),
            "h": buf.h[1:].transpose(1, 0, 2).copy(),
        }

    def trace(self) -> dict[str, Array]:
        buf = self._buf
        if buf is None:
            return {}
        return {"z": buf.z.transpose(1, 0, 2).copy(), **self._recurrent_trace(buf)}

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["activation"] = self.activation.name
        return d
