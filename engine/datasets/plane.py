"""2-D point sets for the playground (kind ``"plane"``) and the 1-D ``sine`` curve (kind ``"line"``).

Every plane set lives on the square ``DOMAIN`` = (−6, 6)², and the network sees the
chosen ``features`` of each point (see :mod:`engine.datasets.features`). Classes get
equal shares of the samples. ``noise`` (0..1) is a fraction of each set's own length
scale: the classification sets label a clean point and then jitter it (or, for the
blob sets, widen the blobs), the regression sets add Gaussian noise of standard
deviation ``noise`` to the target. Points stay inside the domain.

Spec keys: ``samples`` (1..10,000, default 500), ``noise`` (0..1, default 0.1),
``train_fraction`` ((0, 1], default 0.5), ``features`` (plane sets, default
``["x1", "x2"]``), ``classes`` (``blobs`` only, 2..8, default 3).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from engine.datasets.base import (
    Builder,
    DatasetInfo,
    FloatArray,
    IntArray,
    Params,
    Samples,
    Task,
    class_counts,
)
from engine.datasets.features import DEFAULT_FEATURES, apply_features

__all__ = ["BUILDERS", "CIRCLE_RADIUS", "DOMAIN", "INFOS"]

DOMAIN = (-6.0, 6.0)
CIRCLE_RADIUS = 5.0
MAX_SAMPLES = 10_000

Classified = tuple[FloatArray, IntArray, list[str]]
PointMaker = Callable[[int, Params, np.random.Generator], Classified]


def _labels(counts: list[int]) -> IntArray:
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def _polar(r: FloatArray, theta: FloatArray) -> FloatArray:
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)


# --- classification point makers: (n, params, rng) -> (points (n, 2), labels (n,), class names) ---


def _circle(n: int, p: Params, rng: np.random.Generator) -> Classified:
    # inside: r ≤ R/2 (class 1); outside: 0.7R ≤ r ≤ R (class 0); the gap keeps noise-free data separable
    counts = class_counts(n, 2)
    outside = rng.uniform(0.7 * CIRCLE_RADIUS, CIRCLE_RADIUS, counts[0])
    inside = rng.uniform(0.0, 0.5 * CIRCLE_RADIUS, counts[1])
    r = np.concatenate([outside, inside])
    return _polar(r, rng.uniform(0.0, 2 * math.pi, n)), _labels(counts), ["outside", "inside"]


def _xor(n: int, p: Params, rng: np.random.Generator) -> Classified:
    # |x1|, |x2| ≥ a small margin so a clean point never sits on an axis; class 1 when the signs agree
    counts = class_counts(n, 2)
    labels = _labels(counts)
    magnitude = rng.uniform(0.3, DOMAIN[1], (n, 2))
    sign1 = rng.choice(np.array([-1.0, 1.0]), n)
    sign2 = np.where(labels == 1, sign1, -sign1)
    points = magnitude * np.stack([sign1, sign2], axis=1)
    return points, labels, ["x1·x2 < 0", "x1·x2 > 0"]


def _blob_points(
    centers: FloatArray, n: int, noise: float, rng: np.random.Generator
) -> tuple[FloatArray, IntArray]:
    counts = class_counts(n, len(centers))
    labels = _labels(counts)
    spread = 0.5 + 2.5 * noise
    return centers[labels] + rng.normal(0.0, spread, (n, 2)), labels


def _gauss(n: int, p: Params, rng: np.random.Generator) -> Classified:
    centers = np.array([[-2.0, -2.0], [2.0, 2.0]])
    points, labels = _blob_points(centers, n, p["noise"], rng)
    return points, labels, ["lower left", "upper right"]


def _blobs(n: int, p: Params, rng: np.random.Generator) -> Classified:
    k = p["classes"]
    angles = rng.uniform(0.0, 2 * math.pi) + 2 * math.pi * np.arange(k) / k
    centers = _polar(np.full(k, 3.5), angles)
    points, labels = _blob_points(centers, n, p["noise"], rng)
    return points, labels, [f"blob {c}" for c in range(k)]


def _spiral_arms(n: int, arms: int, turns: float, rng: np.random.Generator) -> Classified:
    counts = class_counts(n, arms)
    labels = _labels(counts)
    t = rng.uniform(0.0, 1.0, n)
    r = 0.5 + 4.5 * t
    theta = 2 * math.pi * (turns * t + labels / arms)
    return _polar(r, theta), labels, [f"arm {c}" for c in range(arms)]


def _spiral(n: int, p: Params, rng: np.random.Generator) -> Classified:
    return _spiral_arms(n, 2, 1.5, rng)


def _spiral3(n: int, p: Params, rng: np.random.Generator) -> Classified:
    return _spiral_arms(n, 3, 1.0, rng)


def _moons(n: int, p: Params, rng: np.random.Generator) -> Classified:
    # two interlocking half circles of radius 1 (upper one class 0), scaled ×2.5 and centred
    counts = class_counts(n, 2)
    theta = rng.uniform(0.0, math.pi, n)
    upper = np.stack([np.cos(theta[: counts[0]]), np.sin(theta[: counts[0]])], axis=1)
    lower = np.stack([1.0 - np.cos(theta[counts[0] :]), 0.5 - np.sin(theta[counts[0] :])], axis=1)
    points = 2.5 * (np.concatenate([upper, lower]) - np.array([0.5, 0.25]))
    return points, _labels(counts), ["upper moon", "lower moon"]


CHECKER_CELL = 3.0


def _checkerboard(n: int, p: Params, rng: np.random.Generator) -> Classified:
    # 4×4 cells of side 3; a cell's class is the parity of its column + row index
    counts = class_counts(n, 2)
    labels = _labels(counts)
    col = rng.integers(0, 4, n)
    row = 2 * rng.integers(0, 2, n) + (labels - col) % 2
    cells = np.stack([col, row], axis=1).astype(np.float64)
    points = DOMAIN[0] + CHECKER_CELL * (cells + rng.uniform(0.0, 1.0, (n, 2)))
    return points, labels, ["even cell", "odd cell"]


# --- regression target makers: points (n, 2) -> values (n,) ---


def _linear(points: FloatArray) -> FloatArray:
    return (points[:, 0] + points[:, 1]) / (2 * DOMAIN[1])


#: (x1, x2, height) of each bump; width σ = 1.5.
BUMPS = ((-3.0, 2.5, 1.0), (2.5, 3.0, -1.0), (3.0, -2.5, 1.0), (-2.5, -3.0, -1.0), (0.0, 0.0, 0.8))


def _bumps(points: FloatArray) -> FloatArray:
    total = np.zeros(len(points))
    for cx, cy, height in BUMPS:
        sq = (points[:, 0] - cx) ** 2 + (points[:, 1] - cy) ** 2
        total += height * np.exp(-sq / (2 * 1.5**2))
    return np.clip(total, -1.0, 1.0)


# --- builders ---


def _jitter(points: FloatArray, scale: float, noise: float, rng: np.random.Generator) -> FloatArray:
    if noise > 0 and scale > 0:
        points = points + rng.normal(0.0, noise * scale, points.shape)
    return np.clip(points, DOMAIN[0], DOMAIN[1])


def _classifier(make: PointMaker, jitter_scale: float) -> Builder:
    def build(p: Params, rng: np.random.Generator) -> Samples:
        points, labels, names = make(p["samples"], p, rng)
        points = _jitter(points, jitter_scale, p["noise"], rng)
        features = p["features"]
        return Samples(
            x=apply_features(points, features),
            labels=labels,
            points=points,
            class_names=names,
            feature_names=features,
        )

    return build


def _regressor(target: Callable[[FloatArray], FloatArray]) -> Builder:
    def build(p: Params, rng: np.random.Generator) -> Samples:
        n = p["samples"]
        points = rng.uniform(DOMAIN[0], DOMAIN[1], (n, 2))
        values = target(points) + rng.normal(0.0, 1.0, n) * p["noise"]
        features = p["features"]
        return Samples(
            x=apply_features(points, features), values=values[:, None], points=points, feature_names=features
        )

    return build


def _sine(p: Params, rng: np.random.Generator) -> Samples:
    n = p["samples"]
    points = rng.uniform(DOMAIN[0], DOMAIN[1], (n, 1))
    values = np.sin(points) + rng.normal(0.0, 1.0, (n, 1)) * p["noise"]
    return Samples(x=points.copy(), values=values, points=points)


_COMMON = {"samples": 500, "noise": 0.1, "train_fraction": 0.5}
_LIMITS = {"samples": (1.0, float(MAX_SAMPLES)), "noise": (0.0, 1.0), "train_fraction": (0.0, 1.0)}


def _plane(name: str, task: Task, description: str, n_classes: int | None, **extra: int) -> DatasetInfo:
    defaults = {**_COMMON, "features": list(DEFAULT_FEATURES), **extra}
    limits = {**_LIMITS, **({"classes": (2.0, 8.0)} if "classes" in extra else {})}
    return DatasetInfo(name, "plane", task, description, defaults, limits, n_classes, (), DOMAIN)


INFOS = [
    _plane("circle", "binary", "Points inside a circle of radius 2.5 against a ring out to radius 5.", 2),
    _plane("xor", "binary", "Class by quadrant: whether x1 and x2 have the same sign.", 2),
    _plane("gauss", "binary", "Two Gaussian blobs; noise widens them until they overlap.", 2),
    _plane("spiral", "binary", "Two interleaved spiral arms, one and a half turns each.", 2),
    _plane("moons", "binary", "Two interlocking half circles.", 2),
    _plane("checkerboard", "binary", "A 4×4 checkerboard of cells of side 3.", 2),
    _plane("blobs", "multiclass", "Gaussian blobs on a circle, one per class (key classes).", 3, classes=3),
    _plane("spiral3", "multiclass", "Three interleaved spiral arms.", 3),
    _plane("reg-plane", "regression", "Regression: y = (x1 + x2) / 12, a tilted plane in [−1, 1].", None),
    _plane("reg-gauss", "regression", "Regression: a sum of five Gaussian bumps, up and down.", None),
    DatasetInfo(
        "sine",
        "line",
        "regression",
        "1-D regression: y = sin x on (−6, 6), noise adds to y.",
        dict(_COMMON),
        dict(_LIMITS),
        None,
        (),
        DOMAIN,
    ),
]

BUILDERS: dict[str, Builder] = {
    "circle": _classifier(_circle, 0.5 * CIRCLE_RADIUS),
    "xor": _classifier(_xor, 3.0),
    "gauss": _classifier(_gauss, 0.0),
    "spiral": _classifier(_spiral, 1.5),
    "moons": _classifier(_moons, 2.5),
    "checkerboard": _classifier(_checkerboard, CHECKER_CELL),
    "blobs": _classifier(_blobs, 0.0),
    "spiral3": _classifier(_spiral3, 1.5),
    "reg-plane": _regressor(_linear),
    "reg-gauss": _regressor(_bumps),
    "sine": _sine,
}
