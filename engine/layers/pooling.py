"""Parameter-free layers over feature maps: ``maxpool2d``, ``avgpool2d`` and ``flatten``.

Pooling shapes (batch axis first): ``X: (N, C, H, W)`` → ``A: (N, C, H', W')`` with
window ``k`` (``size``) and stride ``s`` (default ``k``)::

    H' = ⌊(H − k)/s⌋ + 1        (floor: rows past the last whole window are dropped
                                 and get zero gradient; no padding)

- ``maxpool2d``: ``A[n, c, y, x] = max_{i,j<k} X[n, c, y·s + i, x·s + j]``. The forward
  pass records which input won (``argmax``); at a tie the *first* maximum in the
  window's row-major order wins, and the whole gradient goes to that one input:
  ``∂L/∂X[winner] += ∂L/∂A``, every other input of the window gets nothing. (A max
  is not differentiable at a tie; this choice is one subgradient.)
- ``avgpool2d``: ``A = mean of the window``; ``∂L/∂X[n, c, y·s + i, x·s + j] += ∂L/∂A[n, c, y, x] / k²``.
- ``flatten``: ``(N, *shape)`` → ``(N, prod(shape))`` in C order; backward reshapes back.

Windows are strided views (no copy of the input per window); when windows
overlap (``s < k``) the backward pass sums the k² offset slices into ∂L/∂X, and
when they tile (``s = k``) it writes them in one call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided
from numpy.typing import NDArray

from engine.layers.base import Array, Layer

__all__ = ["AvgPool2D", "Flatten", "MaxPool2D"]

IntArray = NDArray[np.intp]


class _Pool(Layer):
    """Shared shape logic of the two pooling layers."""

    def __init__(self, input_shape: tuple[int, ...], size: int, stride: int, dtype: np.dtype[Any]) -> None:
        super().__init__(input_shape, dtype)
        if len(self.input_shape) != 3:
            raise ValueError(
                f"{self.kind} needs inputs shaped [channels, height, width], got {list(self.input_shape)}"
            )
        if size < 1 or stride < 1:
            raise ValueError(f"{self.kind} size and stride must be ≥ 1, got size {size}, stride {stride}")
        c, h, w = self.input_shape
        if size > h or size > w:
            raise ValueError(f"{self.kind} size {size} is larger than the input's height/width {h}×{w}")
        self.size, self.stride = size, stride
        self.output_shape = (c, (h - size) // stride + 1, (w - size) // stride + 1)
        self._dX: dict[int, Array] = {}

    def _check(self, X: Array) -> None:
        if X.shape[1:] != self.input_shape:
            raise ValueError(
                f"{self.kind} expects inputs of shape [n, {', '.join(map(str, self.input_shape))}], "
                f"got {list(X.shape)}"
            )

    def _windows(self, X: Array) -> Array:
        """A read-only view ``(N, C, H', W', k, k)`` of every window of ``X``."""
        n = X.shape[0]
        _, ho, wo = self.output_shape
        sn, sc, sh, sw = X.strides
        s, k = self.stride, self.size
        return as_strided(
            X, (n, self.input_shape[0], ho, wo, k, k), (sn, sc, sh * s, sw * s, sh, sw), writeable=False
        )

    def _dX_for(self, n: int) -> Array:
        dX = self._dX.get(n)
        if dX is None:
            if len(self._dX) > 4:
                self._dX.clear()
            dX = self._dX[n] = np.zeros((n, *self.input_shape), self.dtype)
        return dX

    def _scatter(self, G: Array, dX: Array) -> None:
        """Add each window's gradient ``G: (N, C, H', W', k, k)`` into ``dX: (N, C, H, W)``.

        Tiling windows (s = k) cover disjoint inputs: one strided copy; inputs past
        the last window are never written and stay zero. Overlapping windows
        (s < k) sum k² offset slices; gapped ones (s > k) leave the gaps at zero.
        """
        n, c, ho, wo, k, _ = G.shape
        s = self.stride
        if s == k:
            tiles = dX[:, :, : ho * k, : wo * k].reshape(n, c, ho, k, wo, k)
            np.copyto(tiles, G.transpose(0, 1, 2, 4, 3, 5))
            return
        dX.fill(0)
        for i in range(k):
            for j in range(k):
                dX[:, :, i : i + (ho - 1) * s + 1 : s, j : j + (wo - 1) * s + 1 : s] += G[..., i, j]


class _MaxBuffers:
    """Scratch arrays of one max-pooling layer for one batch size."""

    __slots__ = ("G", "a", "idx", "onehot", "win")

    def __init__(self, layer: MaxPool2D, n: int) -> None:
        k2 = layer.size * layer.size
        self.win = np.empty((n, *layer.output_shape, k2), layer.dtype)
        self.idx: IntArray = np.empty((n, *layer.output_shape), np.intp)
        self.a = np.empty((n, *layer.output_shape), layer.dtype)
        self.onehot = np.empty((n, *layer.output_shape, k2), np.bool_)
        self.G = np.empty((n, *layer.output_shape, k2), layer.dtype)


class MaxPool2D(_Pool):
    """``maxpool2d``: max over each window; ties route the gradient to the first maximum."""

    kind = "maxpool2d"

    def __init__(self, input_shape: tuple[int, ...], size: int, stride: int, dtype: np.dtype[Any]) -> None:
        super().__init__(input_shape, size, stride, dtype)
        self._window_offsets = np.arange(size * size)
        self._buffers: dict[int, _MaxBuffers] = {}
        self._buf: _MaxBuffers | None = None

    def _pool(self, X: Array, buf: _MaxBuffers) -> None:
        k = self.size
        np.copyto(buf.win.reshape(*buf.win.shape[:-1], k, k), self._windows(X))
        np.argmax(buf.win, axis=-1, out=buf.idx)  # the first maximum in row-major window order
        np.max(buf.win, axis=-1, out=buf.a)

    def forward(self, X: Array) -> Array:
        self._check(X)
        n = X.shape[0]
        buf = self._buffers.get(n)
        if buf is None:
            if len(self._buffers) > 4:
                self._buffers.clear()
            buf = self._buffers[n] = _MaxBuffers(self, n)
        self._pool(X, buf)
        self._buf = buf
        return buf.a

    def backward(self, dA: Array, need_dX: bool) -> Array | None:
        buf = self._buf
        assert buf is not None, "backward before forward"
        if not need_dX:
            return None
        k = self.size
        # ∂L/∂X[winner] = ∂L/∂A, every other input of the window gets 0: a one-hot carries it there
        np.equal(buf.idx[..., None], self._window_offsets, out=buf.onehot)
        np.multiply(buf.onehot, dA.reshape(buf.a.shape)[..., None], out=buf.G)
        dX = self._dX_for(dA.shape[0])
        self._scatter(buf.G.reshape(*buf.G.shape[:-1], k, k), dX)
        return dX

    def argmax_flat(self, idx: IntArray) -> IntArray:
        """Window-relative winners → flat index ``row·W + col`` in the input's (H, W) plane."""
        _, ho, wo = self.output_shape
        s, k, w = self.stride, self.size, self.input_shape[2]
        rows = np.arange(ho)[:, None] * s + idx // k
        cols = np.arange(wo)[None, :] * s + idx % k
        flat: IntArray = rows * w + cols
        return flat

    def infer(self, X: Array) -> dict[str, Array]:
        X = np.asarray(X)
        self._check(X)
        buf = _MaxBuffers(self, X.shape[0])
        self._pool(X, buf)
        return {"a": buf.a, "argmax": self.argmax_flat(buf.idx)}

    def trace(self) -> dict[str, Array]:
        buf = self._buf
        if buf is None:
            return {}
        return {"a": buf.a.copy(), "argmax": self.argmax_flat(buf.idx)}

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(size=self.size, stride=self.stride)
        return d


