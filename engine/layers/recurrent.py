"""What the recurrent layers (``rnn``, ``lstm``) share: shapes, parameters, BPTT bookkeeping.

Shapes (batch axis first): ``X: (N, T, F)`` → ``(N, T, U)`` with
``return_sequences`` (every ``h_t``, e.g. for a dense layer over the time axis)
or ``(N, U)`` without (only ``h_T``). Parameters, with ``g`` gates (1 for rnn, 4
for lstm): ``W_x: (F, g·U)``, ``W_h: (U, g·U)``, ``b: (g·U,)``; the step's
pre-activation is ``z_t = x_t·W_x + h_{t−1}·W_h + b`` and ``h_0 = 0``.

Internally every per-step array is time-major, ``(T, N, ·)``, so the slice of one
step is contiguous; the input-side products ``x_t·W_x`` of all steps are one
matmul, and so are the gradients of ``W_x``, ``W_h``, ``b`` and ``X`` after the
backward recurrence. Only the recurrence itself runs per time step.

Backprop through time and truncation
------------------------------------
Without truncation (``truncate: null``) the gradients are exact: the total
gradient ``∂L/∂h_t`` is the loss's direct gradient on ``h_t`` plus what flows back
from step ``t+1``.

``truncate: k`` (an integer ≥ 1) cuts the recurrence *per loss term*: the
gradient of the loss's term at step ``t'`` (its direct gradient on ``h_{t'}``)
flows back through at most ``k`` applications of the step function — steps
``t', t'−1, …, t'−k+1`` — and is dropped before it reaches step ``t'−k``. So
``k = 1`` treats ``h_{t−1}`` as a constant in every step (``W_h`` still gets
``h_{t−1}ᵀ·δ_t``), and ``k ≥ T`` is full BPTT. For many-to-one only ``t' = T``
has a loss term, so steps ``T−k+1 … T`` get gradient and earlier ones none. For
many-to-many the terms overlap: the backward pass carries one gradient per live
loss term (at most ``k``) in a ring, and at each step the term that has used up
its ``k`` steps is replaced by the newly starting one.

The traced ``dh`` (``∂L/∂h_t``) and ``delta`` (``∂L/∂z_t``) are the gradients that
were actually propagated, i.e. the truncated ones when ``truncate`` is set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import numpy as np

from engine.layers.base import Array, Layer, ParamSpec

__all__ = ["Recurrent", "SeqBuffers"]

B = TypeVar("B", bound="SeqBuffers")


class SeqBuffers:
    """Time-major scratch arrays shared by the recurrent layers, for one batch size.

    ``h[t]`` is ``h_t`` for ``t = 0 … T`` (``h[0] = 0``, so ``h[:-1]`` are the
    ``h_{t−1}`` each step reads); per-step arrays ``z, dh, delta`` are indexed by
    step ``0 … T−1``.
    """

    def __init__(self, layer: Recurrent, n: int, backward: bool) -> None:
        t, f, u, gu, dt = layer.steps, layer.inputs, layer.units, layer.gates * layer.units, layer.dtype
        self.xt = np.empty((t, n, f), dt)
        self.z = np.empty((t, n, gu), dt)
        self.h = np.zeros((t + 1, n, u), dt)
        self.out = np.empty((n, t, u), dt) if layer.return_sequences else self.h[t]
        self.tmp_g = np.empty((n, gu), dt)
        self.z_steps, self.h_steps = list(self.z), list(self.h)
        if not backward:
            return
        self.d = np.empty((t, n, gu), dt)  # f'(z_t) of every step
        self.dh = np.zeros((t, n, u), dt)
        self.delta = np.zeros((t, n, gu), dt)
        self.tmp_u = np.empty((n, u), dt)
        self.ones = np.ones(t * n, dt)  # Σ over steps and batch as a matrix-vector product
        self.dX = np.empty((n, t, f), dt)
        self.dxt = np.empty((t, n, f), dt)
        self.d_steps, self.dh_steps, self.delta_steps = list(self.d), list(self.dh), list(self.delta)
        k = layer.window
        if layer.return_sequences and k < t:
            # the ring of truncated BPTT: slot t' mod k carries the gradient of the loss term at t'
            self.ext = np.empty((t, n, u), dt)  # the loss's direct ∂L/∂h_t, kept apart from the ring
            self.ring_h = np.zeros((k, n, u), dt)  # each live term's ∂L/∂h_t
            self.ring_z = np.zeros((k, n, gu), dt)  # each live term's ∂L/∂z_t
            self.ring_c = np.zeros((k, n, u), dt)  # lstm: each live term's ∂L/∂c_t from step t+1
            self.ring_dc = np.zeros((k, n, u), dt)  # lstm: each live term's total ∂L/∂c_t


class Recurrent(Layer):
    """Base of ``rnn`` and ``lstm``: shapes, parameter specs, the batched gradient products."""

    gates: ClassVar[int]

    def __init__(
        self,
        input_shape: tuple[int, ...],
        units: int,
        return_sequences: bool,
        truncate: int | None,
        dtype: np.dtype[Any],
    ) -> None:
        super().__init__(input_shape, dtype)
        if len(self.input_shape) != 2:
            raise ValueError(
                f"{self.kind} needs inputs shaped [time steps, features], got {list(self.input_shape)}"
            )
        if units < 1:
            raise ValueError(f"{self.kind} units must be ≥ 1, got {units}")
        if truncate is not None and truncate < 1:
            raise ValueError(f"{self.kind} truncate must be ≥ 1 or null, got {truncate}")
        self.steps, self.inputs = self.input_shape
        self.units = units
        self.return_sequences = return_sequences
        self.truncate = truncate
        self.output_shape = (self.steps, units) if return_sequences else (units,)
        gu = self.gates * units
        self.param_specs = [
            ParamSpec("W_x", (self.inputs, gu), "weight", self.inputs, gu),
            ParamSpec("W_h", (units, gu), "weight", units, gu),
            ParamSpec("b", (gu,), "bias", self.inputs + units, gu),
        ]

    def _cached(self, cache: dict[int, B], n: int, make: Callable[[int], B]) -> B:
        """The buffers for batch size ``n``, made on first use (and dropped if sizes keep changing)."""
        buf = cache.get(n)
        if buf is None:
            if len(cache) > 4:
                cache.clear()
            buf = cache[n] = make(n)
        return buf

    @property
    def window(self) -> int:
        """How many steps a loss term's gradient flows back through (``T`` when untruncated)."""
        return self.steps if self.truncate is None else min(self.truncate, self.steps)

    def _check(self, X: Array) -> None:
        if X.shape[1:] != self.input_shape:
            raise ValueError(
                f"{self.kind} expects inputs of shape [n, {', '.join(map(str, self.input_shape))}], "
                f"got {list(X.shape)}"
            )

    def _load_input(self, X: Array, buf: SeqBuffers) -> None:
        """Time-major copy of ``X`` and the input side of every step: ``z_t ← x_t·W_x + b``."""
        t, n = self.steps, X.shape[0]
        np.copyto(buf.xt, X.transpose(1, 0, 2))
        # np.dot: the same BLAS call as np.matmul (same bits), less overhead, and no slow path for
        # transposed operands
        np.dot(buf.xt.reshape(t * n, -1), self.params["W_x"], out=buf.z.reshape(t * n, -1))
        buf.z += self.params["b"]

    def _emit(self, buf: SeqBuffers) -> Array:
        """The layer's output: every ``h_t`` batch-major, or ``h_T``."""
        if self.return_sequences:
            np.copyto(buf.out.transpose(1, 0, 2), buf.h[1:])
        return buf.out

    def _load_output_grad(self, dA: Array, buf: SeqBuffers) -> None:
        """The loss's direct ∂L/∂h_t, time-major, into ``dh`` (or ``ext`` for the truncation ring).

        Without ``return_sequences`` only ``h_T`` has one; the other steps start at 0.
        """
        t = self.steps
        if self.return_sequences:
            target = buf.ext if self.window < t else buf.dh
            np.copyto(target, dA.reshape(-1, t, self.units).transpose(1, 0, 2))
            return
        buf.dh.fill(0)
        np.copyto(buf.dh[t - 1], dA.reshape(buf.dh[t - 1].shape))

    def _param_grads(self, buf: SeqBuffers, need_dX: bool) -> Array | None:
        """From δ_t = ∂L/∂z_t of every step: the parameter gradients, and ∂L/∂X if asked.

        ``∂L/∂W_x = Σ_t x_tᵀ·δ_t``, ``∂L/∂W_h = Σ_t h_{t−1}ᵀ·δ_t``, ``∂L/∂b = Σ_t Σ_batch δ_t``,
        ``∂L/∂x_t = δ_t·W_xᵀ`` — each one matmul over all steps stacked.
        """
        t, n = self.steps, buf.delta.shape[1]
        delta2 = buf.delta.reshape(t * n, -1)
        np.dot(buf.xt.reshape(t * n, -1).T, delta2, out=self.grads["W_x"])
        np.dot(buf.h[:t].reshape(t * n, -1).T, delta2, out=self.grads["W_h"])
        np.dot(buf.ones, delta2, out=self.grads["b"])  # 3× faster than np.sum(axis=0) here
        if not need_dX:
            return None
        np.dot(delta2, self.params["W_x"].T, out=buf.dxt.reshape(t * n, -1))
        np.copyto(buf.dX, buf.dxt.transpose(1, 0, 2))
        return buf.dX

    def _recurrent_trace(self, buf: SeqBuffers) -> dict[str, Array]:
        """``h``, ``dh`` (batch, T, U) and each step's share of ∂L/∂W_h, ``h_{t−1}ᵀ·δ_t``."""
        per_step = np.matmul(buf.h[:-1].transpose(0, 2, 1), buf.delta)
        return {
            "a": buf.out.copy(),
            "h": buf.h[1:].transpose(1, 0, 2).copy(),
            "dh": buf.dh.transpose(1, 0, 2).copy(),
            "delta": buf.delta.transpose(1, 0, 2).copy(),
            "grad_W_h_per_step": per_step,
            "grad_W_h_step_norm": np.sqrt(np.square(per_step).sum(axis=(1, 2))),
        }

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(units=self.units, return_sequences=self.return_sequences, truncate=self.truncate)
        return d
