"""What one training step did, recorded at the level the caller asks for.

- ``off``: nothing beyond the loss and learning rate the history keeps.
- ``summary``: :class:`StepSummary` — the loss split into its data and
  regularization parts, the effective LR, and per layer the norms of the
  weights, gradients and updates and the update/weight ratio.
- ``full``: :class:`StepTrace` — the summary plus, per layer, ``z``, ``a``,
  ``delta`` (∂L/∂z), ``grad_<param>`` (∂L/∂param of the total loss,
  regularization included), ``update_<param>`` (the change the optimizer
  applied), the batch's inputs, targets and sample indices, the parameters
  before the update and the optimizer's state after it. Every array is a copy:
  later steps never change a trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

__all__ = ["TRACE_LEVELS", "Divergence", "LayerSummary", "StepSummary", "StepTrace", "TraceLevel"]

TraceLevel = Literal["off", "summary", "full"]
TRACE_LEVELS: tuple[TraceLevel, ...] = ("off", "summary", "full")


@dataclass(frozen=True)
class LayerSummary:
    """Norms of one layer's parameters (weights and biases together)."""

    weight_norm: float
    grad_norm: float
    update_norm: float
    update_ratio: float  # ‖Δθ‖ / ‖θ‖ before the update; the "is the LR sane" number (~1e-3 is healthy)


@dataclass(frozen=True)
class StepSummary:
    step: int  # the step count after this step: the first step is step 1
    epoch: int
    loss: float  # data_loss + reg_loss on this batch, before the update
    data_loss: float
    reg_loss: float
    lr: float  # the effective LR used (schedule and warm-up applied)
    grad_norm: float  # global ‖∂L/∂θ‖ before clipping
    clipped: bool
    layers: list[LayerSummary]

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "epoch": self.epoch,
            "loss": self.loss,
            "data_loss": self.data_loss,
            "reg_loss": self.reg_loss,
            "lr": self.lr,
            "grad_norm": self.grad_norm,
            "clipped": self.clipped,
            "layers": [vars(layer) for layer in self.layers],
        }


@dataclass(frozen=True)
class StepTrace:
    summary: StepSummary
    indices: NDArray[np.int64]  # rows of the training set in this batch
    X: NDArray[np.floating]
    Y: NDArray[np.floating]
    layers: list[dict[str, NDArray[np.floating]]]
    theta_before: NDArray[np.floating]  # flat parameters before the update
    optimizer_state: dict[str, Any]  # Optimizer.state() after the step
    optimizer_name: str

    @property
    def step(self) -> int:
        return self.summary.step


@dataclass(frozen=True)
class Divergence:
    """Why training stopped: a non-finite number appeared, and where."""

    step: int  # the step that failed (not applied)
    quantity: Literal["loss", "gradient", "update"]
    layer: int | None
    lr: float
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "quantity": self.quantity,
            "layer": self.layer,
            "lr": self.lr,
            "message": self.message,
            "details": self.details,
        }
