"""Inline arrays from the API (kind ``"table"``): ``{"x": ..., "y": ..., "x_test": ..., "y_test": ...}``.

Keys: ``x`` and ``y`` (required), ``x_test`` and ``y_test`` (both or neither;
without them the test set is empty, shape ``(0, ...)``), and ``features`` (only when
``x`` has two columns: the rows are then points and the network sees these
features of them, as in the playground), and ``domain`` (only for points, rows of 1 or 2
numbers: the plane's ``[lo, hi]``, widened to hold every point; by default the points' range
plus 10 %).

- ``x``: ``(n, *input_shape)``; a flat list of numbers means one input per row, ``(n, 1)``.
- ``y`` depends on the loss, with the network's output shape ``(*lead, K)``:

  - ``cross_entropy``: class indices ``(n, *lead)`` (or ``(n, *lead, 1)``) in
    ``0..K−1``, or one-hot / probability rows ``(n, *lead, K)`` that sum to 1;
  - ``bce``: values in [0, 1] of shape ``(n, *lead, K)`` (or ``(n, *lead)`` when K = 1);
  - ``mse``: any values of that same shape.

Limits: at most :data:`MAX_ROWS` rows and :data:`MAX_NUMBERS` numbers per array.
Every number must be finite; rows must all have the same shape.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.datasets.base import DataSet, FloatArray, IntArray, Task
from engine.datasets.features import apply_features, canonical_features
from engine.datasets.targets import one_hot

__all__ = ["INLINE_KEYS", "MAX_NUMBERS", "MAX_ROWS", "load_inline"]

INLINE_KEYS = ("x", "y", "x_test", "y_test", "features", "domain")
MAX_ROWS = 100_000
MAX_NUMBERS = 2_000_000


def _array(value: object, key: str) -> FloatArray:
    """A JSON-like nested list (or array) as float64, with at least one axis."""
    if value is None or isinstance(value, (str, bytes, dict, bool, int, float)):
        raise ValueError(f"{key} must be an array (a list of rows), got {value!r:.60}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        raise ValueError(f"{key} is ragged: every row must have the same shape") from None
    if arr.dtype.kind == "O":
        raise ValueError(f"{key} must be a rectangular array of numbers (found ragged rows or non-numbers)")
    if arr.dtype.kind not in "iuf":
        found = {"b": "true/false", "U": "strings", "S": "strings", "c": "complex numbers"}.get(
            arr.dtype.kind
        )
        raise ValueError(f"{key} must hold only numbers, found {found or arr.dtype.name}")
    if arr.size > MAX_NUMBERS:
        raise ValueError(f"{key} holds {arr.size:,} numbers, more than the limit of {MAX_NUMBERS:,}")
    if arr.ndim and arr.shape[0] > MAX_ROWS:
        raise ValueError(f"{key} has {arr.shape[0]:,} rows, more than the limit of {MAX_ROWS:,}")
    out = arr.astype(np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(f"{key} holds NaN or infinite values (first in row {row})")
    return out


def _inputs(value: object, key: str, input_shape: tuple[int, ...] | None) -> FloatArray:
    x = _array(value, key)
    if x.size == 0 and input_shape is not None:
        return np.zeros((0, *input_shape))
    if x.ndim == 1:
        x = x[:, None]
    if len(x) == 0:
        raise ValueError(f"{key} has no rows; give at least one sample")
    if 0 in x.shape[1:]:
        raise ValueError(
            f"{key} rows are empty (shape {list(x.shape[1:])}); give at least one number per row"
        )
    if input_shape is not None and x.shape[1:] != input_shape:
        raise ValueError(
            f"{key} rows have shape {list(x.shape[1:])} but x rows have shape {list(input_shape)}"
        )
    return x


def _indices(y: FloatArray, key: str, k: int) -> IntArray:
    fractional = y != np.round(y)
    if fractional.any():
        raise ValueError(f"{key} must hold whole class indices, got {y[fractional][0]:g}")
    outside = (y < 0) | (y >= k)
    if outside.any():
        raise ValueError(
            f"class index {y[outside][0]:g} in {key} is out of range: the output layer has {k} units, "
            f"so indices must be 0..{k - 1}"
        )
    return y.astype(np.int64)


def _targets(
    value: object, key: str, n: int, loss: str, output_shape: tuple[int, ...]
) -> tuple[FloatArray, IntArray | None]:
    """``y`` as ``(n, *output_shape)`` targets, plus class indices where there are classes."""
    lead, k = output_shape[:-1], output_shape[-1]
    y = _array(value, key)
    if n == 0 and y.size == 0:
        y = np.zeros((0, *output_shape))
    if len(y) != n:
        raise ValueError(f"{key} has {len(y)} rows but its inputs have {n}")
    shape = y.shape[1:]
    if loss == "cross_entropy":
        if shape == output_shape and k > 1:
            if (y < 0).any() or (y > 1).any() or not np.allclose(y.sum(axis=-1), 1.0, atol=1e-6):
                raise ValueError(f"{key}: one-hot or probability rows must be in [0, 1] and sum to 1")
            return y, np.argmax(y, axis=-1).astype(np.int64)
        if shape == (*lead, 1):
            y = y[..., 0]
        elif shape != lead:
            raise ValueError(
                f"{key} must hold class indices of shape {[n, *lead]} or one-hot rows of shape "
                f"{[n, *output_shape]} for an output of shape {list(output_shape)}, got {list(y.shape)}"
            )
        labels = _indices(y, key, k)
        return one_hot(labels, k), labels
    if shape == lead and k == 1:
        y = y[..., None]
    elif shape != output_shape:
        allowed = f"{[n, *output_shape]}" + (f" or {[n, *lead]}" if k == 1 else "")
        raise ValueError(
            f"{key} must have shape {allowed} for an output of shape {list(output_shape)}, "
            f"got {list(y.shape)}"
        )
    if loss == "bce":
        if (y < 0).any() or (y > 1).any():
            raise ValueError(f"{key} must hold targets in [0, 1] for loss 'bce'")
        if k == 1 and np.isin(y, (0.0, 1.0)).all():
            return y, y[..., 0].astype(np.int64)
    return y, None


def _domain(points: list[FloatArray], asked: object = None) -> tuple[float, float]:
    """The plane's range: ``asked`` (widened to hold every point) or the points' range plus 10 %.

    A page that adds points by clicking sends the plane it showed, so the plane does not zoom in
    on the few points placed so far and the user can still click anywhere on it.
    """
    every = np.concatenate([p.ravel() for p in points])
    if asked is not None:
        if (
            not isinstance(asked, (list, tuple))
            or len(asked) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in asked)
            or not all(math.isfinite(v) for v in asked)
            or not asked[0] < asked[1]
        ):
            raise ValueError(f"domain must be two finite numbers [lo, hi] with lo < hi, got {asked!r:.60}")
        lo, hi = float(asked[0]), float(asked[1])
        if every.size:
            lo, hi = min(lo, float(every.min())), max(hi, float(every.max()))
        return lo, hi
    lo, hi = float(every.min()), float(every.max())
    pad = 0.1 * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


def load_inline(spec: dict[str, Any], loss: str, output_shape: tuple[int, ...]) -> DataSet:
    """Check and convert inline arrays; ``loss`` and ``output_shape`` are already checked."""
    unknown = sorted(set(spec) - set(INLINE_KEYS))
    if unknown:
        raise ValueError(f"inline data does not take {unknown}; it takes: {', '.join(INLINE_KEYS)}")
    for key in ("x", "y"):
        if key not in spec:
            raise ValueError(f"inline data needs both 'x' and 'y'; '{key}' is missing")
    if ("x_test" in spec) != ("y_test" in spec):
        raise ValueError("give both 'x_test' and 'y_test', or neither")
    x = _inputs(spec["x"], "x", None)
    raw_shape = x.shape[1:]
    x_test = _inputs(spec["x_test"], "x_test", raw_shape) if "x_test" in spec else np.zeros((0, *raw_shape))
    y, labels = _targets(spec["y"], "y", len(x), loss, output_shape)
    if "y_test" in spec:
        y_test, labels_test = _targets(spec["y_test"], "y_test", len(x_test), loss, output_shape)
    else:
        y_test = np.zeros((0, *output_shape))
        labels_test = np.zeros((0, *output_shape[:-1]), dtype=np.int64) if labels is not None else None
    if labels is None or labels_test is None:
        labels = labels_test = None  # bce with soft targets in either set: no classes to count

    feature_names: list[str] | None = None
    points: FloatArray | None = None
    points_test: FloatArray | None = None
    if raw_shape in ((1,), (2,)):
        points, points_test = x, x_test
    elif "domain" in spec:
        raise ValueError(
            f"domain is the range of points (rows of 1 or 2 numbers), got rows of shape {list(raw_shape)}"
        )
    if "features" in spec:
        if raw_shape != (2,):
            raise ValueError(
                f"features need x with 2 columns (points x1, x2), got rows of shape {list(raw_shape)}"
            )
        feature_names = canonical_features(spec["features"])
        x, x_test = apply_features(x, feature_names), apply_features(x_test, feature_names)

    k = output_shape[-1]
    task: Task
    n_classes: int | None
    if loss == "cross_entropy":
        task, n_classes, class_names = ("binary" if k == 2 else "multiclass"), k, [str(c) for c in range(k)]
    elif loss == "bce":
        task, n_classes, class_names = "binary", (2 if k == 1 else None), None
    else:
        task, n_classes, class_names = "regression", None, None
    return DataSet(
        name="inline",
        kind="table",
        task=task,
        x_train=x,
        y_train=y,
        x_test=x_test,
        y_test=y_test,
        input_shape=tuple(int(d) for d in x.shape[1:]),
        target_shape=output_shape,
        n_classes=n_classes,
        class_names=class_names,
        feature_names=feature_names,
        points_train=points,
        points_test=points_test,
        labels_train=labels,
        labels_test=labels_test,
        domain=_domain([points, points_test], spec.get("domain"))
        if points is not None and points_test is not None
        else None,
        info={"train_samples": len(x), "test_samples": len(x_test)},
    )
