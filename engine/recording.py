"""Time travel: snapshots of a run, dense recent and sparse old, and exact reconstruction.

A :class:`Recorder` keeps full session states (weights, optimizer buffers,
counters, RNG, data order — everything but the loss history) at some steps.
Any step N inside the recorded range is rebuilt exactly by loading the newest
snapshot at or before N and replaying the steps in between: the engine is
deterministic, so the replay is bit for bit the run as it was.

That only holds if nothing but training happened between the snapshot and N.
So every change that is not a training step — a hyperparameter change, new
parameters, a recovery — must be followed by :meth:`Recorder.capture` with
``pin=True``: pinned snapshots mark where the rules changed and are never
thinned (only dropped from the old end when the budget is gone).

Thinning: when more than ``max_snapshots`` are held, the unpinned snapshot
whose removal leaves the smallest gap *relative to its age* goes first. The
spacing therefore grows with age: recent steps replay in a few steps, old ones
in more, and memory stays within the budget.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.history import History
from engine.session import StepResult, TrainingSession

__all__ = ["Recorder", "Snapshot", "replay"]

_EMPTY_HISTORY = History(2).state()


@dataclass
class Snapshot:
    step: int
    state: dict[str, Any]
    pinned: bool
    nbytes: int


def _state_bytes(state: dict[str, Any]) -> int:
    total = 0
    stack: list[Any] = [state]
    while stack:
        value = stack.pop()
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        else:
            total += 8
    return total


class Recorder:
    def __init__(
        self, budget_bytes: int = 16 * 1024 * 1024, min_gap: int = 1, max_snapshots: int = 512
    ) -> None:
        if budget_bytes < 1024 or min_gap < 1 or max_snapshots < 4:
            raise ValueError("budget_bytes ≥ 1024, min_gap ≥ 1 and max_snapshots ≥ 4 are required")
        self.budget_bytes = budget_bytes
        self.min_gap = min_gap
        self.max_snapshots = max_snapshots
        self.snapshots: list[Snapshot] = []

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.snapshots)

    @property
    def first_step(self) -> int | None:
        return self.snapshots[0].step if self.snapshots else None

    def clear(self) -> None:
        self.snapshots.clear()

    def capture(self, session: TrainingSession, pin: bool = False) -> bool:
        """Remember the session's state now; returns whether a snapshot was taken."""
        step = session.step_count
        last = self.snapshots[-1] if self.snapshots else None
        if last is not None and not pin:
            if step < last.step + self.min_gap:
                return False
        state = session.state(history=False)
        state["history"] = copy.deepcopy(_EMPTY_HISTORY)
        snap = Snapshot(step, state, pin, _state_bytes(state))
        if last is not None and last.step == step:
            # A change at the same step replaces the earlier state: the new rules hold from here.
            snap.pinned = snap.pinned or last.pinned
            self.snapshots[-1] = snap
        else:
            self.snapshots.append(snap)
        self._thin(step)
        return True

    def _thin(self, now: int) -> None:
        snaps = self.snapshots
        while len(snaps) > self.max_snapshots or (self.nbytes > self.budget_bytes and len(snaps) > 2):
            steps = np.array([s.step for s in snaps], dtype=np.float64)
            removable = np.array([not s.pinned for s in snaps])
            removable[0] = removable[-1] = False  # keep the range's ends
            if not removable.any():
                snaps.pop(0)  # only pins are left: the recorded range shrinks from the old end
                continue
            gap = np.empty_like(steps)
            gap[1:-1] = steps[2:] - steps[:-2]
            age = np.maximum(now - steps, 1.0)
            score = np.where(removable, gap / age, np.inf)
            score[0] = score[-1] = np.inf
            snaps.pop(int(np.argmin(score)))

    def recorded_range(self, current_step: int) -> tuple[int, int] | None:
        if not self.snapshots:
            return None
        return self.snapshots[0].step, current_step

    def steps(self) -> list[int]:
        return [s.step for s in self.snapshots]

    def base_for(self, step: int, trace: bool = True) -> tuple[dict[str, Any], int]:
        """A copy of the snapshot to replay from for ``step``, and how many steps to replay.

        With ``trace`` the snapshot is strictly before ``step`` where possible, so that
        the step itself is replayed traced. Copying is all that needs the owner's lock;
        the replay (:func:`replay`) can run outside it.
        """
        first = self.first_step
        if first is None or step < first:
            raise ValueError(f"step {step} is before the recorded range (which starts at step {first})")
        usable = [snap for snap in self.snapshots if snap.step < step or (snap.step == step and not trace)]
        base = usable[-1] if usable else self.snapshots[0]
        return copy.deepcopy(base.state), step - base.step

    def reconstruct(self, step: int, trace: bool = True) -> tuple[TrainingSession, StepResult | None]:
        """A new session exactly as the run was after ``step`` (with that step's full trace).

        ``step`` must be within the recorded range; the caller must not have
        changed anything since the last snapshot without capturing (see module doc).
        """
        state, gap = self.base_for(step, trace)
        return replay(state, gap, trace)


def replay(state: dict[str, Any], gap: int, trace: bool = True) -> tuple[TrainingSession, StepResult | None]:
    """Rebuild a session from a snapshot state and run ``gap`` steps, the last one traced."""
    session = TrainingSession.from_state(state)
    if gap == 0:
        return session, None
    if not trace:
        session.step(gap)
        return session, None
    if gap > 1:
        session.step(gap - 1)
    return session, session.step(1, "full")
