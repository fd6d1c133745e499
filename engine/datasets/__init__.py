"""Datasets: generated from a seed, read from the bundled files, or given inline.

:func:`load_dataset` turns the ``data`` part of a session config into a
:class:`DataSet` whose targets already fit the network's loss and output shape.
A spec either names a dataset, e.g.
``{"dataset": "circle", "samples": 500, "noise": 0.1, "train_fraction": 0.5, "features": ["x1", "x2"]}``,
or holds inline arrays ``{"x": ..., "y": ..., "x_test": ..., "y_test": ...}``
(see :mod:`engine.datasets.inline`).

Named datasets, by module (each module's docstring gives the details):

- :mod:`~engine.datasets.plane`: ``circle``, ``xor``, ``gauss``, ``spiral``, ``moons``,
  ``checkerboard``, ``blobs``, ``spiral3``, ``reg-plane``, ``reg-gauss`` (kind
  ``"plane"``) and ``sine`` (kind ``"line"``);
- :mod:`~engine.datasets.images`: ``digits``, ``shapes``;
- :mod:`~engine.datasets.sequences`: ``sine-next``, ``adding``, ``parity``,
  ``counting``, ``text``.

:data:`DATASETS` lists each one's accepted keys with defaults and ranges. A key
left out takes its default; an unknown key, a value out of range or of the wrong
type raises ``ValueError`` naming it. Common keys: ``samples`` (how many samples
in all, before the split), ``train_fraction`` (in (0, 1]: the share that goes to
training, at least one sample; 1 leaves the test set empty), ``noise`` (0..1).

Everything random is drawn from the ``np.random.Generator`` passed in, so one
seed gives the same arrays every time; samples are shuffled before the split.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from engine.datasets import images, plane, sequences
from engine.datasets.base import (
    MAX_VALUES,
    Builder,
    DataSet,
    DatasetInfo,
    Params,
    Samples,
    Task,
    check_number,
)
from engine.datasets.features import FEATURE_ALIASES, FEATURES, apply_features, canonical_features
from engine.datasets.inline import load_inline
from engine.datasets.targets import check_loss, check_output_shape, encode_labels, encode_values

__all__ = [
    "DATASETS",
    "FEATURES",
    "FEATURE_ALIASES",
    "MAX_VALUES",
    "DataSet",
    "DatasetInfo",
    "apply_features",
    "infer_input_shape",
    "load_dataset",
    "resolve_spec",
]

#: Every named dataset, in listing order: plane sets, the line, images, sequences.
DATASETS: dict[str, DatasetInfo] = {
    info.name: info for info in (*plane.INFOS, *images.INFOS, *sequences.INFOS)
}
_BUILDERS: dict[str, Builder] = {**plane.BUILDERS, **images.BUILDERS, **sequences.BUILDERS}
assert set(DATASETS) == set(_BUILDERS)


def resolve_spec(spec: dict[str, Any]) -> tuple[DatasetInfo, Params]:
    """Check a named dataset's spec; return its info and every parameter (defaults filled in)."""
    name = spec.get("dataset")
    info = DATASETS.get(name) if isinstance(name, str) else None
    if info is None:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    unknown = sorted(set(spec) - set(info.keys))
    if unknown:
        raise ValueError(f"dataset {name!r} does not take {unknown}; it takes: {', '.join(info.keys)}")
    params = copy.deepcopy(info.defaults)
    for key, value in spec.items():
        if key == "features":
            params[key] = canonical_features(value)
        elif key == "target":
            if value not in info.targets:
                choices = " or ".join(repr(t) for t in info.targets)
                raise ValueError(f"dataset {name!r}: target must be {choices}, got {value!r}")
            params[key] = value
        elif key in info.limits:
            lo, hi = info.limits[key]
            integer = isinstance(info.defaults[key], int)
            params[key] = check_number(info.name, key, value, lo, hi, integer)
    if params.get("train_fraction", 1.0) <= 0.0:
        raise ValueError(
            f"dataset {name!r}: train_fraction must be in (0, 1], got {params['train_fraction']!r}"
        )
    return info, params


