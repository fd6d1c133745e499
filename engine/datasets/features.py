"""Input features of 2-D points, as in a playground: the network sees these, not the raw point.

Canonical names (what a :class:`~engine.datasets.DataSet` reports) and the ASCII
aliases accepted in a spec:

=========  ==================================  ============
name       value                               aliases
=========  ==================================  ============
x1         x1                                  —
x2         x2                                  —
x1²        x1 · x1                             x1^2, x1**2
x2²        x2 · x2                             x2^2, x2**2
x1·x2      x1 · x2                             x1*x2, x1x2
sin(x1)    sin x1                              sin x1, sinx1
sin(x2)    sin x2                              sin x2, sinx2
=========  ==================================  ============

Values are not rescaled: on the domain (−6, 6), ``x1²`` reaches 36, as in TF Playground.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.datasets.base import FloatArray

__all__ = ["DEFAULT_FEATURES", "FEATURES", "FEATURE_ALIASES", "apply_features", "canonical_features"]

Feature = Callable[[FloatArray, FloatArray], FloatArray]

#: Canonical name → f(x1, x2), each argument and result of shape ``(n,)``.
FEATURES: dict[str, Feature] = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1²": lambda x1, x2: x1 * x1,
    "x2²": lambda x1, x2: x2 * x2,
    "x1·x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1),
    "sin(x2)": lambda x1, x2: np.sin(x2),
}

#: ASCII spelling → canonical name.
FEATURE_ALIASES: dict[str, str] = {
    "x1^2": "x1²",
    "x1**2": "x1²",
    "x2^2": "x2²",
    "x2**2": "x2²",
    "x1*x2": "x1·x2",
    "x1x2": "x1·x2",
    "sin x1": "sin(x1)",
    "sinx1": "sin(x1)",
    "sin x2": "sin(x2)",
    "sinx2": "sin(x2)",
}

DEFAULT_FEATURES = ["x1", "x2"]


def canonical_features(names: object) -> list[str]:
    """Check a spec's ``features`` value and return the canonical names, in the given order.

    It must be a non-empty list of known names (canonical or alias) with no feature twice.
    """
    if isinstance(names, str) or not isinstance(names, (list, tuple)) or not names:
        raise ValueError(f"features must be a non-empty list of names like ['x1', 'x2'], got {names!r}")
    result: list[str] = []
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"features must be names (strings), got {name!r}")
        canonical = name if name in FEATURES else FEATURE_ALIASES.get(name.strip().lower())
        if canonical is None:
            known = ", ".join(FEATURES)
            raise ValueError(f"unknown feature {name!r}; choose from: {known} (or ASCII x1^2, x1*x2)")
        if canonical in result:
            raise ValueError(f"feature {canonical!r} is listed twice in features")
        result.append(canonical)
    return result


def apply_features(points: FloatArray, names: list[str]) -> FloatArray:
    """The feature matrix of ``points``.

    ``points: (n, 2)`` raw coordinates; ``names``: feature names (aliases allowed).
    Returns ``(n, len(names))`` float64, one column per name in order.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must have shape [n, 2], got {list(pts.shape)}")
    canonical = canonical_features(names)
    x1, x2 = pts[:, 0], pts[:, 1]
    out = np.empty((pts.shape[0], len(canonical)), dtype=np.float64)
    for j, name in enumerate(canonical):
        out[:, j] = FEATURES[name](x1, x2)
    return out
