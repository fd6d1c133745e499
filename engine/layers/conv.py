"""2-D convolution: ``z = K ⋆ X + b``, ``a = f(z)`` (a cross-correlation, as in every framework).

Shapes (batch axis first): ``X: (N, C, H, W)``, kernel ``W: (F, C, kh, kw)``,
``b: (F,)``, ``z, a, delta: (N, F, H', W')``. With ``Xp`` the zero-padded input
and ``s`` the stride::

    z[n, f, y, x] = b[f] + Σ_{c,i,j} W[f, c, i, j] · Xp[n, c, y·s + i, x·s + j]

Padding (rows shown; columns alike):

- ``"valid"``: no padding, ``H' = ⌊(H − kh)/s⌋ + 1``. Rows past the last whole
  window are never read and get zero gradient.
- ``"same"``: ``H' = ⌈H/s⌉`` (so ``H' = H`` at stride 1) with total padding
  ``P = max((H' − 1)·s + kh − H, 0)``: ``⌊P/2⌋`` zero rows on top, the rest at the
  bottom — TensorFlow's rule. For odd kernels at stride 1 this is PyTorch's
  ``padding="same"`` too; at stride 2 the odd extra row sits at the bottom/right.

Computation is im2col: the windows of ``Xp`` are copied once into
``cols: (N, C·kh·kw, H'·W')`` so the forward pass is one batched matmul
``z[n] = Wmat · cols[n]`` with ``Wmat = W.reshape(F, C·kh·kw)``. Backward:

- ``∂L/∂W = Σ_n δ[n] · cols[n]ᵀ`` — δ correlated with the input;
- ``∂L/∂b[f] = Σ_{n,y,x} δ[n, f, y, x]``;
- ``∂L/∂cols[n] = Wmatᵀ · δ[n]``, then col2im: each window position ``(i, j)``
  adds its slice into ``∂L/∂Xp[:, :, i::s, j::s]`` — ``kh·kw`` strided adds instead
  of a scatter (``np.add.at`` is an order of magnitude slower).

Every array, including the windows view, is preallocated per batch size, so a
step makes no arrays beyond a few views.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from engine.activations import Activation
from engine.layers.base import ActivatedLayer, Array, ParamSpec

__all__ = ["PADDINGS", "Conv2D", "conv_output_size"]

PADDINGS = ("valid", "same")


def conv_output_size(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int, int]:
    """``(output size, padding before, padding after)`` along one spatial axis."""
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return out, total // 2, total - total // 2
    if kernel > size:
        raise ValueError(f"kernel size {kernel} is larger than the input size {size} with padding 'valid'")
    return (size - kernel) // stride + 1, 0, 0


class _Buffers:
    """Scratch arrays of one conv layer for one batch size."""

    __slots__ = (
        "a",
        "col2im",
        "cols",
        "cols6",
        "dcols",
        "delta",
        "dk",
        "dx",
        "dxp",
        "windows",
        "x_in",
        "xp",
        "z",
    )

    def __init__(self, layer: Conv2D, n: int, backward: bool = True) -> None:
        c, h, w = layer.input_shape
        f, kh, kw, s = layer.filters, layer.kh, layer.kw, layer.stride
        ho, wo = layer.output_shape[1:]
        (top, bottom), (left, right) = layer.pads
        dt = layer.dtype
        self.xp = np.zeros((n, c, h + top + bottom, w + left + right), dt)
        self.x_in = self.xp[:, :, top : top + h, left : left + w]
        sn, sc, sh, sw = self.xp.strides
        self.windows = as_strided(
            self.xp, (n, c, kh, kw, ho, wo), (sn, sc, sh, sw, sh * s, sw * s), writeable=False
        )
        self.cols = np.empty((n, c * kh * kw, ho * wo), dt)
        self.cols6 = self.cols.reshape(n, c, kh, kw, ho, wo)
        self.z = np.empty((n, f, ho, wo), dt)
        self.a = np.empty((n, f, ho, wo), dt)
        if not backward:  # infer: forward arrays only
            return
        self.delta = np.empty((n, f, ho, wo), dt)
        self.dk = np.empty((n, f, c * kh * kw), dt)
        self.dcols = np.empty((n, c * kh * kw, ho * wo), dt)
        self.dxp = np.zeros_like(self.xp)
        self.dx = self.dxp[:, :, top : top + h, left : left + w]
        dcols6 = self.dcols.reshape(n, c, kh, kw, ho, wo)
        # (target, source) pairs of col2im: window offset (i, j) feeds Xp[.., i + y·s, j + x·s].
        self.col2im = [
            (self.dxp[:, :, i : i + (ho - 1) * s + 1 : s, j : j + (wo - 1) * s + 1 : s], dcols6[:, :, i, j])
            for i in range(kh)
            for j in range(kw)
        ]


class Conv2D(ActivatedLayer):
    """``conv2d``: input ``(C, H, W)`` → ``(filters, H', W')``; see the module docstring."""

    kind = "conv2d"

    def __init__(
        self,
        input_shape: tuple[int, ...],
        filters: int,
        kernel: tuple[int, int],
        stride: int,
        padding: str,
        activation: Activation,
        dtype: np.dtype[Any],
    ) -> None:
        super().__init__(input_shape, dtype)
        if len(self.input_shape) != 3:
            raise ValueError(
                f"conv2d needs inputs shaped [channels, height, width], got {list(self.input_shape)}"
            )
        if filters < 1:
            raise ValueError(f"conv2d filters must be ≥ 1, got {filters}")
        kh, kw = kernel
        if kh < 1 or kw < 1:
            raise ValueError(f"conv2d kernel sizes must be ≥ 1, got {[kh, kw]}")
        if stride < 1:
            raise ValueError(f"conv2d stride must be ≥ 1, got {stride}")
        if padding not in PADDINGS:
            raise ValueError(f"conv2d padding must be one of {', '.join(PADDINGS)}, got {padding!r}")
        c, h, w = self.input_shape
        ho, top, bottom = conv_output_size(h, kh, stride, padding)
        wo, left, right = conv_output_size(w, kw, stride, padding)
        self.filters, self.kh, self.kw, self.stride, self.padding = filters, kh, kw, stride, padding
        self.pads = ((top, bottom), (left, right))
        self.activation = activation
        self.output_shape = (filters, ho, wo)
        fan_in, fan_out = c * kh * kw, filters * kh * kw
        self.param_specs = [
            ParamSpec("W", (filters, c, kh, kw), "weight", fan_in, fan_out),
            ParamSpec("b", (filters,), "bias", fan_in, fan_out),
        ]
        self._buffers: dict[int, _Buffers] = {}
        self._buf: _Buffers | None = None

    def _buffers_for(self, n: int) -> _Buffers:
        buf = self._buffers.get(n)
        if buf is None:
            if len(self._buffers) > 4:  # batch sizes changed often: drop old ones
                self._buffers.clear()
            buf = self._buffers[n] = _Buffers(self, n)
        return buf

    def _check(self, X: Array) -> None:
        if X.shape[1:] != self.input_shape:
            raise ValueError(
                f"conv2d expects inputs of shape [n, {', '.join(map(str, self.input_shape))}], "
                f"got {list(X.shape)}"
            )

    def _forward_into(self, X: Array, buf: _Buffers) -> None:
        n, f = X.shape[0], self.filters
        np.copyto(buf.x_in, X)
        np.copyto(buf.cols6, buf.windows)  # im2col
        z3 = buf.z.reshape(n, f, -1)
        np.matmul(self.params["W"].reshape(f, -1), buf.cols, out=z3)  # z[n] = Wmat · cols[n]
        z3 += self.params["b"].reshape(f, 1)
        self.activation.forward(buf.z, buf.a)

    def forward(self, X: Array) -> Array:
        self._check(X)
        buf = self._buffers_for(X.shape[0])
        self._forward_into(X, buf)
        self._buf = buf
        return buf.a

    def backward(self, dA: Array, need_dX: bool) -> Array | None:
        buf = self._buf
        assert buf is not None, "backward before forward"
        # δ = ∂L/∂a · f'(z)
        self.activation.backward(buf.z, buf.a, dA.reshape(buf.a.shape), buf.delta)
        return self._backward_from_buffer(need_dX)

    def _backward_from_buffer(self, need_dX: bool) -> Array | None:
        buf = self._buf
        assert buf is not None
        n, f = buf.delta.shape[:2]
        delta3 = buf.delta.reshape(n, f, -1)
        # ∂L/∂Wmat = Σ_n δ[n]·cols[n]ᵀ;  ∂L/∂b = Σ_{n,y,x} δ (δ already carries the loss's 1/N)
        np.matmul(delta3, buf.cols.transpose(0, 2, 1), out=buf.dk)
        np.sum(buf.dk, axis=0, out=self.grads["W"].reshape(f, -1))
        np.sum(delta3, axis=(0, 2), out=self.grads["b"])
        if not need_dX:
            return None
        # ∂L/∂cols[n] = Wmatᵀ·δ[n], then col2im sums each window offset's share into ∂L/∂Xp
        np.matmul(self.params["W"].reshape(f, -1).T, delta3, out=buf.dcols)
        buf.dxp.fill(0)
        for target, source in buf.col2im:
            target += source
        return buf.dx

    def infer(self, X: Array) -> dict[str, Array]:
        X = np.asarray(X)
        self._check(X)
        buf = _Buffers(self, X.shape[0], backward=False)
        self._forward_into(X, buf)
        return {"z": buf.z, "a": buf.a}

    def trace(self) -> dict[str, Array]:
        buf = self._buf
        if buf is None:
            return {}
        return {
            "input": buf.x_in.copy(),
            "z": buf.z.copy(),
            "a": buf.a.copy(),
            "delta": buf.delta.copy(),
        }

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(
            filters=self.output_shape[0], kernel=[self.kh, self.kw], stride=self.stride, padding=self.padding
        )
        return d