def infer_input_shape(spec: dict[str, Any]) -> tuple[int, ...]:
    """The per-sample input shape ``spec`` will produce, without building the whole set.

    The network is built before the data (the data's targets depend on the
    network's output shape), so a config may leave ``model.input_shape`` out.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"data must be an object like {{'dataset': 'circle'}}, got {spec!r:.60}")
    if "dataset" not in spec:
        if "features" in spec:
            return (len(canonical_features(spec["features"])),)
        try:
            first = np.asarray(spec.get("x", [[]])[0], dtype=np.float64)
        except (ValueError, TypeError, IndexError):
            raise ValueError("data.x must be a non-empty list of samples of numbers") from None
        return tuple(int(d) for d in first.shape) or (1,)
    info, params = resolve_spec(spec)
    probe = {**params, "samples": min(int(params.get("samples", 16)), 16)}
    samples = _BUILDERS[info.name](probe, np.random.default_rng(0))
    return tuple(int(d) for d in samples.x.shape[1:])


def load_dataset(
    spec: dict[str, Any], rng: np.random.Generator, loss: str, output_shape: tuple[int, ...]
) -> DataSet:
    """Build the dataset ``spec`` describes, with targets for ``loss`` and ``output_shape``.

    ``spec``: a named dataset's keys, or inline arrays. ``rng`` draws every random
    choice. ``loss``: ``"mse"``, ``"bce"`` or ``"cross_entropy"``. ``output_shape``:
    the network's per-sample output, ``(K,)`` or ``(T, K)``. Returns ``y_*`` of shape
    ``(n, *output_shape)``; a mistake in any argument raises ``ValueError``.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"data must be an object like {{'dataset': 'circle'}}, got {spec!r:.60}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    loss = check_loss(loss)
    shape = check_output_shape(output_shape)
    if "dataset" not in spec:
        if "x" in spec or "y" in spec:
            return load_inline(spec, loss, shape)
        raise ValueError(f"data needs 'dataset' (one of: {', '.join(DATASETS)}) or inline arrays 'x' and 'y'")
    info, params = resolve_spec(spec)
    samples = _BUILDERS[info.name](params, rng)
    return _split(info, params, samples, rng, loss, shape)


def _split(
    info: DatasetInfo,
    params: Params,
    samples: Samples,
    rng: np.random.Generator,
    loss: str,
    output_shape: tuple[int, ...],
) -> DataSet:
    """Encode the targets, shuffle, and cut off the first ``train_fraction`` for training."""
    n = len(samples.x)
    n_train = min(n, max(1, round(n * params["train_fraction"])))
    order = rng.permutation(n)
    train, test = order[:n_train], order[n_train:]
    task: Task
    if samples.labels is not None:
        assert samples.class_names is not None
        n_classes: int | None = len(samples.class_names)
        y = encode_labels(info.name, samples.labels, len(samples.class_names), loss, output_shape)
        task = "binary" if n_classes == 2 else "multiclass"
    else:
        assert samples.values is not None
        n_classes = None
        y = encode_values(info.name, samples.values, loss, output_shape)
        task = "regression"
    labels, points = samples.labels, samples.points
    return DataSet(
        name=info.name,
        kind=info.kind,
        task=task,
        x_train=samples.x[train],
        y_train=y[train],
        x_test=samples.x[test],
        y_test=y[test],
        input_shape=tuple(int(d) for d in samples.x.shape[1:]),
        target_shape=output_shape,
        n_classes=n_classes,
        class_names=samples.class_names,
        feature_names=samples.feature_names,
        points_train=points[train] if points is not None else None,
        points_test=points[test] if points is not None else None,
        labels_train=labels[train] if labels is not None else None,
        labels_test=labels[test] if labels is not None else None,
        domain=info.domain,
        info={**samples.info, "params": params, "train_samples": len(train), "test_samples": len(test)},
    )
