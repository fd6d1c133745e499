"""How the network does on a whole split: confusion matrix, the examples it gets wrong, predictions.

Everything is computed from one forward pass (:meth:`Network.predict`) over the
split with the current parameters. Classes are read the way
:func:`engine.session.classification_accuracy` reads them: ``binary`` outputs
(one sigmoid unit) are class 1 above 0.5; ``multiclass`` outputs and one-hot
targets by their arg-max. Sequence targets (``(n, T, K)``) count every step.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from engine.datasets import DataSet
from engine.network import Network

__all__ = ["class_indices", "confusion_matrix", "evaluate_split"]

Arr = NDArray[Any]
Split = Literal["train", "test"]


def class_indices(task: str, values: Arr) -> NDArray[np.int64]:
    """Class index per row (and step) of network outputs or encoded targets: ``(n,)`` or ``(n, T)``."""
    if task == "binary":
        return (values[..., 0] > 0.5).astype(np.int64)
    if task == "multiclass":
        return np.asarray(values.argmax(axis=-1), dtype=np.int64)
    raise ValueError(f"task {task!r} has no classes: only binary and multiclass do")


def confusion_matrix(
    true: NDArray[np.int64], predicted: NDArray[np.int64], n_classes: int
) -> NDArray[np.int64]:
    """``counts[i, j]``: how many samples (steps) of true class ``i`` were predicted as ``j``."""
    if true.shape != predicted.shape:
        raise ValueError(f"true and predicted must have one shape, got {true.shape} and {predicted.shape}")
    flat = true.ravel() * n_classes + predicted.ravel()
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes).astype(np.int64)


def _rows(data: DataSet, split: Split) -> tuple[Split, Arr, Arr]:
    """The split's inputs and targets; an empty test set falls back to the training set."""
    if split == "test" and len(data.x_test):
        return "test", data.x_test, data.y_test
    return "train", data.x_train, data.y_train


def evaluate_split(
    net: Network, data: DataSet, split: Split = "test", max_examples: int = 24
) -> dict[str, Any]:
    """The network on a whole split: what a confusion matrix, a gallery of mistakes and a
    predicted-vs-target plot need.

    Returns ``split`` (the one used: ``"train"`` when the test set is empty), ``count``,
    ``task``, ``kind``, ``class_names``; for classification ``accuracy``, ``confusion``
    ``(K, K)`` (rows: true class, columns: predicted) and ``misclassified`` — up to
    ``max_examples`` wrong samples, the most confidently wrong first, each with ``index`` (in
    the split), ``label``, ``predicted``, ``confidence`` (the output for the predicted class),
    ``probabilities`` and, for images, the input ``x``. For sequence data ``sequences``: the
    first ``max_examples`` samples with their input ``x``, ``target`` and ``output`` (and per
    step ``label`` / ``predicted`` for classification). For one-output regression ``scatter``:
    ``target`` and ``output`` of every sample.
    """
    if max_examples < 0:
        raise ValueError(f"max_examples must be ≥ 0, got {max_examples}")
    used, x, y = _rows(data, split)
    outputs = net.predict(x)[-1]["a"] if len(x) else np.zeros((0, *net.output_shape))
    result: dict[str, Any] = {
        "split": used,
        "count": len(x),
        "task": data.task,
        "kind": data.kind,
        "class_names": data.class_names,
        "accuracy": None,
        "confusion": None,
        "misclassified": [],
        "sequences": [],
        "scatter": None,
    }
    classify = data.task in ("binary", "multiclass") and data.n_classes is not None
    if classify and len(x):
        assert data.n_classes is not None
        true, pred = class_indices(data.task, y), class_indices(data.task, outputs)
        result["accuracy"] = float(np.mean(true == pred))
        result["confusion"] = confusion_matrix(true, pred, data.n_classes)
        if data.kind != "sequence":
            result["misclassified"] = _mistakes(data, x, outputs, true, pred, max_examples)
    if data.kind == "sequence":
        for i in range(min(max_examples, len(x))):
            example: dict[str, Any] = {"index": i, "x": x[i], "target": y[i], "output": outputs[i]}
            if classify:
                example["label"], example["predicted"] = true[i], pred[i]
            result["sequences"].append(example)
    if data.task == "regression" and outputs.ndim == 2 and outputs.shape[1] == 1:
        result["scatter"] = {"target": y[:, 0], "output": outputs[:, 0]}
    return result


def _mistakes(data: DataSet, x: Arr, outputs: Arr, true: Arr, pred: Arr, most: int) -> list[dict[str, Any]]:
    if data.task == "binary":
        p1 = outputs[:, 0]
        probabilities = np.stack([1 - p1, p1], axis=1)
    else:
        probabilities = outputs
    wrong = np.flatnonzero(true != pred)
    confidence = probabilities[wrong, pred[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")][:most]
    return [
        {
            "index": int(i),
            "label": int(true[i]),
            "predicted": int(pred[i]),
            "confidence": float(probabilities[i, pred[i]]),
            "probabilities": probabilities[i],
            **({"x": x[i]} if data.kind == "image" else {}),
        }
        for i in order
    ]
