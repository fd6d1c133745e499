"""Layer types and the one function that builds a layer from its config dict.

A layer config is the plain dict of the API contract, e.g.
``{"type": "dense", "units": 8, "activation": "tanh"}``. Each layer module
registers a builder here; :func:`build_layer` checks the keys and hands the
builder the input shape that the previous layer produces.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from engine.activations import OUTPUT_ONLY, get_activation
from engine.layers.base import ActivatedLayer, Array, Layer, ParamSpec
from engine.layers.dense import Dense

__all__ = [
    "ActivatedLayer",
    "Array",
    "Layer",
    "ParamSpec",
    "Dense",
    "LAYER_BUILDERS",
    "build_layer",
]

Builder = Callable[[dict[str, Any], tuple[int, ...], np.dtype[Any], bool], Layer]


def _int_field(spec: dict[str, Any], key: str, default: int | None = None, minimum: int = 1) -> int:
    value = spec.get(key, default)
    if value is None:
        raise ValueError(f"{spec.get('type')} layer needs {key!r}")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{spec.get('type')} layer: {key} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{spec.get('type')} layer: {key} must be ≥ {minimum}, got {value}")
    return int(value)


def _activation_field(spec: dict[str, Any], is_output: bool, default: str = "linear") -> Any:
    name = spec.get("activation", default)
    activation = get_activation(str(name))
    if activation.name in OUTPUT_ONLY and not is_output:
        raise ValueError(f"{activation.name} is allowed only on the output layer")
    return activation


def _build_dense(spec: dict[str, Any], input_shape: tuple[int, ...], dtype: np.dtype[Any], is_output: bool) -> Layer:
    units = _int_field(spec, "units")
    return Dense(input_shape, units, _activation_field(spec, is_output), dtype)


LAYER_BUILDERS: dict[str, Builder] = {"dense": _build_dense}


def build_layer(
    spec: dict[str, Any], input_shape: tuple[int, ...], dtype: np.dtype[Any], is_output: bool
) -> Layer:
    """Build one layer from its config dict; mistakes raise ``ValueError`` naming the field."""
    if not isinstance(spec, dict):
        raise ValueError(f"a layer must be an object like {{'type': 'dense', ...}}, got {spec!r}")
    kind = spec.get("type")
    builder = LAYER_BUILDERS.get(str(kind))
    if builder is None:
        known = ", ".join(sorted(LAYER_BUILDERS))
        raise ValueError(f"unknown layer type {kind!r}; choose one of: {known}")
    return builder(spec, input_shape, dtype, is_output)
