"""The types every dataset module shares, and the checks on a spec's values.

- :class:`DataSet` is what :func:`engine.datasets.load_dataset` returns: arrays ready
  for the network (targets already shaped for its loss and output layer) plus what
  the page needs to draw them.
- :class:`Samples` is what a generator produces before the train/test split and
  before targets are encoded: inputs plus *either* class labels *or* regression values.
- :class:`DatasetInfo` describes one named dataset for the listing: its kind, task,
  accepted spec keys with their defaults and ranges.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "MAX_VALUES",
    "Builder",
    "DataSet",
    "DatasetInfo",
    "FloatArray",
    "IntArray",
    "Kind",
    "Params",
    "Samples",
    "Task",
    "check_number",
    "check_size",
    "class_counts",
]

Kind = Literal["plane", "line", "image", "sequence", "table"]
Task = Literal["binary", "multiclass", "regression"]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Params = dict[str, Any]

#: Most numbers one generated input array may hold (``samples × prod(input_shape)``):
#: 4,000,000 float64 values are 32 MB.
MAX_VALUES = 4_000_000


@dataclass(frozen=True)
class DataSet:
    """A dataset ready to train on. Arrays are float64 with the sample axis first.

    ``x_*: (n, *input_shape)`` and ``y_*: (n, *target_shape)``, where ``target_shape``
    is the network's output shape. A test set may be empty: ``(0, *shape)``.
    """

    name: str
    kind: Kind
    task: Task
    x_train: FloatArray
    y_train: FloatArray
    x_test: FloatArray
    y_test: FloatArray
    input_shape: tuple[int, ...]
    target_shape: tuple[int, ...]
    #: Number of classes for classification, ``None`` for regression.
    n_classes: int | None
    class_names: list[str] | None
    #: Plane data (and inline 2-column data): the input features, canonical spelling.
    feature_names: list[str] | None
    #: Plane/line data: raw coordinates ``(n, 2)`` / ``(n, 1)`` before features, for drawing.
    points_train: FloatArray | None
    points_test: FloatArray | None
    #: Classification: class index per sample ``(n,)``, or per sample and step ``(n, T)``
    #: for sequence targets. ``None`` for regression.
    labels_train: IntArray | None
    labels_test: IntArray | None
    #: Plane/line data: the input range ``(lo, hi)`` to draw heatmaps over, on every axis.
    domain: tuple[float, float] | None
    #: Anything else worth showing: the resolved spec, sequence length, vocabulary, ...
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Samples:
    """A generator's output, all ``n`` samples, before the split and target encoding.

    Exactly one of ``labels`` (classification) and ``values`` (regression) is set.
    """

    #: ``(n, *input_shape)``
    x: FloatArray
    #: ``(n,)`` or ``(n, T)``: class indices in ``0 .. len(class_names) − 1``.
    labels: IntArray | None = None
    #: ``(n, *value_shape)``: regression targets.
    values: FloatArray | None = None
    #: ``(n, 2)`` or ``(n, 1)``: raw coordinates of plane/line data.
    points: FloatArray | None = None
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)


Builder = Callable[[Params, np.random.Generator], Samples]


@dataclass(frozen=True)
class DatasetInfo:
    """One named dataset in the listing.

    ``defaults`` holds every spec key the dataset accepts besides ``dataset`` (so
    its keys are the accepted keys) with the value used when the spec leaves it
    out. ``limits`` gives the inclusive range of each numeric key; an integer
    default means the key takes integers. ``targets`` lists the supported values of
    the ``target`` key of sequence sets (``"last"``: one target per sample,
    ``"sequence"``: one per time step).
    """

    name: str
    kind: Kind
    task: Task
    description: str
    defaults: dict[str, Any]
    limits: dict[str, tuple[float, float]]
    #: Classes with the default spec, ``None`` for regression.
    n_classes: int | None = None
    targets: tuple[str, ...] = ()
    domain: tuple[float, float] | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key a spec for this dataset may hold."""
        return ("dataset", *self.defaults)

    def describe(self) -> dict[str, Any]:
        """A plain, JSON-ready dict for the API's listing."""
        return {
            "name": self.name,
            "kind": self.kind,
            "task": self.task,
            "description": self.description,
            "keys": list(self.keys),
            "defaults": {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in self.defaults.items()},
            "limits": {k: [lo, hi] for k, (lo, hi) in self.limits.items()},
            "n_classes": self.n_classes,
            "targets": list(self.targets),
            "domain": list(self.domain) if self.domain is not None else None,
        }


def check_number(dataset: str, key: str, value: object, lo: float, hi: float, integer: bool) -> int | float:
    """``value`` as an int (or float) in ``[lo, hi]``, or a ``ValueError`` naming the key."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        kind = "an integer" if integer else "a number"
        raise ValueError(f"dataset {dataset!r}: {key} must be {kind}, got {value!r}")
    if integer:
        if isinstance(value, (float, np.floating)):
            raise ValueError(f"dataset {dataset!r}: {key} must be an integer, got {value!r}")
        number: int | float = int(value)
    else:
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"dataset {dataset!r}: {key} must be finite, got {value!r}")
    if not lo <= number <= hi:
        bounds = f"{lo:g}..{hi:g}"
        raise ValueError(f"dataset {dataset!r}: {key} must be in {bounds}, got {value!r}")
    return number


def check_size(dataset: str, n: int, input_shape: tuple[int, ...]) -> None:
    """Refuse a spec whose inputs would hold more than :data:`MAX_VALUES` numbers."""
    total = n * math.prod(input_shape)
    if total > MAX_VALUES:
        raise ValueError(
            f"dataset {dataset!r}: {n} samples of shape {list(input_shape)} are {total:,} numbers, "
            f"more than the limit of {MAX_VALUES:,}; use fewer samples or smaller inputs"
        )


def class_counts(n: int, k: int) -> list[int]:
    """Split ``n`` samples over ``k`` classes as evenly as possible (earlier classes get the extra)."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]
