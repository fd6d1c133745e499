"""A ring of the most recent per-step loss points of one session.

The trainer writes every step's (step, loss, lr) here; each frame carries the
points since the previous frame, and a client that missed frames is sent the
points it missed from this ring, so its loss curve stays complete.
"""

from __future__ import annotations

import threading

import numpy as np
from numpy.typing import NDArray

__all__ = ["PointsRing"]


class PointsRing:
    def __init__(self, capacity: int = 1 << 16) -> None:
        self.capacity = capacity
        self._step = np.zeros(capacity, np.float64)
        self._loss = np.zeros(capacity, np.float64)
        self._lr = np.zeros(capacity, np.float64)
        self._count = 0  # points ever written in this generation
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._count = 0

    def extend(self, first_step: int, losses: NDArray[np.float64], lrs: NDArray[np.float64]) -> None:
        """Append points for steps first_step+1 … first_step+len(losses)."""
        n = len(losses)
        if n == 0:
            return
        if n > self.capacity:
            first_step += n - self.capacity
            losses, lrs = losses[-self.capacity :], lrs[-self.capacity :]
            n = self.capacity
        steps = np.arange(first_step + 1, first_step + n + 1, dtype=np.float64)
        with self._lock:
            start = self._count % self.capacity
            head = min(n, self.capacity - start)
            self._step[start : start + head] = steps[:head]
            self._loss[start : start + head] = losses[:head]
            self._lr[start : start + head] = lrs[:head]
            if head < n:
                self._step[: n - head] = steps[head:]
                self._loss[: n - head] = losses[head:]
                self._lr[: n - head] = lrs[head:]
            self._count += n

    def since(self, step: float) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Copies of the points with step number > ``step`` still held, oldest first.

        Step numbers only rise within a generation, so the held points are sorted: a binary
        search finds the first one wanted, and only the points asked for are copied (a frame
        asks for a few hundred of the 65,536 held).
        """
        with self._lock:
            held = min(self._count, self.capacity)
            start = (self._count - held) % self.capacity
            # the held points in order: [start, start + held) wrapped around the end of the arrays
            head = slice(start, min(start + held, self.capacity))
            tail = slice(0, held - (head.stop - head.start))
            spans = []
            for span in (head, tail):
                if span.stop > span.start:
                    first = span.start + int(np.searchsorted(self._step[span], step, side="right"))
                    if first < span.stop:
                        spans.append(slice(first, span.stop))
            if not spans:
                empty = np.zeros(0)
                return empty, empty, empty
            def gather(column: NDArray[np.float64]) -> NDArray[np.float64]:
                return np.concatenate([column[span] for span in spans])

            return gather(self._step), gather(self._loss), gather(self._lr)

    @property
    def last_step(self) -> float:
        with self._lock:
            if self._count == 0:
                return -1.0
            return float(self._step[(self._count - 1) % self.capacity])
