"""Long short-term memory layer, gate order ``(i, f, g, o)`` as in PyTorch.

Parameters: ``W_x: (F, 4U)``, ``W_h: (U, 4U)``, ``b: (4U,)``; column block ``k·U …
(k+1)·U`` belongs to gate ``k`` of ``(i, f, g, o)``. PyTorch keeps two biases
(``b_ih + b_hh``); here they are one, their sum. Per step, with ``h_0 = c_0 = 0``::

    z_t = x_t·W_x + h_{t−1}·W_h + b          split into z_i, z_f, z_g, z_o
    i = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
    c_t = f ⊙ c_{t−1} + i ⊙ g
    h_t = o ⊙ tanh(c_t)

The forget gate's bias starts at ``forget_bias`` (default 1.0, the value
Jozefowicz et al. 2015 and Keras' ``unit_forget_bias`` recommend so that early
gradients survive many steps; PyTorch initialises it like any bias — set
``forget_bias: 0`` for that). Every other bias starts at 0.

Backward through time (``δ = ∂L/∂z``, ``∂L/∂h_t`` as in :mod:`engine.layers.rnn`)::

    ∂L/∂c_t = ∂L/∂h_t ⊙ o ⊙ (1 − tanh² c_t) + ∂L/∂c_{t+1} ⊙ f_{t+1}
    δ_o = ∂L/∂h_t ⊙ tanh(c_t) ⊙ o(1 − o)
    δ_i = ∂L/∂c_t ⊙ g ⊙ i(1 − i)
    δ_f = ∂L/∂c_t ⊙ c_{t−1} ⊙ f(1 − f)
    δ_g = ∂L/∂c_t ⊙ i ⊙ (1 − g²)
    ∂L/∂h_{t−1} = (direct) + δ_t·W_hᵀ

Truncation (see :mod:`engine.layers.recurrent`) cuts the ``c`` path and the ``h``
path at the same step.

Speed: σ(z) = ½ + ½·tanh(z/2), so the pre-activation is kept scaled by
``s = (½, ½, 1, ½)`` per gate and one ``tanh`` plus one multiply-add gives all four
gates. The products above that need only forward values (``o ⊙ (1 − tanh² c)``,
``g ⊙ σ'(z_i)``, …) are formed for all steps at once before the backward loop,
which then makes six or seven NumPy calls per step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.layers.base import Array, ParamSpec
from engine.layers.recurrent import Recurrent, SeqBuffers

__all__ = ["DEFAULT_FORGET_BIAS", "LSTM"]

DEFAULT_FORGET_BIAS = 1.0


class _LSTMBuffers(SeqBuffers):
    """The shared recurrent buffers plus gates, cell states and their per-step views."""

    def __init__(self, layer: LSTM, n: int, backward: bool) -> None:
        super().__init__(layer, n, backward)
        t, u, dt = layer.steps, layer.units, layer.dtype
        self.gates = np.empty((t, n, 4 * u), dt)  # i, f, g, o after their nonlinearity
        self.c = np.zeros((t + 1, n, u), dt)  # c[t] = c_t, c[0] = 0
        self.tc = np.empty((t, n, u), dt)  # tanh(c_t) of step t
        self.tmp_c = np.empty((n, u), dt)
        self.wh_s = np.empty((u, 4 * u), dt)  # W_h with gate columns scaled by s
        # s and the gate offsets as whole (n, 4U) rows: same-shape ufuncs are ~3× faster than broadcasting
        self.scale = np.ascontiguousarray(np.broadcast_to(layer._scale, (n, 4 * u)))
        self.offset = np.ascontiguousarray(np.broadcast_to(layer._offset, (n, 4 * u)))
        self.gate_steps, self.c_steps, self.tc_steps = list(self.gates), list(self.c), list(self.tc)
        self.i_steps = [g[:, :u] for g in self.gates]
        self.f_steps = [g[:, u : 2 * u] for g in self.gates]
        self.g_steps = [g[:, 2 * u : 3 * u] for g in self.gates]
        self.o_steps = [g[:, 3 * u :] for g in self.gates]
        if not backward:
            return
        self.op = np.empty((t, n, u), dt)  # ∂h_t/∂c_t = o ⊙ (1 − tanh² c_t)
        self.rd = np.empty((t, n, 3 * u), dt)  # (g⊙σ'(z_i), c_{t−1}⊙σ'(z_f), i⊙tanh'(z_g))
        self.td = np.empty((t, n, u), dt)  # tanh(c_t) ⊙ σ'(z_o)
        self.dc = np.zeros((t, n, u), dt)  # ∂L/∂c_t
        self.op_steps, self.td_steps, self.dc_steps = list(self.op), list(self.td), list(self.dc)
        self.rd3_steps = [r.reshape(n, 3, u) for r in self.rd]
        self.dc_b_steps = [d[:, None, :] for d in self.dc]
        self.delta3_steps = [d[:, : 3 * u].reshape(n, 3, u) for d in self.delta]
        self.delta_o_steps = [d[:, 3 * u :] for d in self.delta]


class LSTM(Recurrent):
    """``lstm``: input ``(T, F)`` → ``(T, U)`` with ``return_sequences``, else ``(U,)``."""

    kind = "lstm"
    gates = 4

    def __init__(
        self,
        input_shape: tuple[int, ...],
        units: int,
        return_sequences: bool,
        truncate: int | None,
        forget_bias: float,
        dtype: np.dtype[Any],
    ) -> None:
        if not math.isfinite(forget_bias):
            raise ValueError(f"lstm forget_bias must be a finite number, got {forget_bias}")
        super().__init__(input_shape, units, return_sequences, truncate, dtype)
        self.forget_bias = float(forget_bias)
        u = units
        half, one, zero = np.full(u, 0.5), np.ones(u), np.zeros(u)
        # σ(z) = ½ + ½·tanh(z/2): scale the i, f, o columns by ½, take tanh, then ·s + offset
        self._scale = np.concatenate([half, half, one, half]).astype(dtype)
        self._offset = np.concatenate([half, half, zero, half]).astype(dtype)
        self._buf: _LSTMBuffers | None = None
        self._buffers: dict[int, _LSTMBuffers] = {}

    def initial_bias(self, spec: ParamSpec) -> float | Array:
        """0 everywhere except the forget gate's slice, which starts at ``forget_bias``."""
        b = np.zeros(spec.shape)
        b[self.units : 2 * self.units] = self.forget_bias
        return b

    def _forward_into(self, X: Array, buf: _LSTMBuffers) -> Array:
        self._load_input(X, buf)
        s, off = buf.scale, buf.offset
        buf.z *= self._scale  # z is kept scaled by s: all four gates are then one tanh
        Wh_s = buf.wh_s
        np.multiply(self.params["W_h"], self._scale, out=Wh_s)
        z, h, c, tc, gates, tmp_g, tmp_c = (
            buf.z_steps,
            buf.h_steps,
            buf.c_steps,
            buf.tc_steps,
            buf.gate_steps,
            buf.tmp_g,
            buf.tmp_c,
        )
        i, f, g, o = buf.i_steps, buf.f_steps, buf.g_steps, buf.o_steps
        for t in range(self.steps):
            zt, gt, ct = z[t], gates[t], c[t + 1]
            if t:  # h_0 = 0: the first step has no recurrent term (np.dot: matmul's BLAS call, less overhead)
                np.dot(h[t], Wh_s, out=tmp_g)
                zt += tmp_g
            np.tanh(zt, out=gt)
            gt *= s
            gt += off  # i, f, o = σ(z), g = tanh(z)
            if t:  # c_t = f ⊙ c_{t−1} + i ⊙ g
                np.multiply(f[t], c[t], out=ct)
                np.multiply(i[t], g[t], out=tmp_c)
                ct += tmp_c
            else:
                np.multiply(i[t], g[t], out=ct)
            np.tanh(ct, out=tc[t])
            np.multiply(o[t], tc[t], out=h[t + 1])  # h_t = o ⊙ tanh(c_t)
        return self._emit(buf)

    def forward(self, X: Array) -> Array:
        self._check(X)
        buf = self._cached(self._buffers, X.shape[0], lambda n: _LSTMBuffers(self, n, backward=True))
        self._buf = buf
        return self._forward_into(X, buf)

    def _local_derivatives(self, buf: _LSTMBuffers) -> None:
        """Every factor of the backward pass that needs only forward values, all steps at once."""
        u, G, D = self.units, buf.gates, buf.d
        np.subtract(1.0, G, out=D)
        D *= G  # σ'(z) = σ(1 − σ) for i, f, o
        gg, Dg = G[..., 2 * u : 3 * u], D[..., 2 * u : 3 * u]
        np.multiply(gg, gg, out=Dg)
        np.subtract(1.0, Dg, out=Dg)  # tanh'(z_g) = 1 − g²
        np.multiply(buf.tc, buf.tc, out=buf.op)
        np.subtract(1.0, buf.op, out=buf.op)
        buf.op *= G[..., 3 * u :]  # ∂h_t/∂c_t = o ⊙ (1 − tanh² c_t)
        rd = buf.rd
        np.multiply(gg, D[..., :u], out=rd[..., :u])  # ∂c_t/∂z_i = g ⊙ σ'(z_i)
        np.multiply(buf.c[:-1], D[..., u : 2 * u], out=rd[..., u : 2 * u])  # ∂c_t/∂z_f = c_{t−1} ⊙ σ'(z_f)
        np.multiply(G[..., :u], Dg, out=rd[..., 2 * u :])  # ∂c_t/∂z_g = i ⊙ tanh'(z_g)
        np.multiply(buf.tc, D[..., 3 * u :], out=buf.td)  # ∂h_t/∂z_o = tanh(c_t) ⊙ σ'(z_o)

    def backward(self, dA: Array, need_dX: bool) -> Array | None:
        buf = self._buf
        assert buf is not None, "backward before forward"
        T, k = self.steps, self.window
        self._local_derivatives(buf)
        self._load_output_grad(dA, buf)
        if self.return_sequences and k < T:
            self._backward_ring(buf)
            return self._param_grads(buf, need_dX)
        W_hT = self.params["W_h"].T
        dh, dc, dc_b, delta, tmp = buf.dh_steps, buf.dc_steps, buf.dc_b_steps, buf.delta_steps, buf.tmp_u
        op, rd3, td, f = buf.op_steps, buf.rd3_steps, buf.td_steps, buf.f_steps
        delta3, delta_o = buf.delta3_steps, buf.delta_o_steps
        first = 0 if self.return_sequences else T - k  # many-to-one truncated: steps T−k+1 … T only
        for t in range(T - 1, first - 1, -1):
            dct = dc[t]
            np.multiply(dh[t], op[t], out=dct)  # ∂L/∂c_t = ∂L/∂h_t ⊙ o ⊙ (1 − tanh² c_t) …
            if t < T - 1:
                np.multiply(dc[t + 1], f[t + 1], out=tmp)
                dct += tmp  # … + ∂L/∂c_{t+1} ⊙ f_{t+1}
            np.multiply(rd3[t], dc_b[t], out=delta3[t])  # δ_i, δ_f, δ_g = ∂L/∂c_t ⊙ ∂c_t/∂z
            np.multiply(dh[t], td[t], out=delta_o[t])  # δ_o = ∂L/∂h_t ⊙ ∂h_t/∂z_o
            if t > first:
                if self.return_sequences:  # ∂L/∂h_{t−1} = direct + δ_t·W_hᵀ
                    np.dot(delta[t], W_hT, out=tmp)
                    dh[t - 1] += tmp
                else:
                    np.dot(delta[t], W_hT, out=dh[t - 1])
        if first:
            buf.delta[:first] = 0
            buf.dc[:first] = 0
        return self._param_grads(buf, need_dX)

    def _backward_ring(self, buf: _LSTMBuffers) -> None:
        """Truncated BPTT with a loss term at every step: one (∂L/∂h, ∂L/∂c) per live term."""
        T, k, n, u = self.steps, self.window, buf.dh.shape[1], self.units
        W_hT = self.params["W_h"].T
        Sh, Sz, Sc, Sdc, ext = buf.ring_h, buf.ring_z, buf.ring_c, buf.ring_dc, buf.ext
        Sh2, Sz2 = Sh.reshape(k * n, u), Sz.reshape(k * n, 4 * u)
        Sz3, Sz_o, Sdc_b = Sz[..., : 3 * u].reshape(k, n, 3, u), Sz[..., 3 * u :], Sdc[:, :, None, :]
        op, rd3, td, f = buf.op_steps, buf.rd3_steps, buf.td_steps, buf.f_steps
        Sh.fill(0)
        Sc.fill(0)
        np.copyto(Sh[(T - 1) % k], ext[T - 1])
        for t in range(T - 1, -1, -1):
            np.sum(Sh, axis=0, out=buf.dh[t])  # ∂L/∂h_t: the sum over the live loss terms
            np.multiply(Sh, op[t], out=Sdc)
            Sdc += Sc  # each term's ∂L/∂c_t
            np.multiply(rd3[t], Sdc_b, out=Sz3)  # each term's δ_i, δ_f, δ_g
            np.multiply(Sh, td[t], out=Sz_o)  # each term's δ_o
            np.sum(Sz, axis=0, out=buf.delta[t])
            np.sum(Sdc, axis=0, out=buf.dc[t])
            if t:
                np.dot(Sz2, W_hT, out=Sh2)  # each term's ∂L/∂h_{t−1}
                np.multiply(Sdc, f[t], out=Sc)  # each term's ∂L/∂c_{t−1} through c_t = f_t ⊙ c_{t−1} + …
                slot = (t - 1) % k  # term t−1+k has used its k steps; term t−1 starts
                np.copyto(Sh[slot], ext[t - 1])
                Sc[slot] = 0

    def _gate_arrays(self, buf: _LSTMBuffers) -> dict[str, Array]:
        u = self.units
        G = buf.gates.transpose(1, 0, 2)
        return {
            "z": (buf.z / self._scale).transpose(1, 0, 2),
            "i": G[..., :u].copy(),
            "f": G[..., u : 2 * u].copy(),
            "g": G[..., 2 * u : 3 * u].copy(),
            "o": G[..., 3 * u :].copy(),
            "c": buf.c[1:].transpose(1, 0, 2).copy(),
            "h": buf.h[1:].transpose(1, 0, 2).copy(),
        }

    def infer(self, X: Array) -> dict[str, Array]:
        X = np.asarray(X)
        self._check(X)
        buf = _LSTMBuffers(self, X.shape[0], backward=False)
        out = self._forward_into(X, buf)
        return {"a": out, **self._gate_arrays(buf)}

    def trace(self) -> dict[str, Array]:
        buf = self._buf
        if buf is None:
            return {}
        return {
            **self._gate_arrays(buf),
            **self._recurrent_trace(buf),
            "dc": buf.dc.transpose(1, 0, 2).copy(),
        }

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(forget_bias=self.forget_bias, gate_order=["i", "f", "g", "o"])
        return d
