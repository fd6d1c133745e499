"""Turn a dataset's labels or values into the targets a loss and an output layer expect.

With ``K = output_shape[-1]`` units and ``lead = output_shape[:-1]`` (``()`` for one
target per sample, ``(T,)`` for one per time step), labels of shape ``(n, *lead)``
become ``y: (n, *output_shape)``:

- ``cross_entropy``: one-hot rows; the dataset must have exactly ``K`` classes.
- ``bce`` and ``mse``: a binary set with ``K = 1`` gives 0/1 in one column; any set
  with ``K`` equal to its class count gives one-hot rows.

Regression values of shape ``(n, *value_shape)`` pass through unchanged when
``value_shape == output_shape``; ``bce`` also needs them in [0, 1], and
``cross_entropy`` refuses regression sets.
"""

from __future__ import annotations

import numpy as np

from engine.datasets.base import FloatArray, IntArray

__all__ = ["LOSS_NAMES", "check_loss", "check_output_shape", "encode_labels", "encode_values", "one_hot"]

LOSS_NAMES = ("mse", "bce", "cross_entropy")


def check_loss(loss: object) -> str:
    if loss not in LOSS_NAMES:
        raise ValueError(f"unknown loss {loss!r}; choose one of: {', '.join(LOSS_NAMES)}")
    return str(loss)


def check_output_shape(output_shape: object) -> tuple[int, ...]:
    """The network's per-sample output shape as a tuple of positive ints."""
    if not isinstance(output_shape, (tuple, list)):
        raise ValueError(f"output_shape must be a tuple of sizes, got {output_shape!r}")
    shape = tuple(output_shape)
    if not shape or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in shape):
        raise ValueError(f"output_shape must be non-empty positive sizes, got {output_shape!r}")
    return tuple(int(d) for d in shape)


def one_hot(labels: IntArray, k: int) -> FloatArray:
    """``labels: (n, ...)`` ints in ``0..k−1`` → ``(n, ..., k)`` float64 one-hot."""
    out = np.zeros((*labels.shape, k), dtype=np.float64)
    np.put_along_axis(out, labels[..., None], 1.0, axis=-1)
    return out


def _target_label(name: str, lead: tuple[int, ...]) -> str:
    if not lead:
        return f"dataset {name!r} gives one target per sample"
    return f"dataset {name!r} gives one target per time step ({lead[0]} steps)"


def encode_labels(
    name: str, labels: IntArray, n_classes: int, loss: str, output_shape: tuple[int, ...]
) -> FloatArray:
    """Class indices ``(n, *lead)`` → targets ``(n, *output_shape)`` for ``loss``."""
    lead, k = labels.shape[1:], output_shape[-1]
    if output_shape[:-1] != lead:
        wanted = [*lead, "units"]
        raise ValueError(
            f"{_target_label(name, lead)}, so the network must output shape {wanted}, "
            f"but it outputs {list(output_shape)}"
        )
    if loss == "cross_entropy":
        if k != n_classes:
            raise ValueError(
                f"dataset {name!r} has {n_classes} classes but the output layer has {k} units; "
                f"cross_entropy needs one unit per class"
            )
        return one_hot(labels, k)
    if k == n_classes:
        return one_hot(labels, k)
    if n_classes == 2 and k == 1:
        return labels[..., None].astype(np.float64)
    two = "1 unit (0/1 targets) or 2 units (one-hot)"
    choices = two if n_classes == 2 else f"{n_classes} units (one-hot)"
    raise ValueError(
        f"dataset {name!r} has {n_classes} classes but the output layer has {k} units; "
        f"with {loss} use {choices}"
    )


def encode_values(name: str, values: FloatArray, loss: str, output_shape: tuple[int, ...]) -> FloatArray:
    """Regression values ``(n, *value_shape)`` → targets ``(n, *output_shape)`` for ``loss``."""
    if loss == "cross_entropy":
        raise ValueError(
            f"loss 'cross_entropy' needs a classification dataset, but {name!r} is regression; use 'mse'"
        )
    shape = values.shape[1:]
    if shape != output_shape:
        raise ValueError(
            f"dataset {name!r} has targets of shape {list(shape)} per sample, "
            f"but the network outputs shape {list(output_shape)}"
        )
    if loss == "bce" and values.size and (values.min() < 0.0 or values.max() > 1.0):
        raise ValueError(
            f"loss 'bce' needs targets in [0, 1], but dataset {name!r} has targets in "
            f"[{values.min():.3g}, {values.max():.3g}]; use 'mse'"
        )
    return values.astype(np.float64, copy=True)
