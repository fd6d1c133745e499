"""Weight initializers, each drawing from the caller's ``np.random.Generator``.

Formulas (fan_in/fan_out from the parameter's :class:`ParamSpec`):

- ``glorot_uniform`` U(±√(6/(fan_in+fan_out)));  ``glorot_normal`` N(0, 2/(fan_in+fan_out))
- ``he_uniform``     U(±√(6/fan_in));            ``he_normal``     N(0, 2/fan_in)
- ``uniform``        U(±scale) (``scale`` defaults to 0.5, TF Playground's range)
- ``zeros``          all 0 (a classroom example of symmetry that never breaks)

``xavier_*`` are accepted as the other name of ``glorot_*``.
"""

from __future__ import annotations

import math

import numpy as np

from engine.layers.base import Array, ParamSpec

__all__ = ["INITIALIZERS", "check_initializer", "initialize"]

INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "uniform", "zeros")
_ALIASES = {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal"}


def check_initializer(name: str) -> str:
    """Return the canonical name of an initializer; unknown names raise ``ValueError``."""
    name = _ALIASES.get(name, name)
    if name not in INITIALIZERS:
        raise ValueError(f"unknown initializer {name!r}; choose one of: {', '.join(INITIALIZERS)}")
    return name


def initialize(name: str, spec: ParamSpec, rng: np.random.Generator, scale: float = 0.5) -> Array:
    """Draw a float64 array of ``spec.shape`` with initializer ``name``."""
    name = check_initializer(name)
    fan_in, fan_out = max(spec.fan_in, 1), max(spec.fan_out, 1)
    if name == "glorot_uniform":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, spec.shape)
    if name == "glorot_normal":
        return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), spec.shape)
    if name == "he_uniform":
        limit = math.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, spec.shape)
    if name == "he_normal":
        return rng.normal(0.0, math.sqrt(2.0 / fan_in), spec.shape)
    if name == "uniform":
        return rng.uniform(-scale, scale, spec.shape)
    return np.zeros(spec.shape)
