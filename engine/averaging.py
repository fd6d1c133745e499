"""Exponential moving average (Polyak-style) of the flat parameter vector.

    ema_1 = θ_1                              (the first update copies θ, so no bias toward 0)
    ema_n = β·ema_{n−1} + (1 − β)·θ_n        (β = ``decay``)

Kept as the discounted sum S_n = ema_n/(1 − β), which obeys S_n = β·S_{n−1} + θ_n:
two in-place NumPy calls per update and no scratch array, where ema itself would
need three. :attr:`WeightAverage.values` multiplies back by (1 − β) on read, so
after the first update it equals θ up to a couple of roundings (not bit for bit).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = ["WeightAverage"]

Array = NDArray[np.floating]


class WeightAverage:
    """EMA of ``size`` parameters with ``decay`` β in (0, 1); ``count`` is the number of updates."""

    def __init__(self, size: int, dtype: DTypeLike, decay: float) -> None:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 0:
            raise ValueError(f"weight average size must be an integer ≥ 0, got {size!r}")
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise ValueError(f"weight average dtype must be float64 or float32, got {dtype!r}") from None
        if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"weight average dtype must be float64 or float32, got {dt.name}")
        ok = not isinstance(decay, bool) and isinstance(decay, numbers.Real) and math.isfinite(decay)
        if not ok or not 0.0 < float(decay) < 1.0:
            raise ValueError(f"weight average decay must be a number in (0, 1), got {decay!r}")
        self.size: int = int(size)
        self.dtype: np.dtype[Any] = dt
        self.decay: float = float(decay)
        self.count: int = 0
        self._sum: Array = np.zeros(self.size, dt)  # S = ema/(1 − β)

    def update(self, theta: Array) -> None:
        """Fold θ into the average (the first call copies it)."""
        if theta.shape != (self.size,):
            raise ValueError(f"theta must have shape [{self.size}], got {list(theta.shape)}")
        if self.count:
            self._sum *= self.decay
            self._sum += theta
        else:
            np.multiply(theta, 1.0 / (1.0 - self.decay), out=self._sum)
        self.count += 1

    @property
    def values(self) -> Array:
        """A new array holding the current average; ``ValueError`` before the first update."""
        if not self.count:
            raise ValueError("the weight average has no values before its first update")
        values: Array = np.multiply(self._sum, 1.0 - self.decay)
        return values

    def reset(self) -> None:
        """Forget every update."""
        self._sum.fill(0.0)
        self.count = 0

    def state(self) -> dict[str, Any]:
        """``{"count", "decay", "discounted_sum"}``: the internal S, so a resume is bit-exact."""
        return {"count": self.count, "decay": self.decay, "discounted_sum": self._sum.copy()}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state`; everything is checked before anything changes."""
        if not isinstance(state, dict) or set(state) != {"count", "decay", "discounted_sum"}:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"weight average state must have keys count, decay, discounted_sum; got {got}")
        count = state["count"]
        if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 0:
            raise ValueError(f"weight average count must be an integer ≥ 0, got {count!r}")
        if state["decay"] != self.decay:
            raise ValueError(
                f"weight average state has decay {state['decay']!r}, this average uses {self.decay}"
            )
        try:
            values = np.asarray(state["discounted_sum"], dtype=self.dtype)
        except (TypeError, ValueError):
            raise ValueError("weight average discounted_sum: not an array of numbers") from None
        if values.shape != (self.size,):
            raise ValueError(
                f"weight average discounted_sum: expected shape [{self.size}], got {list(values.shape)}"
            )
        if not np.all(np.isfinite(values)):
            raise ValueError("weight average discounted_sum: values must be finite")
        np.copyto(self._sum, values)
        self.count = int(count)
