"""Bounded curves of a run: per-step loss and learning rate, and evaluation points.

A curve keeps at most ``capacity`` points. When it fills up it drops every
other point and from then on records only every ``stride``-th step, with the
stride doubled: the whole run stays visible, evenly thinned, in bounded memory.
The thinning depends only on step numbers, so it is deterministic and survives
``state()`` / ``load_state()`` exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["EVAL_FIELDS", "STEP_FIELDS", "Curve", "History"]

STEP_FIELDS = ("loss", "lr")
EVAL_FIELDS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")
DEFAULT_CAPACITY = 8192


class Curve:
    """Columns of float64 values indexed by an increasing step number."""

    def __init__(self, fields: tuple[str, ...], capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 2 or capacity % 2:
            raise ValueError(f"capacity must be an even number ≥ 2, got {capacity}")
        self.fields = fields
        self.capacity = capacity
        self.stride = 1
        self.length = 0
        self._steps = np.zeros(capacity, np.int64)
        self._values = np.full((len(fields), capacity), np.nan)

    def record(self, step: int, *values: float) -> None:
        if step % self.stride:
            return
        if self.length == self.capacity:
            self._thin()
            if step % self.stride:
                return
        n = self.length
        self._steps[n] = step
        for k, v in enumerate(values):
            self._values[k, n] = v
        self.length = n + 1

    def _thin(self) -> None:
        # Steps recorded every k-th step (evaluations: every eval_every) may all divide a doubled
        # stride; double until the thinning drops points, or a full curve would overflow.
        while True:
            self.stride *= 2
            keep = self._steps[: self.length] % self.stride == 0
            kept = int(keep.sum())
            if kept < self.length:
                break
        self._steps[:kept] = self._steps[: self.length][keep]
        self._values[:, :kept] = self._values[:, : self.length][:, keep]
        self.length = kept

    @property
    def steps(self) -> NDArray[np.int64]:
        return self._steps[: self.length]

    def column(self, name: str) -> NDArray[np.float64]:
        return self._values[self.fields.index(name), : self.length]

    def amend(self, step: int, *values: float) -> None:
        """Record ``step`` whatever the stride, over the last point when that is the same step.

        For values that changed without a step (recover puts earlier weights back): the
        curve's last point must then be what the weights are now, not what they were.
        """
        if self.length and int(self._steps[self.length - 1]) == step:
            n = self.length - 1
        else:
            if self.length == self.capacity:
                self._thin()
            n = self.length
            self.length = n + 1
            self._steps[n] = step
        for k, v in enumerate(values):
            self._values[k, n] = v

    def last(self) -> dict[str, float] | None:
        if not self.length:
            return None
        out = {"step": float(self._steps[self.length - 1])}
        out.update({f: float(self._values[k, self.length - 1]) for k, f in enumerate(self.fields)})
        return out

    def state(self) -> dict[str, Any]:
        return {
            "stride": self.stride,
            "steps": self.steps.copy(),
            "values": self._values[:, : self.length].copy(),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        steps = np.asarray(state["steps"], np.int64)
        values = np.asarray(state["values"], np.float64)
        if steps.ndim != 1 or values.shape != (len(self.fields), len(steps)) or len(steps) > self.capacity:
            raise ValueError("history arrays have the wrong shape")
        self.stride = int(state["stride"])
        self.length = len(steps)
        self._steps[: self.length] = steps
        self._values[:, : self.length] = values

    def clear(self) -> None:
        self.stride, self.length = 1, 0


class History:
    """The per-step curve (loss, lr) and the evaluation curve of one session."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.steps = Curve(STEP_FIELDS, capacity)
        self.evals = Curve(EVAL_FIELDS, capacity)

    def state(self) -> dict[str, Any]:
        return {"steps": self.steps.state(), "evals": self.evals.state()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.steps.load_state(state["steps"])
        self.evals.load_state(state["evals"])

    def clear(self) -> None:
        self.steps.clear()
        self.evals.clear()
