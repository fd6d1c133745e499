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

Speed (at N = 16, U = 32 a NumPy call costs ~0.3–1 µs whatever its size, so the number
of calls and their memory layout decide): σ(z) = ½ + ½·tanh(z/2), so the pre-activation
is kept scaled by ``s = (½, ½, 1, ½)`` per gate and one ``tanh`` plus one multiply-add
gives all four gates. Every per-step array is feature-major, ``(rows, N)``: a step's
``z`` and gates are one ``(4U, N)`` block with each gate's rows contiguous (a gate's
columns of an ``(N, 4U)`` block are strided, 2–4× the time per call), and ``z_t`` is one
product ``(W_h; W_x; b)ᵀ·(h_{t−1}; x_t; 1)``. The products above that need only forward
values (``o ⊙ (1 − tanh² c)``, ``g ⊙ σ'(z_i)``, …) are formed for all steps at once, on
a gate-major copy of the gates, before the backward loop. The forward loop then makes 9
NumPy calls per step, the backward 8 (9 with ``return_sequences``); the parameter
gradients are the shared batched products on batch-major copies of δ, h and x.
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
    """The shared buffers plus the LSTM's own, feature-major: a step's array is ``(rows, N)``.

    ``z[t]``, ``gates[t]`` and ``gz[t]`` (δ_t) are ``(4U, N)`` with gate ``k`` in rows
    ``k·U … (k+1)·U``; the base's batch-major ``z``, ``d``, ``ext`` and ring buffers are
    reused, reshaped feature-major; ``h``, ``dh``, ``delta``, ``xt`` are filled batch-major
    for the shared gradient products and the trace.
    """

    def __init__(self, layer: LSTM, n: int, backward: bool) -> None:
        super().__init__(layer, n, backward)
        t, f, u, dt = layer.steps, layer.inputs, layer.units, layer.dtype
        self.hx = np.zeros((t + 1, u + f + 1, n), dt)  # hx[t] = (h_{t−1}; x_t; 1): z_t is one product
        self.hx[:, u + f] = 1
        self.w = np.empty((4 * u, u + f + 1), dt)  # (W_h; W_x; b)ᵀ with gate rows scaled by s
        self.z = self.z.reshape(t, 4 * u, n)  # the base's buffer, reused feature-major
        self.gates = np.empty((t, 4 * u, n), dt)  # i, f, g, o after their nonlinearity
        self.c = np.zeros((t + 1, u, n), dt)  # c[t] = c_t, c[0] = 0
        self.tc = np.empty((t, u, n), dt)  # tanh(c_t) of step t
        self.tmp_g = self.tmp_g.reshape(4 * u, n)
        self.tmp_c, self.tmp_c2 = np.empty((u, n), dt), np.empty((u, n), dt)
        # s and the gate offsets as whole (4U, N) blocks: same-shape ufuncs are ~3× faster than broadcasting
        self.scale = np.ascontiguousarray(np.broadcast_to(layer._scale[:, None], (4 * u, n)))
        self.offset = np.ascontiguousarray(np.broadcast_to(layer._offset[:, None], (4 * u, n)))
        self.z_steps, self.hx_steps, self.gate_steps = list(self.z), list(self.hx), list(self.gates)
        self.h_steps = [x[:u] for x in self.hx]  # h_t is written straight into hx[t + 1]
        self.c_steps, self.tc_steps = list(self.c), list(self.tc)
        self.i_steps, self.f_steps, self.g_steps, self.o_steps = (
            [g[k * u : (k + 1) * u] for g in self.gates] for k in range(4)
        )
        if not backward:
            return
        # the whole-sequence products read each gate of all steps: a gate-major copy makes them contiguous
        self.g4 = np.empty((4, t, u, n), dt)
        self.d = self.d.reshape(4, t, u, n)  # f'(z_t): σ' for i, f, o; tanh' for g
        self.op = np.empty((t, u, n), dt)  # ∂h_t/∂c_t = o ⊙ (1 − tanh² c_t)
        self.rd = np.empty((3, t, u, n), dt)  # (g⊙σ'(z_i), c_{t−1}⊙σ'(z_f), i⊙tanh'(z_g))
        self.td = np.empty((t, u, n), dt)  # tanh(c_t) ⊙ σ'(z_o)
        self.gh = np.zeros((t, u, n), dt)  # ∂L/∂h_t (the base's dh, delta: batch-major copies)
        self.gc = np.zeros((t, u, n), dt)  # ∂L/∂c_t
        self.gz = np.zeros((t, 4 * u, n), dt)  # ∂L/∂z_t = δ_t
        self.tmp_u = self.tmp_u.reshape(u, n)
        self.tmp_u2 = np.empty((u, n), dt)
        self.op_steps, self.td_steps = list(self.op), list(self.td)
        self.gh_steps, self.gc_steps, self.gz_steps = list(self.gh), list(self.gc), list(self.gz)
        self.rdi_steps, self.rdf_steps, self.rdg_steps = (list(r) for r in self.rd)
        self.di_steps, self.df_steps, self.dg_steps, self.do_steps = (
            [d[k * u : (k + 1) * u] for d in self.gz] for k in range(4)
        )
        if layer.return_sequences and layer.window < t:  # the ring: one (rows, N) block per live term
            k = layer.window
            self.ext = self.ext.reshape(t, u, n)
            self.ring_h, self.ring_c, self.ring_dc = (
                a.reshape(k, u, n) for a in (self.ring_h, self.ring_c, self.ring_dc)
            )
            self.ring_z = self.ring_z.reshape(k, 4 * u, n)


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
        T, F, u = self.steps, self.inputs, self.units
        np.copyto(buf.hx[:T, u : u + F], X.transpose(1, 2, 0))  # x_t as rows, (F, N)
        w, s = buf.w, self._scale[:, None]  # z is kept scaled by s: all four gates are then one tanh
        np.multiply(self.params["W_h"].T, s, out=w[:, :u])
        np.multiply(self.params["W_x"].T, s, out=w[:, u : u + F])
        np.multiply(self.params["b"], self._scale, out=w[:, u + F])
        z, hx, h, gates = buf.z_steps, buf.hx_steps, buf.h_steps, buf.gate_steps
        i, f, g, o, c, tc = buf.i_steps, buf.f_steps, buf.g_steps, buf.o_steps, buf.c_steps, buf.tc_steps
        scale, off, tmp_g, fc, ig = buf.scale, buf.offset, buf.tmp_g, buf.tmp_c, buf.tmp_c2
        # ~0.4 µs per call at this size: local names, `out` passed positionally (keyword parsing costs
        # ~0.05 µs) and no in-place ops (their overlap check costs ~0.1 µs)
        dot, tanh, mul, add = np.dot, np.tanh, np.multiply, np.add
        for t in range(self.steps):  # h_0 = c_0 = 0 make step 0 no special case
            zt, gt, ct = z[t], gates[t], c[t + 1]
            dot(w, hx[t], zt)  # s ⊙ (W_hᵀh_{t−1} + W_xᵀx_t + b): one BLAS call (np.dot: less overhead)
            tanh(zt, gt)
            mul(gt, scale, tmp_g)
            add(tmp_g, off, gt)  # i, f, o = σ(z), g = tanh(z)
            mul(f[t], c[t], fc)
            mul(i[t], g[t], ig)
            add(fc, ig, ct)  # c_t = f ⊙ c_{t−1} + i ⊙ g
            tanh(ct, tc[t])
            mul(o[t], tc[t], h[t + 1])  # h_t = o ⊙ tanh(c_t)
        if self.return_sequences:
            np.copyto(buf.out, buf.hx[1:, :u].transpose(2, 0, 1))
        else:
            np.copyto(buf.out, buf.hx[T, :u].T)
        return buf.out

    def forward(self, X: Array) -> Array:
        self._check(X)
        buf = self._cached(self._buffers, X.shape[0], lambda n: _LSTMBuffers(self, n, backward=True))
        self._buf = buf
        return self._forward_into(X, buf)

    def _local_derivatives(self, buf: _LSTMBuffers) -> None:
        """Every factor of the backward pass that needs only forward values, all steps at once."""
        t, G, D = self.steps, buf.g4, buf.d
        np.copyto(G.reshape(4, t, -1), buf.gates.reshape(t, 4, -1).swapaxes(0, 1))
        gi, _, gg, go = G
        np.subtract(1.0, G, out=D)
        D *= G  # σ'(z) = σ(1 − σ) for i, f, o
        np.multiply(gg, gg, out=D[2])
        np.subtract(1.0, D[2], out=D[2])  # tanh'(z_g) = 1 − g²
        np.multiply(buf.tc, buf.tc, out=buf.op)
        np.subtract(1.0, buf.op, out=buf.op)
        buf.op *= go  # ∂h_t/∂c_t = o ⊙ (1 − tanh² c_t)
        rd = buf.rd
        np.multiply(gg, D[0], out=rd[0])  # ∂c_t/∂z_i = g ⊙ σ'(z_i)
        np.multiply(buf.c[:-1], D[1], out=rd[1])  # ∂c_t/∂z_f = c_{t−1} ⊙ σ'(z_f)
        np.multiply(gi, D[2], out=rd[2])  # ∂c_t/∂z_g = i ⊙ tanh'(z_g)
        np.multiply(buf.tc, D[3], out=buf.td)  # ∂h_t/∂z_o = tanh(c_t) ⊙ σ'(z_o)

    def _load_output_grad_fm(self, dA: Array, buf: _LSTMBuffers) -> None:
        """The loss's direct ∂L/∂h_t, feature-major, into ``gh`` (or ``ext`` for the ring)."""
        T, u = self.steps, self.units
        if self.return_sequences:
            target = buf.ext if self.window < T else buf.gh
            np.copyto(target, dA.reshape(-1, T, u).transpose(1, 2, 0))
        else:  # only h_T has one; the recurrence overwrites ∂L/∂h_t of every earlier step it reaches
            np.copyto(buf.gh[T - 1], dA.reshape(-1, u).T)

    def backward(self, dA: Array, need_dX: bool) -> Array | None:
        buf = self._buf
        assert buf is not None, "backward before forward"
        T, k = self.steps, self.window
        self._local_derivatives(buf)
        self._load_output_grad_fm(dA, buf)
        if self.return_sequences and k < T:
            self._backward_ring(buf)
            return self._param_grads_fm(buf, need_dX)
        W_h = self.params["W_h"]
        dh, dc, delta, tmp, tmp2 = buf.gh_steps, buf.gc_steps, buf.gz_steps, buf.tmp_u, buf.tmp_u2
        op, td, f = buf.op_steps, buf.td_steps, buf.f_steps
        rdi, rdf, rdg = buf.rdi_steps, buf.rdf_steps, buf.rdg_steps
        di, df, dg, do = buf.di_steps, buf.df_steps, buf.dg_steps, buf.do_steps
        dot, mul, add = np.dot, np.multiply, np.add  # see _forward_into
        first = 0 if self.return_sequences else T - k  # many-to-one truncated: steps T−k+1 … T only
        for t in range(T - 1, first - 1, -1):
            dct = dc[t]
            if t < T - 1:  # ∂L/∂c_t = ∂L/∂h_t ⊙ o ⊙ (1 − tanh² c_t) + ∂L/∂c_{t+1} ⊙ f_{t+1}
                mul(dh[t], op[t], tmp)
                mul(dc[t + 1], f[t + 1], tmp2)
                add(tmp, tmp2, dct)
            else:
                mul(dh[t], op[t], dct)
            mul(rdi[t], dct, di[t])  # δ_i, δ_f, δ_g = ∂L/∂c_t ⊙ ∂c_t/∂z (3 calls: broadcasting costs more)
            mul(rdf[t], dct, df[t])
            mul(rdg[t], dct, dg[t])
            mul(dh[t], td[t], do[t])  # δ_o = ∂L/∂h_t ⊙ ∂h_t/∂z_o
            if t > first:
                if self.return_sequences:  # ∂L/∂h_{t−1} = direct + W_h·δ_t (transposed: δ_t·W_hᵀ)
                    dot(W_h, delta[t], tmp)
                    add(dh[t - 1], tmp, dh[t - 1])
                else:
                    dot(W_h, delta[t], dh[t - 1])
        if first:
            buf.gz[:first] = 0
            buf.gc[:first] = 0
            buf.gh[:first] = 0
        return self._param_grads_fm(buf, need_dX)

    def _param_grads_fm(self, buf: _LSTMBuffers, need_dX: bool) -> Array | None:
        """The shared batched gradient products, on batch-major copies of δ, h and x."""
        T, F, u = self.steps, self.inputs, self.units
        np.copyto(buf.delta, buf.gz.transpose(0, 2, 1))
        np.copyto(buf.h[1:], buf.hx[1:, :u].transpose(0, 2, 1))
        np.copyto(buf.xt, buf.hx[:T, u : u + F].transpose(0, 2, 1))
        return self._param_grads(buf, need_dX)

    def _backward_ring(self, buf: _LSTMBuffers) -> None:
        """Truncated BPTT with a loss term at every step: one (∂L/∂h, ∂L/∂c) per live term."""
        T, k, n, u = self.steps, self.window, buf.hx.shape[2], self.units
        W_h = self.params["W_h"]
        Sh, Sz, Sc, Sdc, ext = buf.ring_h, buf.ring_z, buf.ring_c, buf.ring_dc, buf.ext  # (k, ·, N)
        Sz3, Sz_o, Sdc_b = Sz.reshape(k, 4, u, n)[:, :3], Sz[:, 3 * u :], Sdc[:, None]
        op, rd3, td, f = buf.op_steps, list(buf.rd.swapaxes(0, 1)), buf.td_steps, buf.f_steps
        dh, dc, delta = buf.gh_steps, buf.gc_steps, buf.gz_steps
        Sh.fill(0)
        Sc.fill(0)
        np.copyto(Sh[(T - 1) % k], ext[T - 1])
        for t in range(T - 1, -1, -1):
            np.sum(Sh, axis=0, out=dh[t])  # ∂L/∂h_t: the sum over the live loss terms
            np.multiply(Sh, op[t], out=Sdc)
            Sdc += Sc  # each term's ∂L/∂c_t
            np.multiply(rd3[t], Sdc_b, out=Sz3)  # each term's δ_i, δ_f, δ_g
            np.multiply(Sh, td[t], out=Sz_o)  # each term's δ_o
            np.sum(Sz, axis=0, out=delta[t])
            np.sum(Sdc, axis=0, out=dc[t])
            if t:
                np.matmul(W_h, Sz, out=Sh)  # each term's ∂L/∂h_{t−1}
                np.multiply(Sdc, f[t], out=Sc)  # each term's ∂L/∂c_{t−1} through c_t = f_t ⊙ c_{t−1} + …
                slot = (t - 1) % k  # term t−1+k has used its k steps; term t−1 starts
                np.copyto(Sh[slot], ext[t - 1])
                Sc[slot] = 0

    def _gate_arrays(self, buf: _LSTMBuffers) -> dict[str, Array]:
        u = self.units
        G = buf.gates.transpose(2, 0, 1)  # batch-major (N, T, 4U), as the trace has always been
        return {
            "z": (buf.z / self._scale[:, None]).transpose(2, 0, 1),
            "i": G[..., :u].copy(),
            "f": G[..., u : 2 * u].copy(),
            "g": G[..., 2 * u : 3 * u].copy(),
            "o": G[..., 3 * u :].copy(),
            "c": buf.c[1:].transpose(2, 0, 1).copy(),
            "h": buf.hx[1:, :u].transpose(2, 0, 1).copy(),
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
        np.copyto(buf.h[1:], buf.hx[1:, : self.units].transpose(0, 2, 1))  # batch-major for the shared trace
        np.copyto(buf.dh, buf.gh.transpose(0, 2, 1))
        return {
            **self._gate_arrays(buf),
            **self._recurrent_trace(buf),
            "dc": buf.gc.transpose(2, 0, 1).copy(),
        }

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(forget_bias=self.forget_bias, gate_order=["i", "f", "g", "o"])
        return d