class AvgPool2D(_Pool):
    """``avgpool2d``: mean over each window."""

    kind = "avgpool2d"

    def __init__(self, input_shape: tuple[int, ...], size: int, stride: int, dtype: np.dtype[Any]) -> None:
        super().__init__(input_shape, size, stride, dtype)
        self._a: Array | None = None

    def _pool(self, X: Array, out: Array) -> Array:
        np.sum(self._windows(X), axis=(4, 5), out=out)
        out *= 1.0 / (self.size * self.size)
        return out

    def forward(self, X: Array) -> Array:
        self._check(X)
        n = X.shape[0]
        if self._a is None or self._a.shape[0] != n:
            self._a = np.empty((n, *self.output_shape), self.dtype)
        return self._pool(X, self._a)

    def backward(self, dA: Array, need_dX: bool) -> Array | None:
        assert self._a is not None, "backward before forward"
        if not need_dX:
            return None
        k = self.size
        # ∂L/∂X = ∂L/∂A / k² for every input of the window
        share = dA.reshape(self._a.shape) * (1.0 / (k * k))
        G = np.broadcast_to(share[..., None, None], (*share.shape, k, k))
        dX = self._dX_for(dA.shape[0])
        self._scatter(G, dX)
        return dX

    def infer(self, X: Array) -> dict[str, Array]:
        X = np.asarray(X)
        self._check(X)
        return {"a": self._pool(X, np.empty((X.shape[0], *self.output_shape), self.dtype))}

    def trace(self) -> dict[str, Array]:
        return {} if self._a is None else {"a": self._a.copy()}

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d.update(size=self.size, stride=self.stride)
        return d


class Flatten(Layer):
    """``flatten``: ``(N, *shape)`` → ``(N, prod(shape))``; ∂L/∂X is ∂L/∂A reshaped back."""

    kind = "flatten"

    def __init__(self, input_shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        super().__init__(input_shape, dtype)
        self.output_shape = (int(np.prod(self.input_shape)),)

    def _check(self, X: Array) -> None:
        if X.shape[1:] != self.input_shape:
            raise ValueError(
                f"flatten expects inputs of shape [n, {', '.join(map(str, self.input_shape))}], "
                f"got {list(X.shape)}"
            )

    def forward(self, X: Array) -> Array:
        self._check(X)
        return X.reshape(X.shape[0], -1)

    def backward(self, dA: Array, need_dX: bool) -> Array | None:
        return dA.reshape(dA.shape[0], *self.input_shape) if need_dX else None

    def infer(self, X: Array) -> dict[str, Array]:
        X = np.asarray(X)
        self._check(X)
        return {"a": X.reshape(X.shape[0], -1)}
